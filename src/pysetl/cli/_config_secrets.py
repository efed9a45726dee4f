"""``pysetl config encrypt|keygen|rotate-key``: encrypted values and their keys.

The logic is ``pysetl.config.encryption``; changing a protected environment
asks first (``pysetl.config.protect``) unless ``--yes``. Key rotation in
three steps (see docs/secrets.md):

1. ``pysetl config keygen --key-file conf/.pysetl.key`` puts a new key first
   in the key file (the old ones stay below it, so old values still decrypt);
2. ``pysetl config rotate-key --key-file conf/.pysetl.key`` re-encrypts every
   ``enc:`` value of the config files with that new key (audited per
   environment; protected environments ask first);
3. once ``pysetl config validate`` passes with the new key alone, delete the
   old lines.

Added in 0.3 (``keygen`` and ``rotate-key`` in ``pysetl.cli._config_keys``).
Changed in 0.7: one module for the three commands, the logic in
``pysetl.config``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pysetl.cli._config_common import (
    Env,
    Root,
    Yes,
    cipher_of,
    confirm_protected,
    say,
    store_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["encrypt", "keygen", "rotate_key"]

_KeyFile = Annotated[
    Path | None,
    typer.Option(help="The key file (default: PYSETL_CONFIG_KEY[_FILE])."),
]


def _read_secret(value: str | None, *, stdin: bool) -> str | None:
    if stdin:
        return sys.stdin.read().rstrip("\r\n")
    return value


def _confirm(*, yes: bool) -> Callable[[str, str, Path | None], None]:
    """``confirm(env, action, root)`` for ``pysetl.config.encryption``."""

    def confirm(env: str, action: str, root: Path | None) -> None:
        confirm_protected(env, action, yes=yes, root=root)

    return confirm


def encrypt(
    ctx: typer.Context,
    value: Annotated[
        str | None, typer.Argument(help="The value (prefer --stdin: shell history).")
    ] = None,
    *,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value.")] = False,
    key_file: _KeyFile = None,
    in_place: Annotated[
        tuple[Path, str] | None,
        typer.Option(
            "--in-place",
            help="FILE KEY: write the value encrypted at KEY of FILE (audited); "
            "without a value, encrypt the value FILE holds there.",
        ),
    ] = None,
    env: Env = None,
    root: Root = Path("conf"),
    yes: Yes = False,
) -> None:
    """Print VALUE encrypted (enc:...), or encrypt a value of a file in place."""
    plain = _read_secret(value, stdin=stdin)
    if in_place is None:
        if plain is None:
            msg = "give the VALUE to encrypt, --stdin, or --in-place FILE KEY"
            raise typer.BadParameter(msg)
        say(cipher_of(key_file).encrypt(plain))
        return
    from pysetl.config.encryption import encrypt_in_place  # noqa: PLC0415 - lazy

    file, key = in_place
    encrypt_in_place(
        file,
        key,
        plain,
        root=root,
        env=env,
        cipher=lambda: cipher_of(key_file),
        store=lambda: store_of(ctx),
        confirm=_confirm(yes=yes),
    )
    say(f"Encrypted {key} in {file}.")


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
    from pysetl.config.encryption import add_key  # noqa: PLC0415 - lazy

    key = ConfigCipher.generate_key()
    if key_file is None:
        typer.echo(key)  # the one output that is a secret on purpose
        return
    kept = add_key(key_file, key)
    say(f"Added a new key first in {key_file} ({kept} older key(s) kept).")
    if kept:
        say(f"Next: pysetl config rotate-key --key-file {key_file}")


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
    root: Root = Path("conf"),
    key_file: _KeyFile = None,
    yes: Yes = False,
) -> None:
    """Re-encrypt every enc: value of the config files with the newest key."""
    from pysetl.config.encryption import rotate_keys  # noqa: PLC0415 - lazy

    result = rotate_keys(
        root,
        env=env,
        cipher=cipher_of(key_file),
        store=lambda: store_of(ctx),
        confirm=_confirm(yes=yes),
        on_file=lambda path, count: say(f"{path}: {count} value(s) re-encrypted"),
    )
    say(f"Re-encrypted {result.total} value(s) in {len(result.files)} file(s).")
