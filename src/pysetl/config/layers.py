"""The files of a config layer, as the loader reads them: the one definition.

A config root (``conf``) holds one folder per layer: ``base`` and one per
environment. The files of a layer are its YAML and TOML files (``SUFFIXES``)
that are not hidden (a name starting with ``.``: editor swap files, the key
file ``.pysetl.key``), in merge order. The loader, the reloader, the
versions (rollback), the CLI and ``pysetl doctor`` all list files through
here, so that they agree on what belongs to a config.

``write_atomically`` is how pysetl writes a config file (a rollback, an
``encrypt --in-place``): the whole new text at once, keeping the file's mode.

Added in 0.7.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pysetl.config._precedence import BASE, sort_layer_files

__all__ = [
    "SUFFIXES",
    "config_files",
    "environments",
    "is_layer_file_name",
    "layer_files",
    "write_atomically",
]

SUFFIXES = (".yaml", ".yml", ".toml")
"""The file suffixes a config layer is made of."""


def is_layer_file_name(name: str) -> bool:
    """Whether a file called ``name`` in a layer folder is part of the config.

    Args:
        name: The file's name (no folder).
    """
    return name.endswith(SUFFIXES) and not name.startswith(".")


def layer_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The config files of the layer ``folder``, in merge order.

    Args:
        folder: A layer folder (``conf/base``); a missing one has no files.
    """
    path = Path(folder)
    if not path.is_dir():
        return []
    return sort_layer_files(
        child
        for child in path.iterdir()
        if is_layer_file_name(child.name) and child.is_file()
    )


def config_files(root: str | os.PathLike[str], env: str | None) -> list[Path]:
    """The files of ``root``'s base layer, then of ``env``'s, in merge order.

    Args:
        root: The config root (``conf``).
        env: The environment; ``None``: the base layer only.
    """
    base = Path(root)
    layers = [BASE, *([env] if env else [])]
    return [path for layer in layers for path in layer_files(base / layer)]


def environments(root: str | os.PathLike[str], *, with_base: bool = False) -> list[str]:
    """The layer folders of ``root`` (sorted): every visible folder but ``base``.

    Args:
        root: The config root (``conf``); a missing one has none.
        with_base: List ``base`` too.
    """
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(
        p.name
        for p in base.iterdir()
        if p.is_dir() and (with_base or p.name != BASE) and not p.name.startswith(".")
    )


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` at once, keeping its mode (0600 if new).

    Args:
        path: The file to write (its folder is created if missing).
        text: Its new text.
    """
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(name).chmod(mode)
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
