"""The extras check: is each optional part of pysetl installed, and needed?

An extra is *needed* when the project uses it: ``spark`` always, ``config``
for YAML config files, ``prometheus``/``otel``/``lineage`` for the
``monitoring`` exporter sections, ``postgres`` for a PostgreSQL history,
``vault``/``aws`` for ``${secret:vault:...}``/``${secret:aws:...}``. A
needed extra that is missing fails; one with a package in a version it does
not accept warns; one not installed (or partly: they share packages) and not
needed is fine.

Added in 0.5.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import TYPE_CHECKING, Any

from pysetl.doctor._check import FAIL, OK, WARN, Check

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = ["check_extras", "extras_of_pysetl"]

_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_SKIPPED = frozenset({"all"})


def extras_of_pysetl() -> dict[str, list[str]]:
    """Each extra of the installed pysetl and its requirements (``all`` left out)."""
    try:
        requires = importlib.metadata.requires("pysetl") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a checkout
        return {}
    extras: dict[str, list[str]] = {}
    for requirement in requires:
        marker = _EXTRA_MARKER.search(requirement)
        if marker is None or marker.group(1) in _SKIPPED:
            continue
        extras.setdefault(marker.group(1), []).append(requirement.split(";")[0])
    return extras


def _problem(requirement: str) -> str | None:
    """What is wrong with ``requirement`` here (missing, too old), or ``None``."""
    match = _NAME.match(requirement)
    if match is None:  # pragma: no cover - metadata always names a distribution
        return None
    name = match.group(1)
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return f"{name} missing"
    try:
        requirements: Any = importlib.import_module("packaging.requirements")
    except ImportError:  # pragma: no cover - packaging comes with pip and pytest
        return None
    wanted = requirements.Requirement(requirement)
    if not wanted.specifier.contains(version, prereleases=True):
        return f"{name} {version} (wants {wanted.specifier})"
    return None


def check_extras(
    needed: Collection[str], extras: Mapping[str, list[str]] | None = None
) -> list[Check]:
    """One check per extra; those in ``needed`` fail when missing.

    Args:
        needed: The extras the project uses.
        extras: The extras and their requirements (default: the installed
            pysetl's, from its metadata).
    """
    checks: list[Check] = []
    extras = extras_of_pysetl() if extras is None else extras
    for extra, requirements in sorted(extras.items()):
        install = f"pip install 'pysetl[{extra}]'"
        problems = [p for r in requirements if (p := _problem(r)) is not None]
        names = [m.group(1) for r in requirements if (m := _NAME.match(r))]
        name = f"extra: {extra}"
        wrong = [p for p in problems if not p.endswith(" missing")]
        if not problems:
            checks.append(Check(name, OK, f"installed ({', '.join(names)})"))
        elif extra in needed:
            detail = f"the project uses it, but: {', '.join(problems)}"
            checks.append(Check(name, FAIL, detail, install))
        elif wrong:
            detail = f"a package in a version it does not accept: {', '.join(wrong)}"
            checks.append(Check(name, WARN, detail, install))
        else:
            missing = ", ".join(p.removesuffix(" missing") for p in problems)
            detail = f"not installed, not used by the project ({missing} missing)"
            checks.append(Check(name, OK, detail))
    return checks
