"""``FileSecretBackend``: Docker and Kubernetes secret mounts (``file:...``).

Added in 0.3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pysetl.config.permissions import FilePermissionProblem, check_file_permissions
from pysetl.config.secrets._base import BaseSecretBackend, select_key
from pysetl.errors import SecretAccessError, SecretBackendError, SecretNotFoundError
from pysetl.settings import settings_of

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["DEFAULT_SECRET_ROOTS", "FileSecretBackend"]

DEFAULT_SECRET_ROOTS = ("/run/secrets", "/var/run/secrets")
"""Where Docker (``/run/secrets/NAME``) and Kubernetes mount secrets."""


class FileSecretBackend(BaseSecretBackend):
    """Reads secret files under a few allowed directories.

    ``file:NAME`` is looked up under each root in turn (Docker secrets:
    ``/run/secrets/NAME``); ``file:/abs/path`` must lie inside a root. A
    Kubernetes secret volume is a directory with one file per key:
    ``file:/etc/secrets/db#password`` reads ``/etc/secrets/db/password``.
    ``#key`` on a file picks a field of a JSON object or of ``KEY=value``
    lines. One trailing newline is stripped (``echo pw > file`` writes one).
    Paths are resolved (symlinks, ``..``) before the root check, so
    ``file:../../etc/passwd`` is refused.

    Args:
        roots: The directories secrets may be read from (``PYSETL_SECRET_ROOTS``,
            ``os.pathsep``-separated, is read by ``from_env``).

    Examples:
        >>> backend = FileSecretBackend(roots=["/run/secrets", "/etc/secrets"])
        >>> backend.fetch("db_password", None)  # doctest: +SKIP
        's3cret'
    """

    scheme: ClassVar[str] = "file"

    def __init__(
        self, roots: Iterable[str | os.PathLike[str]] = DEFAULT_SECRET_ROOTS
    ) -> None:
        """Allow reading under ``roots`` only."""
        self.roots = tuple(Path(root) for root in roots)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FileSecretBackend:
        """Roots from ``PYSETL_SECRET_ROOTS`` (``os.pathsep``-separated) or defaults."""
        roots = settings_of(environ, strict=False).secret_roots
        return cls() if roots is None else cls(roots)

    def _inside_roots(self, path: Path) -> bool:
        for root in self.roots:
            real_root = Path(os.path.realpath(root))
            if path == real_root or real_root in path.parents:
                return True
        return False

    def _candidates(self, path: str) -> list[Path]:
        given = Path(path)
        if given.is_absolute():
            return [given]
        return [root / given for root in self.roots]

    def fetch(self, path: str, key: str | None) -> str:
        """The content of the secret file (its field ``key``, when given).

        Raises:
            SecretAccessError: The path leads outside the allowed roots.
            SecretNotFoundError: No such file (or key).
            SecretBackendError: The file exists but cannot be read.
        """
        reference = f"file:{path}" + ("" if key is None else f"#{key}")
        roots = ", ".join(map(str, self.roots)) or "none"
        for candidate in self._candidates(path):
            real = self._checked(candidate, reference)
            if real.is_dir() and key is not None:
                # A Kubernetes secret volume: one file per key.
                return self._read(self._checked(real / key, reference), reference)
            if real.is_file():
                return select_key(self._read(real, reference), key, reference=reference)
        msg = f"secret file {reference!r} does not exist (looked under {roots})"
        hint = (
            "mount the secret (docker: 'secrets:' in compose; kubernetes: a "
            "secret volume), or fix the name"
        )
        raise SecretNotFoundError(msg, hint=hint, reference=reference)

    def permission_problems(
        self, path: str, key: str | None
    ) -> list[FilePermissionProblem]:
        """The secret file's permission problems (group or others may read it...).

        The file is the one ``fetch`` would read; nothing is reported for a
        reference that leads nowhere or outside the roots (``fetch`` says
        why). Docker and Kubernetes mount secrets readable by everyone
        unless told otherwise (compose ``mode: 0400``, Kubernetes
        ``defaultMode: 0400``).

        Added in 0.4.
        """
        for candidate in self._candidates(path):
            real = Path(os.path.realpath(candidate))
            if not self._inside_roots(real):
                continue
            if real.is_dir() and key is not None:
                real = Path(os.path.realpath(real / key))
            if real.is_file():
                return check_file_permissions(real, secret=True)
        return []

    def _checked(self, candidate: Path, reference: str) -> Path:
        real = Path(os.path.realpath(candidate))
        if not self._inside_roots(real):
            roots = ", ".join(map(str, self.roots)) or "none"
            msg = f"secret {reference!r} is outside the secret directories ({roots})"
            hint = (
                "reference a file inside a secret directory, or add its "
                "directory to the roots (FileSecretBackend(roots=...) or "
                "PYSETL_SECRET_ROOTS)"
            )
            raise SecretAccessError(msg, hint=hint, reference=reference)
        return real

    @staticmethod
    def _read(path: Path, reference: str) -> str:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            msg = f"secret file {reference!r} has no file {path.name!r}"
            raise SecretNotFoundError(msg, reference=reference) from None
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read secret file {reference!r}: {type(exc).__name__}"
            hint = "check that the user running pysetl may read the file"
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        return text.removesuffix("\n").removesuffix("\r")
