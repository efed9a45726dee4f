"""Secret references: ``SCHEME:PATH[#KEY]`` and ``${secret:REF}`` templates.

Added in 0.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pysetl.errors import SecretError

__all__ = ["SecretReference", "parse_reference", "split_template"]

_SCHEME = re.compile(r"[a-z][a-z0-9+.\-_]*")
_TOKEN = re.compile(r"\$\{secret:([^}]*)\}")
_SYNTAX = (
    "write SCHEME:PATH[#KEY], e.g. 'env:DB_PASSWORD', 'file:db_password', "
    "'vault:secret/db#password' or 'aws:prod/db#password'"
)


@dataclass(frozen=True, slots=True)
class SecretReference:
    """Where a secret lives: a backend scheme, a path in it and maybe a key.

    Attributes:
        scheme: The backend (``env``, ``file``, ``vault``, ``aws``, or one that a
            plugin ships).
        path: What the backend looks up (a variable, a file, a secret path).
        key: One field of a structured secret (JSON object, ``KEY=value``
            lines, Vault data, a mounted directory), or ``None``.

    Examples:
        >>> parse_reference("vault:secret/db#password")
        SecretReference(scheme='vault', path='secret/db', key='password')
        >>> str(parse_reference("env:DB_PASSWORD"))
        'env:DB_PASSWORD'
    """

    scheme: str
    path: str
    key: str | None = None

    def __str__(self) -> str:
        """The reference as written: ``scheme:path#key``."""
        key = "" if self.key is None else f"#{self.key}"
        return f"{self.scheme}:{self.path}{key}"


def parse_reference(text: str) -> SecretReference:
    """Parse ``SCHEME:PATH[#KEY]`` (a ``${secret:...}`` wrapper is accepted too).

    The scheme ends at the first ``:`` (so an AWS ARN keeps its colons in the
    path) and the key starts at the first ``#``.

    Args:
        text: The reference, e.g. ``env:DB_PASSWORD`` or ``aws:prod/db#password``.

    Returns:
        The parsed reference.

    Raises:
        SecretError: ``text`` is not a reference.
    """
    raw = text.strip()
    match = _TOKEN.fullmatch(raw)
    if match:
        raw = match.group(1).strip()
    scheme, colon, rest = raw.partition(":")
    path, hash_, key = rest.partition("#")
    problem = None
    if not colon or not _SCHEME.fullmatch(scheme):
        problem = "a scheme before ':' (lower-case letters, digits, '+.-_')"
    elif not path.strip():
        problem = "a path after the scheme"
    elif hash_ and not key.strip():
        problem = "a key after '#'"
    if problem is not None:
        msg = f"{text!r} is not a secret reference: expected {problem}"
        raise SecretError(msg, hint=_SYNTAX, reference=str(text))
    return SecretReference(scheme, path.strip(), key.strip() if hash_ else None)


def split_template(template: str) -> list[str | SecretReference]:
    """Split a string into literal parts and the references of its ``${secret:...}``.

    Args:
        template: E.g. ``postgresql://app:${secret:env:PG_PW}@db/x``.

    Returns:
        Literal strings and references, in order (empty literals left out).

    Raises:
        SecretError: A token holds no valid reference.
    """
    parts: list[str | SecretReference] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            parts.append(template[position : match.start()])
        parts.append(parse_reference(match.group(1)))
        position = match.end()
    if position < len(template):
        parts.append(template[position:])
    return parts
