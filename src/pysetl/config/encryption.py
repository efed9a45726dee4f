"""Encrypted values in config files: add a key, encrypt in place, rotate keys.

What ``pysetl config encrypt --in-place``, ``keygen --key-file`` and
``rotate-key`` do, callable from Python. Each change of a config file is
recorded in the config versions and audited (``pysetl.config.versions``);
changing a protected environment asks first through ``confirm``, a callable
``confirm(env, action, root)`` that raises to stop (see
``pysetl.config.protect``; ``root`` is given when ``conf/base`` changes, which
changes every environment).

Key rotation in three steps (see docs/secrets.md):

1. ``add_key(key_file)`` puts a new key first in the key file (the old ones
   stay below it, so old values still decrypt);
2. ``rotate_keys(root, ...)`` re-encrypts every ``enc:`` value of the config
   files with that new key (audited per environment);
3. once the config validates with the new key alone, delete the old lines.

Added in 0.7 (the logic was in ``pysetl.cli``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.config._precedence import BASE
from pysetl.config.layers import environments, layer_files
from pysetl.errors import ConfigError
from pysetl.utils.redaction import MASK

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.config.crypto import ConfigCipher
    from pysetl.config.profiles import ResolvedConfig
    from pysetl.config.versions import ConfigAuditRecord, ConfigStore

    Confirm = Callable[[str, str, "Path | None"], None]
    Load = Callable[[Path, "str | None"], ResolvedConfig]

__all__ = ["KeyRotation", "add_key", "encrypt_in_place", "rotate_keys"]


def add_key(key_file: str | os.PathLike[str], key: str) -> int:
    """Put ``key`` first in ``key_file``; return how many older keys it keeps.

    The file is created with mode 600 when missing; the keys already there
    stay below the new one (comments and blank lines are not counted).

    Args:
        key_file: The key file.
        key: The new key (``ConfigCipher.generate_key()``).
    """
    path = Path(key_file)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = sum(
        1
        for line in old.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(f"{key}\n{old}")
    temp.replace(path)
    return kept


def _layer_of(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def _default_load(root: Path, env: str | None) -> ResolvedConfig:
    from pysetl.config.loader import load_config  # noqa: PLC0415 - lazy

    return load_config(root, env)


def _try_load(load: Load, root: Path, env: str | None) -> ResolvedConfig | None:
    try:
        return load(root, env)
    except ConfigError:
        return None


def _plain_value_of(file: Path, key: str) -> str:
    """The plain value at ``key`` of ``file``, to be encrypted."""
    from pysetl.config.crypto import ConfigCipher  # noqa: PLC0415 - lazy
    from pysetl.config.edit import read_file_value  # noqa: PLC0415 - lazy

    current = read_file_value(file, key)
    if not isinstance(current, str | int | float) or isinstance(current, bool):
        msg = f"The value of {key!r} in {str(file)!r} is not a plain value"
        raise ConfigError(msg, hint="give the VALUE to write instead")
    plain = str(current)
    if ConfigCipher.is_encrypted(plain) or "${" in plain:
        msg = f"The value of {key!r} in {str(file)!r} is already a reference"
        raise ConfigError(msg, hint="nothing to encrypt")
    return plain


def encrypt_in_place(
    file: Path,
    key: str,
    value: str | None,
    *,
    root: Path,
    env: str | None,
    cipher: Callable[[], ConfigCipher],
    store: Callable[[], ConfigStore],
    confirm: Confirm,
    load: Load | None = None,
) -> ConfigAuditRecord:
    """Write ``value`` encrypted at the dotted ``key`` of ``file``; audit it.

    Without ``value``, the plain value ``file`` holds at ``key`` is
    encrypted. The environment audited is ``env``, else the layer of
    ``file`` under ``root`` (``base`` when neither). The config is loaded
    before and after the change; the new version is recorded when it loads.

    Args:
        file: The config file.
        key: The dotted key path in it.
        value: The plain value; ``None``: the one in the file.
        root: The config root.
        env: The environment (``--env``).
        cipher: Makes the cipher (called once the value is known).
        store: Opens the config versions (called once the file is written).
        confirm: Asks before a protected environment changes.
        load: Loads ``(root, env)``; default ``load_config``.

    Raises:
        ConfigError: The value is not a plain one, is a reference already, or
            cannot be written in place.
    """
    from pysetl.config.diff import ConfigChange  # noqa: PLC0415 - lazy
    from pysetl.config.edit import set_file_value  # noqa: PLC0415 - lazy

    load = load or _default_load
    layer = _layer_of(file, root)
    audited = env or layer or BASE
    plain = value if value is not None else _plain_value_of(file, key)
    encrypted = cipher()
    confirm(
        audited,
        f"Rewrite {key} in {file}",
        root if layer == BASE else None,  # base changes every environment
    )
    load_env = layer if layer not in {None, BASE} else env
    before = _try_load(load, root, load_env)
    set_file_value(file, key, encrypted.encrypt(plain))
    after = _try_load(load, root, load_env)
    versions = store()
    if after is not None:
        versions.record_version(after)
    return versions.record_audit(
        audited,
        "encrypt",
        old_hash=before.version if before else None,
        new_hash=after.version if after else None,
        changes=[ConfigChange(key, "changed", MASK, MASK)],
        note=f"encrypted {key} in {file}",
    )


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """What a key rotation did.

    Attributes:
        files: The config files read, ``(layer, path)``.
        rotated: The values re-encrypted, per layer (layers with none left out).
    """

    files: tuple[tuple[str, Path], ...]
    rotated: dict[str, int]

    @property
    def total(self) -> int:
        """The values re-encrypted in all."""
        return sum(self.rotated.values())


def _rotation_files(root: Path, layers: list[str]) -> list[tuple[str, Path]]:
    """The config files of ``layers`` under ``root``, as the loader reads them."""
    found: list[tuple[str, Path]] = []
    for layer in layers:
        folder = root / layer
        if not folder.is_dir():
            msg = f"No config folder {str(folder)!r}"
            raise ConfigError(msg, hint=f"check --root {root} and --env")
        found.extend((layer, path) for path in layer_files(folder))
    return found


def rotate_keys(
    root: Path,
    *,
    env: str | None,
    cipher: ConfigCipher,
    store: Callable[[], ConfigStore],
    confirm: Confirm,
    on_file: Callable[[Path, int], None] | None = None,
) -> KeyRotation:
    """Re-encrypt every ``enc:`` value of the config files with the newest key.

    Every value is decrypted once before any file is written: a value no key
    opens stops the rotation with every file as it was. Each layer that
    changed gets a ``rotate-key`` audit entry.

    Args:
        root: The config root.
        env: Only ``base`` and this environment; ``None``: every layer.
        cipher: The cipher, the newest key first.
        store: Opens the config versions (called when a value was rotated).
        confirm: Asks before a protected environment changes.
        on_file: Called with each file rewritten and its count, at once.

    Raises:
        ConfigError: A layer folder is missing.
        ConfigCryptoError: A value cannot be decrypted.
    """
    layers = [BASE, env] if env is not None else environments(root, with_base=True)
    files = _rotation_files(root, layers)
    for layer in sorted({layer for layer, _ in files}):
        confirm(layer, f"Re-encrypt the values of {root / layer}", None)
    for _, path in files:
        cipher.rotate_text(path.read_text(encoding="utf-8"), source=str(path))
    rotated: dict[str, int] = {}
    for layer, path in files:
        count = cipher.rotate_file(path)
        if count:
            rotated[layer] = rotated.get(layer, 0) + count
            if on_file is not None:
                on_file(path, count)
    versions = store() if rotated else None
    for layer, count in sorted(rotated.items()):
        assert versions is not None  # noqa: S101 - made above when anything rotated
        versions.record_audit(
            layer,
            "rotate-key",
            old_hash=None,
            new_hash=None,
            changes=[],
            note=f"re-encrypted {count} value(s) under {root / layer} "
            "with the newest key",
        )
    return KeyRotation(tuple(files), rotated)
