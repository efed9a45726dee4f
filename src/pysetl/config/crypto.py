"""Encrypted config values: ``enc:<Fernet token>``, with key rotation.

A value written as ``enc:gAAAAAB...`` in a config file is decrypted only when
it is used (``ConfigCipher.lazy`` gives a ``LazySecret``). Keys come from
``PYSETL_CONFIG_KEY`` (comma-separated, newest first) or from the file named
by ``PYSETL_CONFIG_KEY_FILE`` (one key per line, newest first; ``#``
comments). The first key encrypts; every key decrypts (``MultiFernet``).

Rotating keys:

1. ``ConfigCipher.generate_key()`` makes a new key; put it *first*, keep the
   old ones after it (``PYSETL_CONFIG_KEY=new,old``): old values still decrypt.
2. Re-encrypt every value with ``rotate`` (``pysetl config encrypt`` does it
   for a whole file), which decrypts with any key and encrypts with the new one.
3. Remove the old key once nothing uses it.

Needs the ``config`` extra (``cryptography``), imported on first use.

Added in 0.3.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config.layers import write_atomically
from pysetl.config.permissions import FilePermissionProblem, check_file_permissions
from pysetl.config.secrets._base import require_extra
from pysetl.config.secrets._lazy import LazySecret
from pysetl.errors import ConfigCryptoError
from pysetl.settings import settings_of
from pysetl.utils.redaction import MASK, register_secret

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

__all__ = ["ENC_PREFIX", "KEY_ENV", "KEY_FILE_ENV", "ConfigCipher"]

ENC_PREFIX = "enc:"
"""What an encrypted config value starts with."""
KEY_ENV = "PYSETL_CONFIG_KEY"
"""The keys, comma-separated, newest (the one that encrypts) first."""
KEY_FILE_ENV = "PYSETL_CONFIG_KEY_FILE"
"""A file with one key per line, newest first (used when ``KEY_ENV`` is unset)."""

# An enc: value inside a YAML/TOML text: a Fernet token is url-safe base64 that
# starts with its version byte 0x80 ("gA") and a timestamp (today "gAAAAA").
_ENC_IN_TEXT = re.compile(r"(?<![\w:])enc:gA[A-Za-z0-9_\-]{50,}=*")

_KEY_HINT = (
    f"set {KEY_ENV} (comma-separated keys, newest first) or {KEY_FILE_ENV} "
    "(a file with one key per line); make a key with "
    "`python -c 'from pysetl.config.crypto import ConfigCipher; "
    "print(ConfigCipher.generate_key())'`"
)


def _fernet() -> Any:
    return require_extra("cryptography.fernet", "config", "encrypted config values")


def _make_fernet(fernet: Any, key: str | bytes, number: int, count: int) -> Any:
    try:
        return fernet.Fernet(key)
    except (ValueError, TypeError):
        # Never echo the key: say which one it is, by position.
        msg = (
            f"config key #{number} of {count} is not a Fernet key "
            "(32 url-safe base64-encoded bytes)"
        )
        raise ConfigCryptoError(msg, hint=_KEY_HINT) from None


class ConfigCipher:
    """Encrypts and decrypts config values with one or more Fernet keys.

    Args:
        keys: Fernet keys (32 url-safe base64 bytes each), newest first: the
            first encrypts, all decrypt.
        problems: Permission problems of the key file it was read from.

    Raises:
        ConfigCryptoError: No key, or a key that is not a Fernet key.
        ImportError: ``cryptography`` is missing (``pip install 'pysetl[config]'``).

    Examples:
        >>> cipher = ConfigCipher([ConfigCipher.generate_key()])
        >>> token = cipher.encrypt("s3cret-pw")
        >>> token.startswith("enc:"), cipher.decrypt(token)
        (True, 's3cret-pw')
    """

    def __init__(
        self,
        keys: Sequence[str | bytes],
        *,
        problems: Sequence[FilePermissionProblem] = (),
    ) -> None:
        """Check the keys and build the ``MultiFernet``."""
        fernet = _fernet()
        if isinstance(keys, str | bytes) or not keys:
            msg = "a ConfigCipher needs a non-empty list of keys"
            raise ConfigCryptoError(msg, hint=_KEY_HINT)
        ciphers = [
            _make_fernet(fernet, key, n, len(keys)) for n, key in enumerate(keys, 1)
        ]
        self._multi = fernet.MultiFernet(ciphers)
        self._invalid_token = fernet.InvalidToken
        self.key_count = len(ciphers)
        self.problems = list(problems)

    def __repr__(self) -> str:
        """The number of keys; never a key."""
        return f"ConfigCipher(keys={self.key_count})"

    # -------------------------------------------------------------- keys
    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key (url-safe base64 text)."""
        return str(_fernet().Fernet.generate_key().decode("ascii"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConfigCipher:
        """The cipher of ``PYSETL_CONFIG_KEY``, else of ``PYSETL_CONFIG_KEY_FILE``.

        Args:
            environ: Where to read the variables; default: the process
                settings (``pysetl.settings``).

        Raises:
            ConfigCryptoError: Neither is set, or the key file is unusable.
        """
        current = settings_of(environ, strict=False)
        if current.config_keys:
            return cls(list(current.config_keys))
        if current.config_key_file:
            return cls.from_key_file(current.config_key_file)
        msg = f"no decryption key is set (neither {KEY_ENV} nor {KEY_FILE_ENV})"
        raise ConfigCryptoError(msg, hint=_KEY_HINT)

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str]) -> ConfigCipher:
        """The cipher of a key file (one key per line, newest first).

        A key file readable by the group or by others, or writable by them, is
        reported: an ``InsecureFileWarning`` and the cipher's ``problems``.

        Raises:
            ConfigCryptoError: The file cannot be read or holds no key.
        """
        file = Path(path)
        problems = check_file_permissions(file, secret=True, warn=True)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read the config key file {str(file)!r}: {type(exc).__name__}"
            hint = f"check {KEY_FILE_ENV} and that pysetl's user may read the file"
            raise ConfigCryptoError(msg, hint=hint) from exc
        keys = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        if not keys:
            msg = f"the config key file {str(file)!r} holds no key"
            raise ConfigCryptoError(msg, hint=_KEY_HINT)
        return cls(keys, problems=problems)

    # ------------------------------------------------------------ values
    @staticmethod
    def is_encrypted(value: object) -> bool:
        """Whether ``value`` is an ``enc:...`` string."""
        return isinstance(value, str) and value.startswith(ENC_PREFIX)

    def encrypt(self, plain: str) -> str:
        """``enc:<token>`` of ``plain``, with the first (newest) key.

        Raises:
            ConfigCryptoError: ``plain`` is already encrypted (use ``rotate``).
        """
        if self.is_encrypted(plain):
            msg = "the value is encrypted already"
            hint = "use rotate() to re-encrypt it with the newest key"
            raise ConfigCryptoError(msg, hint=hint)
        register_secret(plain)
        token = self._multi.encrypt(plain.encode("utf-8"))
        return ENC_PREFIX + str(token.decode("ascii"))

    def _token(self, value: str, entry: str | None) -> bytes:
        if not self.is_encrypted(value):
            where = "a config value" if entry is None else f"config entry {entry!r}"
            msg = f"{where} is not an encrypted value: expected '{ENC_PREFIX}<token>'"
            hint = "encrypt it with `pysetl config encrypt`"
            raise ConfigCryptoError(msg, hint=hint, config=entry)
        return value[len(ENC_PREFIX) :].strip().encode("ascii", "replace")

    def _failed(self, entry: str | None) -> ConfigCryptoError:
        where = (
            "an encrypted config value" if entry is None else f"config entry {entry!r}"
        )
        msg = (
            f"cannot decrypt {where}: it was encrypted with a key that is not "
            f"among the {self.key_count} configured, or it is damaged"
        )
        hint = (
            f"set {KEY_ENV} (or {KEY_FILE_ENV}) to the key it was encrypted "
            "with; while rotating keys, put the new key first and keep the old "
            f"ones after it ({KEY_ENV}=new,old)"
        )
        return ConfigCryptoError(msg, hint=hint, config=entry)

    def decrypt(self, value: str, *, entry: str | None = None) -> str:
        """The plain text of an ``enc:`` value (registered with the Redactor).

        Args:
            value: ``enc:<token>``.
            entry: The config entry it comes from, for messages.

        Raises:
            ConfigCryptoError: Not an ``enc:`` value, the wrong key or a damaged
                token; the message names the entry, never the value.
        """
        token = self._token(value, entry)
        try:
            plain = self._multi.decrypt(token).decode("utf-8")
        except (self._invalid_token, UnicodeDecodeError):
            raise self._failed(entry) from None
        register_secret(plain)
        return str(plain)

    def rotate(self, value: str, *, entry: str | None = None) -> str:
        """``value`` re-encrypted with the newest key (decrypted with any key).

        Raises:
            ConfigCryptoError: As ``decrypt``.
        """
        token = self._token(value, entry)
        try:
            rotated = self._multi.rotate(token)
        except self._invalid_token:
            raise self._failed(entry) from None
        return ENC_PREFIX + str(rotated.decode("ascii"))

    def rotate_text(self, text: str, *, source: str = "<text>") -> tuple[str, int]:
        """Every ``enc:`` value of a config text re-encrypted with the newest key.

        Works on the text, so comments, order and layout of a YAML or TOML file
        stay as they are.

        Args:
            text: The content of a config file.
            source: Its name, for messages (``conf/prod/db.yaml``).

        Returns:
            The new text and how many values were rotated.

        Raises:
            ConfigCryptoError: A value cannot be decrypted; names the file and
                line, never the value.
        """
        count = 0

        def rotate(match: re.Match[str]) -> str:
            nonlocal count
            line = text.count("\n", 0, match.start()) + 1
            count += 1
            return self.rotate(match.group(0), entry=f"{source}:{line}")

        return _ENC_IN_TEXT.sub(rotate, text), count

    def rotate_file(self, path: str | os.PathLike[str]) -> int:
        """Re-encrypt every ``enc:`` value of a config file in place (``rotate_text``).

        The file is rewritten only when it holds an ``enc:`` value, through a
        temporary file in the same directory (an atomic replace) that keeps
        the file's permission bits (``pysetl.config.layers.write_atomically``).

        Returns:
            How many values were rotated.

        Raises:
            ConfigCryptoError: The file cannot be read, or a value cannot be decrypted.
        """
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read the config file {str(file)!r}: {type(exc).__name__}"
            raise ConfigCryptoError(msg) from exc
        rotated, count = self.rotate_text(text, source=str(file))
        if count:
            write_atomically(file, rotated)
        return count

    def lazy(self, value: str, *, entry: str) -> LazySecret:
        """A ``LazySecret`` that decrypts ``value`` on first use.

        Args:
            value: ``enc:<token>``.
            entry: The dotted config key the value was written under.

        Raises:
            ConfigCryptoError: ``value`` is not an ``enc:`` value.
        """
        self._token(value, entry)
        resolve = functools.partial(self.decrypt, value, entry=entry)
        return LazySecret(resolve, reference=f"{ENC_PREFIX}{MASK}", entry=entry)
