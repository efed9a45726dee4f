"""``docs/architecture.md`` draws the layers from the import contract CI enforces."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _contract_layers() -> list[str]:
    """The layers contract of ``pyproject.toml``, top to bottom, siblings in order."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    names: list[str] = []
    for layer in layers:
        names.extend(part.strip(" ()") for part in re.split(r"[:|]", layer))
    return names


def _documented_layers() -> list[str]:
    """The first column of the page's layer table, top to bottom."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The layers", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        names.extend(re.findall(r"`(pysetl[\w.]*)`", first_cell))
    return names


def test_the_page_lists_the_contracts_layers_in_order():
    assert _documented_layers() == _contract_layers()


def test_every_package_of_pysetl_has_a_layer():
    """A new top-level package must be placed in the contract (and the page)."""
    source = ROOT / "src" / "pysetl"
    packages = {
        f"pysetl.{path.stem if path.is_file() else path.name}"
        for path in source.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
    }
    # Data and the version are not code with imports of their own to order.
    unplaced = (
        packages
        - set(_contract_layers())
        - {
            "pysetl.templates",
            "pysetl._version",
        }
    )
    assert unplaced == set()
