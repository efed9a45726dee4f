"""``EnvSecretBackend``: secrets from environment variables (``env:NAME[#KEY]``).

Added in 0.3.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from pysetl.config.secrets._base import BaseSecretBackend, select_key
from pysetl.errors import SecretNotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["EnvSecretBackend"]


class EnvSecretBackend(BaseSecretBackend):
    """Reads ``env:NAME``: the variable ``NAME`` (``#key`` picks a JSON field).

    Args:
        environ: The variables to read; default: ``os.environ`` at fetch time.

    Examples:
        >>> EnvSecretBackend({"PG_PW": "s3cret"}).fetch("PG_PW", None)
        's3cret'
    """

    scheme: ClassVar[str] = "env"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Read ``environ``, or the process environment when ``None``."""
        self._environ = environ

    def fetch(self, path: str, key: str | None) -> str:
        """The value of the variable ``path`` (its field ``key``, when given).

        Raises:
            SecretNotFoundError: The variable is not set (or has no such key).
        """
        environ = os.environ if self._environ is None else self._environ
        reference = f"env:{path}" + ("" if key is None else f"#{key}")
        if path not in environ:
            msg = f"environment variable {path!r} is not set (secret {reference!r})"
            hint = f"export {path}=... in the environment that runs pysetl"
            raise SecretNotFoundError(msg, hint=hint, reference=reference)
        return select_key(environ[path], key, reference=reference)
