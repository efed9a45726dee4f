"""``pysetl config keygen`` and ``pysetl config rotate-key``: the encryption keys.

Key rotation in three steps (see docs/secrets.md):

1. ``pysetl config keygen --key-file conf/.pysetl.key`` puts a new key first
   in the key file (the old ones stay below it, so old values still decrypt);
2. ``pysetl config rotate-key --key-file conf/.pysetl.key`` re-encrypts every
   ``enc:`` value of the config files with that new key (audited per
   environment; protected environments ask first);
3. once ``pysetl config validate`` passes with the new key alone, delete the
   old lines.

Added in 0.3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pysetl.cli.config_cmd import _cipher, _confirm_protected, _say, _store
from pysetl.errors import ConfigError

__all__ = ["keygen", "rotate_key"]

_SUFFIXES = frozenset({".yaml", ".yml", ".toml"})


def keygen(
    *,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Put the new key first in this file (created with mode 600; "
            "the keys already there stay, so old values still decrypt).",
        ),
    ] = None,
) -> None:
    """Make a new encryption key: print it, or add it to a key file."""
    from pysetl.config.crypto import ConfigCipher  # noqa: PLC0415 - lazy

    key = ConfigCipher.generate_key()
    if key_file is None:
        typer.echo(key)  # the one output that is a secret on purpose
        return
    old = key_file.read_text(encoding="utf-8") if key_file.exists() else ""
    kept = sum(
        1
        for line in old.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temp = key_file.with_name(f".{key_file.name}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(f"{key}\n{old}")
    temp.replace(key_file)
    _say(f"Added a new key first in {key_file} ({kept} older key(s) kept).")
    if kept:
        _say(f"Next: pysetl config rotate-key --key-file {key_file}")


def _layer_files(root: Path, layers: list[str]) -> list[tuple[str, Path]]:
    """The config files of ``layers`` under ``root``, as the loader reads them."""
    found: list[tuple[str, Path]] = []
    for layer in layers:
        folder = root / layer
        if not folder.is_dir():
            msg = f"No config folder {str(folder)!r}"
            raise ConfigError(msg, hint=f"check --root {root} and --env")
        found.extend(
            (layer, path)
            for path in sorted(folder.iterdir())
            if path.suffix in _SUFFIXES
            and path.is_file()
            and not path.name.startswith(".")
        )
    return found


def rotate_key(
    ctx: typer.Context,
    *,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Only base and this environment (default: every environment).",
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="The config folder (base/, <env>/ inside).")
    ] = Path("conf"),
    key_file: Annotated[
        Path | None,
        typer.Option(help="The key file (default: PYSETL_CONFIG_KEY[_FILE])."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
    ] = False,
) -> None:
    """Re-encrypt every enc: value of the config files with the newest key."""
    cipher = _cipher(key_file)
    if env is not None:
        layers = ["base", env]
    elif root.is_dir():
        layers = sorted(
            p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    else:
        layers = []
    files = _layer_files(root, layers)
    for layer in sorted({layer for layer, _ in files}):
        _confirm_protected(layer, f"Re-encrypt the values of {root / layer}", yes=yes)
    # Every value is decrypted once before any file is written: a value no
    # key opens stops the command with every file as it was.
    for _, path in files:
        cipher.rotate_text(path.read_text(encoding="utf-8"), source=str(path))
    rotated: dict[str, int] = {}
    for layer, path in files:
        count = cipher.rotate_file(path)
        if count:
            rotated[layer] = rotated.get(layer, 0) + count
            _say(f"{path}: {count} value(s) re-encrypted")
    store = _store(ctx) if rotated else None
    for layer, count in sorted(rotated.items()):
        assert store is not None  # noqa: S101 - made above when anything rotated
        store.record_audit(
            layer,
            "rotate-key",
            old_hash=None,
            new_hash=None,
            changes=[],
            note=f"re-encrypted {count} value(s) under {root / layer} "
            "with the newest key",
        )
    total = sum(rotated.values())
    _say(f"Re-encrypted {total} value(s) in {len(files)} file(s).")
