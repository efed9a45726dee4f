"""One place that decides what is a secret and masks it before it is shown.

Every ``str``/``repr`` of a config and every config error message goes
through :func:`redact`, so a password never reaches a log line, a terminal
or a run history row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

__all__ = ["MASK", "is_secret_key", "redact"]

MASK = "**********"

# Substrings of option names whose values are secrets, whatever their type.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "access_key", "apikey")


def is_secret_key(key: object) -> bool:
    """Whether an option called ``key`` holds a secret (``password``, ``*_token``...).

    Args:
        key: The option name.

    Returns:
        ``True`` when the name contains one of the secret words.
    """
    name = str(key).lower().replace("-", "_").replace(".", "_")
    return any(word in name for word in _SECRET_WORDS)


def redact(value: Any, key: object = "") -> Any:
    """Return ``value`` with every secret in it replaced by ``MASK``.

    Secrets are ``SecretStr``/``SecretBytes`` values and the values of
    secret-named keys, at any depth of dicts, lists and pydantic models.

    Args:
        value: What is about to be shown.
        key: The option name ``value`` belongs to, if any.

    Returns:
        A copy safe to print (``value`` itself when it holds no secret).
    """
    if isinstance(value, SecretStr | SecretBytes) or (
        is_secret_key(key) and value is not None and not isinstance(value, Mapping)
    ):
        return MASK
    if isinstance(value, Mapping):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, key) for v in value)
    # Anything else is shown as is; a pydantic model's repr already hides the
    # fields declared with repr=False.
    return value
