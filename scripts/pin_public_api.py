"""Write the ``__all__`` of every public module of pysetl to ``tests/public_api.json``.

A public module is one whose dotted name has no part starting with ``_``.
``tests/test_public_api.py`` compares each module's ``__all__`` with this
file, so a change of the public surface is a change of this file, reviewed
in the same commit.

Usage: ``python scripts/pin_public_api.py`` (then read ``git diff
tests/public_api.json``: every line is a name users can import).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pysetl

__all__ = ["PIN_FILE", "main", "public_modules", "surface"]

PIN_FILE = Path(__file__).resolve().parent.parent / "tests" / "public_api.json"


def public_modules() -> list[str]:
    """The dotted names of pysetl's public modules, sorted."""
    found = pkgutil.walk_packages(pysetl.__path__, prefix=f"{pysetl.__name__}.")
    names = [pysetl.__name__, *(info.name for info in found)]
    return sorted(n for n in names if not any(p.startswith("_") for p in n.split(".")))


def surface() -> dict[str, list[str]]:
    """Each public module's ``__all__``, in its order."""
    return {
        name: list(getattr(importlib.import_module(name), "__all__", ()))
        for name in public_modules()
    }


def main() -> None:
    """Write the pin file."""
    text = json.dumps(surface(), indent=2) + "\n"
    PIN_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {PIN_FILE}")


if __name__ == "__main__":
    main()
