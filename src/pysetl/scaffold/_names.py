"""Names of projects, packages and factories: checked, converted, suggested."""

from __future__ import annotations

import keyword
import re
import sys

from pysetl.scaffold._errors import ScaffoldError

__all__ = [
    "check_factory_name",
    "check_pipeline_name",
    "check_project_name",
    "module_of",
    "package_of",
]

_PROJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_PIPELINE = re.compile(r"^[a-z][a-z0-9_-]*$")
_CLASS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A package that would hide one the project imports, or its own folders.
_TAKEN = frozenset(
    {"pysetl", "pyspark", "typedspark", "pytest", "tests", "conf", "data", "src"}
)


def package_of(project: str) -> str:
    """The Python package of project ``project``: ``Demo-ETL`` -> ``demo_etl``."""
    return project.lower().replace("-", "_")


def module_of(class_name: str) -> str:
    """The module of factory ``class_name``: ``EnrichOrders`` -> ``enrich_orders``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name)
    return spaced.lower()


def _suggestion(name: str, default: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not cleaned:
        return default
    if cleaned[0].isalpha():
        return cleaned
    return f"{default}{cleaned}" if default[0].isupper() else f"{default}_{cleaned}"


def check_project_name(name: str) -> str:
    """Check ``name`` as a project name; return its package name.

    Raises:
        ScaffoldError: The name is empty, does not start with a letter, holds
            other characters than letters, digits, ``_`` and ``-``, or its
            package would be a Python keyword or hide a module the project
            imports (``pyspark``, ``json``...). The hint suggests a name.
    """
    hint = (
        "a project name starts with a letter and holds only letters, digits, "
        f"'_' and '-': try {_suggestion(name, 'project')!r}"
    )
    if not _PROJECT.match(name):
        if not name:
            problem = "is empty"
        elif not name[0].isalpha():
            problem = "does not start with a letter"
        else:
            bad = sorted({c for c in name if not (c.isalnum() or c in "_-")})
            problem = f"holds {', '.join(map(repr, bad))}"
        msg = f"The project name {name!r} {problem}"
        raise ScaffoldError(msg, hint=hint)
    package = package_of(name)  # an identifier: letters, digits and '_'
    if keyword.iskeyword(package) or package in _TAKEN or package in _stdlib():
        msg = (
            f"The project name {name!r} would make a package {package!r} that hides "
            "a Python keyword or a module the project imports"
        )
        raise ScaffoldError(msg, hint=f"choose another name, such as '{package}_etl'")
    return package


def check_factory_name(name: str) -> tuple[str, str]:
    """Check ``name`` as a factory; return ``(class name, module name)``.

    ``EnrichOrders`` and ``enrich_orders`` both give
    ``("EnrichOrders", "enrich_orders")``.

    Raises:
        ScaffoldError: ``name`` is not an identifier starting with a letter,
            or its module would be a keyword.
    """
    if not _CLASS.match(name) or not name.isascii():
        msg = f"The factory name {name!r} is not a Python class name"
        hint = (
            "write it in CamelCase (EnrichOrders) or snake_case (enrich_orders): "
            f"letters, digits and '_', starting with a letter; try "
            f"{_suggestion(name, 'Factory')!r}"
        )
        raise ScaffoldError(msg, hint=hint)
    if "_" in name or name.islower():
        class_name = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    else:
        class_name = name[0].upper() + name[1:]
    module = module_of(class_name)
    if keyword.iskeyword(module) or module in _stdlib():
        msg = f"The factory {name!r} would be a module {module!r} that hides another"
        hint = f"choose another name, such as '{class_name}Step'"
        raise ScaffoldError(msg, hint=hint)
    return class_name, module


def check_pipeline_name(name: str) -> str:
    """Check ``name`` as a pipeline name (``pysetl run NAME``); return it.

    Raises:
        ScaffoldError: It is not lowercase letters, digits, ``_`` and ``-``
            starting with a letter.
    """
    if not _PIPELINE.match(name):
        msg = f"The pipeline name {name!r} is not valid"
        hint = (
            "lowercase letters, digits, '_' and '-', starting with a letter: "
            f"try {_suggestion(name.lower(), 'pipeline')!r}"
        )
        raise ScaffoldError(msg, hint=hint)
    return name


def _stdlib() -> frozenset[str]:
    return frozenset(getattr(sys, "stdlib_module_names", ()))
