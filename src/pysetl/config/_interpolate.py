"""``${env:...}``, ``${secret:...}`` and ``enc:`` values in config strings.

The syntax, inside any string value (lists included, keys excluded):

* ``${env:VAR}``: the environment variable ``VAR``; a missing one is an
  error naming the file, line and key;
* ``${env:VAR:-default}``: ``VAR``, or ``default`` (possibly empty) when it
  is unset;
* ``${secret:REF}``: a secret, ``REF`` being ``SCHEME:PATH[#KEY]``
  (``env:DB_PASSWORD``, ``file:/run/secrets/db``, ``vault:secret/data/db#password``,
  ``aws:prod/db#password``). The value becomes a lazy ``SecretStr``
  resolved on first use, for this entry only; text around the token is
  kept (``postgresql://app:${secret:env:PG_PW}@db/shop``);
* ``enc:<token>``: a value encrypted with ``pysetl config encrypt``, also
  a lazy ``SecretStr`` (the key comes from ``PYSETL_CONFIG_KEY`` or
  ``PYSETL_CONFIG_KEY_FILE``); a value that starts with ``enc:`` once its
  ``${env:...}`` tokens are substituted is decrypted too;
* ``$${`` is a literal ``${`` (``$${env:HOME}`` stays ``${env:HOME}``).

Any other ``${...}``, an unclosed ``${`` and nested tokens
(``${env:A:-${env:B}}``) are errors. Interpolated values are strings; the
model a section is validated into converts them (see ``ResolvedConfig.validate``).

Added in 0.3.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pysetl.config._problems import dotted
from pysetl.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import SecretStr

    from pysetl.config._problems import KeyPath

__all__ = ["CipherLike", "InterpolationError", "Interpolator", "SecretResolverLike"]

_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENC_PREFIX = "enc:"
_SYNTAX = "${env:VAR}, ${env:VAR:-default} or ${secret:SCHEME:PATH[#KEY]}"


class SecretResolverLike(Protocol):
    """What the loader needs of ``pysetl.config.secrets.SecretResolver``."""

    def bind(self, reference: str, *, entry: str) -> SecretStr:
        """A lazy secret for one reference, for ``entry`` only."""
        ...  # pragma: no cover - a protocol

    def bind_template(self, template: str, *, entry: str) -> SecretStr:
        """A lazy secret for a text with ``${secret:...}`` tokens, for ``entry``."""
        ...  # pragma: no cover - a protocol


class CipherLike(Protocol):
    """What the loader needs of ``pysetl.config.crypto.ConfigCipher``."""

    def lazy(self, value: str, *, entry: str) -> SecretStr:
        """A lazy secret decrypting ``value`` (``enc:...``) on first use."""
        ...  # pragma: no cover - a protocol


class InterpolationError(Exception):
    """A string cannot be interpolated; the loader turns it into a located problem."""


@dataclass
class Interpolator:
    """Resolves the tokens of config strings (see the module docstring).

    Args:
        environ: The environment ``${env:...}`` reads.
        secrets: Binds ``${secret:...}``; default: a ``SecretResolver`` with
            the environment (``environ``) and file backends, made on first use.
        cipher: Decrypts ``enc:`` values; default: ``ConfigCipher.from_env(environ)``
            on first use.
    """

    environ: Mapping[str, str]
    secrets: SecretResolverLike | None = None
    cipher: CipherLike | None = None

    def resolve(self, text: str, entry: KeyPath) -> Any:
        """``text`` with its tokens resolved: a ``str`` or a lazy ``SecretStr``.

        Raises:
            InterpolationError: A missing variable, an unknown token, a bad
                reference or no key for an ``enc:`` value.
        """
        if "$" not in text:
            return self._decrypt(text, entry) if text.startswith(ENC_PREFIX) else text
        plain: list[str] = []  # the value, env tokens substituted, escapes undone
        secrets: list[str] = []
        unsafe = False  # text that would read as a token once handed on
        last = 0
        for match in _TOKEN.finditer(text):
            plain.append(_literal(text[last : match.start()]))
            last = match.end()
            body = match.group(1)
            if body is None:  # "$${": a literal "${"
                plain.append("${")
                unsafe = True
                continue
            scheme, _, rest = body.partition(":")
            if scheme == "env":
                value = self._env(rest)
                unsafe = unsafe or "${" in value
                plain.append(value)
            elif scheme == "secret" and rest:
                secrets.append(rest)
                plain.append(match.group(0))
            else:
                msg = (
                    f"unknown interpolation ${{{body}}}; expected {_SYNTAX} "
                    "(write $${ for a literal ${)"
                )
                raise InterpolationError(msg)
        plain.append(_literal(text[last:]))
        value = "".join(plain)
        if secrets:
            if unsafe:
                msg = (
                    "a value with a ${secret:...} token cannot also hold a literal "
                    "${ (escaped, or from a variable)"
                )
                raise InterpolationError(msg)
            whole = len(secrets) == 1 and text == f"${{secret:{secrets[0]}}}"
            return self._secret(secrets[0] if whole else value, entry, whole=whole)
        return self._decrypt(value, entry) if value.startswith(ENC_PREFIX) else value

    def _env(self, rest: str) -> str:
        name, has_default, default = rest.partition(":-")
        if not _ENV_NAME.match(name):
            msg = f"invalid environment variable name {name!r} in ${{env:{rest}}}"
            raise InterpolationError(msg)
        value = self.environ.get(name)
        if value is None:
            if has_default:
                return default
            msg = (
                f"environment variable {name!r} is not set "
                f"(write ${{env:{name}:-default}} for a default)"
            )
            raise InterpolationError(msg)
        return value

    def _secret(self, reference: str, entry: KeyPath, *, whole: bool) -> SecretStr:
        resolver = self.secrets
        try:
            if resolver is None:
                resolver = self.secrets = _default_resolver(self.environ)
            if whole:
                return resolver.bind(reference, entry=dotted(entry))
            return resolver.bind_template(reference, entry=dotted(entry))
        except ConfigError as exc:
            raise InterpolationError(_with_hint(exc)) from None
        except ImportError as exc:
            raise InterpolationError(str(exc)) from None

    def _decrypt(self, value: str, entry: KeyPath) -> SecretStr:
        cipher = self.cipher
        try:
            if cipher is None:
                cipher = self.cipher = _default_cipher(self.environ)
            return cipher.lazy(value, entry=dotted(entry))
        except ConfigError as exc:
            raise InterpolationError(_with_hint(exc)) from None
        except ImportError as exc:
            raise InterpolationError(str(exc)) from None


def _literal(text: str) -> str:
    """Text between tokens; a ``${`` left in it was never closed (or nests)."""
    if "${" in text:
        msg = (
            "an unterminated or nested ${ (the value is not shown); expected "
            f"{_SYNTAX} (tokens do not nest; write $${{ for a literal ${{)"
        )
        raise InterpolationError(msg)
    return text


def _with_hint(exc: ConfigError) -> str:
    """The error's message and hint on one line, for a located problem."""
    kind = type(exc).__name__
    if exc.hint:
        return f"{exc.message} [{kind}; hint: {exc.hint}]"
    return f"{exc.message} [{kind}]"


def _default_resolver(environ: Mapping[str, str]) -> SecretResolverLike:
    """A ``SecretResolver`` reading ``environ`` (env backend) and secret files."""
    secrets: Any = importlib.import_module("pysetl.config.secrets")
    resolver: SecretResolverLike = secrets.SecretResolver(
        backends=[
            secrets.EnvSecretBackend(environ=dict(environ)),
            secrets.FileSecretBackend.from_env(dict(environ)),
        ]
    )
    return resolver


def _default_cipher(environ: Mapping[str, str]) -> CipherLike:
    """``ConfigCipher.from_env(environ)``: the key from the environment or a file."""
    crypto: Any = importlib.import_module("pysetl.config.crypto")
    cipher: CipherLike = crypto.ConfigCipher.from_env(dict(environ))
    return cipher
