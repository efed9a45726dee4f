"""The public surface: every module documents itself and declares a sorted ``__all__``.

The rules are checked on every module of the package, so modules added later are
covered without editing this file. The ``__all__`` of every public module (no
part of its name starts with ``_``) is pinned in ``tests/public_api.json``:
adding, removing or moving a public name, or a public module, changes that file
(``python scripts/pin_public_api.py`` rewrites it; review its diff). The names
of the compatibility modules are also pinned here.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import pysetl


def _all_module_names() -> list[str]:
    prefix = f"{pysetl.__name__}."
    found = pkgutil.walk_packages(pysetl.__path__, prefix=prefix)
    return sorted([pysetl.__name__, *(info.name for info in found)])


MODULES = _all_module_names()
PUBLIC_MODULES = [
    name for name in MODULES if not any(p.startswith("_") for p in name.split("."))
]
PIN_FILE = Path(__file__).with_name("public_api.json")
PINNED_SURFACE: dict[str, list[str]] = json.loads(PIN_FILE.read_text("utf-8"))
REPIN = "run 'python scripts/pin_public_api.py' and review the diff of the pin file"


def _isort_key(name: str) -> tuple[int, list[object]]:
    """Ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest, naturally."""
    if name.isupper() and len(name) > 1:
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
    return group, natural


def _import(name: str) -> ModuleType:
    return importlib.import_module(name)


class TestEveryModule:
    def test_discovers_the_package(self):
        assert "pysetl.errors" in MODULES
        assert "pysetl.utils.mixins" in MODULES

    @pytest.mark.parametrize("name", MODULES)
    def test_has_a_docstring(self, name):
        doc = _import(name).__doc__
        assert doc, f"{name} has no module docstring"
        assert doc.strip().splitlines()[0].strip(), f"{name}: empty summary line"

    @pytest.mark.parametrize("name", MODULES)
    def test_declares_all(self, name):
        module = _import(name)
        assert isinstance(getattr(module, "__all__", None), (list, tuple)), (
            f"{name} does not declare __all__"
        )

    @pytest.mark.parametrize("name", MODULES)
    def test_all_names_exist(self, name):
        module = _import(name)
        missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names missing attributes: {missing}"

    @pytest.mark.parametrize("name", MODULES)
    def test_all_is_sorted_and_unique(self, name):
        exported = list(getattr(_import(name), "__all__", ()))
        assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
        assert exported == sorted(exported, key=_isort_key), (
            f"{name}.__all__ is not sorted"
        )

    @pytest.mark.parametrize("name", MODULES)
    def test_star_import_works(self, name):
        namespace: dict[str, object] = {}
        exec(f"from {name} import *", namespace)  # noqa: S102 - fixed module names
        assert set(getattr(_import(name), "__all__", ())) <= set(namespace)


PINNED = {
    "pysetl": ["PySetl", "PySetlBuilder", "__version__"],
    "pysetl.context": ["PySetl", "PySetlBuilder"],
    "pysetl.utils.spark_errors": [
        "MalformedRecord",
        "describe_exception",
        "full_text",
        "malformed_record",
        "spark_error_details",
    ],
    "pysetl.errors": [
        "AlreadyRegisteredError",
        "BuilderError",
        "CheckpointError",
        "CheckpointWarning",
        "ConfigCryptoError",
        "ConfigError",
        "ConfigLoadError",
        "ConnectorError",
        "ConnectorUnavailableError",
        "DashboardError",
        "DependencyResolutionError",
        "FactoryError",
        "FactoryOutputError",
        "FactoryTimeoutError",
        "NotificationError",
        "PipelineError",
        "PySetlDeprecationWarning",
        "PySetlError",
        "PySetlWarning",
        "RunHistoryError",
        "SecretAccessError",
        "SecretBackendError",
        "SecretError",
        "SecretNotFoundError",
        "SparkError",
        "StageError",
    ],
    "pysetl.utils": ["BenchmarkModifier", "BenchmarkResult", "Builder", "pretty"],
    "pysetl.utils.exceptions": [
        "AlreadyExistsException",
        "BasePySetlException",
        "BuilderException",
        "InvalidConfigException",
        "InvalidConnectorException",
        "InvalidDeliveryException",
        "PipelineException",
        "PySparkException",
    ],
    "pysetl.utils.mixins": [
        "CanCreate",
        "CanDelete",
        "CanDrop",
        "CanPartition",
        "CanUpdate",
        "CanWait",
        "HasBenchmark",
        "HasDiagram",
        "HasLogger",
        "HasReader",
        "HasRegistry",
        "HasSparkSession",
        "HasWriter",
        "IsConfigurable",
        "IsIdentifiable",
        "IsWritable",
    ],
    "pysetl.utils.get_signature": ["get_signature"],
}


class TestPublicSurface:
    def test_every_public_module_is_pinned(self):
        new = sorted(set(PUBLIC_MODULES) - set(PINNED_SURFACE))
        gone = sorted(set(PINNED_SURFACE) - set(PUBLIC_MODULES))
        assert not new, f"public modules not pinned: {new}; {REPIN}"
        assert not gone, f"pinned modules that are gone: {gone}; {REPIN}"

    def test_the_history_modules_are_public(self):
        assert {
            "pysetl.monitoring.history",
            "pysetl.monitoring.history.ops",
            "pysetl.monitoring.history.records",
            "pysetl.workflow.run_graph",
            "pysetl.workflow.spark",
        } <= set(PUBLIC_MODULES)

    @pytest.mark.parametrize("name", PUBLIC_MODULES)
    def test_all_matches_the_pin(self, name):
        exported = list(getattr(_import(name), "__all__", ()))
        pinned = PINNED_SURFACE.get(name)
        assert exported == pinned, (
            f"{name}.__all__ changed: added "
            f"{sorted(set(exported) - set(pinned or ()))}, removed "
            f"{sorted(set(pinned or ()) - set(exported))}; {REPIN}"
        )


def _private_history_imports(package: str) -> list[str]:
    """``file:line module`` of each import of a private history module."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                names += [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [
                f"{path.name}:{node.lineno} {name}"
                for name in names
                if name.startswith("pysetl.monitoring.history._")
            ]
    return found


class TestFrontEndsUsePublicHistory:
    """The dashboard, the CLI and the runtime never import the history's internals."""

    @pytest.mark.parametrize(
        "package", ["pysetl.dashboard", "pysetl.cli", "pysetl.runtime"]
    )
    def test_no_private_history_module_is_imported(self, package):
        assert _private_history_imports(package) == []


class TestPinnedModules:
    @pytest.mark.parametrize(("name", "expected"), PINNED.items())
    def test_all_is_pinned(self, name, expected):
        assert list(_import(name).__all__) == expected

    @pytest.mark.parametrize("name", PINNED)
    def test_every_public_name_defined_there_is_exported(self, name):
        """Public names defined in the module, or in its private submodules."""
        module = _import(name)
        public = {
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and isinstance(getattr(v, "__module__", None), str)
            and (v.__module__ == name or v.__module__.startswith(f"{name}._"))
        }
        assert public <= set(module.__all__)

    def test_root_exports_the_version(self):
        assert isinstance(pysetl.__version__, str)
