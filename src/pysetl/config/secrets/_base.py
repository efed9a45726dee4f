"""``BaseSecretBackend``: what a secret backend implements, plus shared helpers.

Added in 0.3.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pysetl.errors import SecretNotFoundError

if TYPE_CHECKING:
    from types import ModuleType

    from pysetl.config.permissions import FilePermissionProblem

__all__ = ["BaseSecretBackend", "require_extra", "select_key"]


class BaseSecretBackend(ABC):
    """A place secrets are fetched from, named by a reference scheme.

    How to add a backend: subclass, set ``scheme`` and implement ``fetch``;
    raise ``SecretNotFoundError`` when the backend answered and has no such
    secret, ``SecretBackendError`` when it cannot be reached or refused the
    request; never put a secret value in a message. Then register an
    instance (``SecretResolver().register(MyBackend(...))``) or declare an
    entry point in the group ``pysetl.secret_backends`` (the class is created
    with no arguments, so read its settings from the environment).

    Example:
        A backend for ``keyring:SERVICE#USER`` references:

        ```python
        class KeyringSecretBackend(BaseSecretBackend):
            scheme = "keyring"

            def fetch(self, path: str, key: str | None) -> str:
                import keyring

                value = keyring.get_password(path, key or "default")
                if value is None:
                    msg = f"no keyring entry {path!r}"
                    raise SecretNotFoundError(msg, reference=f"keyring:{path}")
                return value
        ```

        .. code-block:: toml

            [project.entry-points."pysetl.secret_backends"]
            keyring = "mypackage.secrets:KeyringSecretBackend"

        .. code-block:: yaml

            db:
              password: ${secret:keyring:warehouse#etl}
    """

    scheme: ClassVar[str]

    @abstractmethod
    def fetch(self, path: str, key: str | None) -> str:
        """Fetch the secret at ``path`` (its field ``key``, when given).

        Args:
            path: What the backend looks up (variable, file, secret path).
            key: A field of a structured secret, or ``None`` for the whole value.

        Returns:
            The secret value.

        Raises:
            SecretNotFoundError: There is no such secret (or key).
            SecretBackendError: The backend cannot be reached or refused.
            SecretAccessError: The path is outside what the backend may read.
        """

    def permission_problems(
        self, path: str, key: str | None
    ) -> list[FilePermissionProblem]:
        """How the secret at ``path`` is open to other users, found without reading it.

        The resolver calls it when it binds a reference (when a config is
        loaded) and warns about each problem. Backends that keep secrets in
        files (``file:``) override it; the default finds none.

        Added in 0.4.
        """
        del path, key  # a backend without files has no file modes to check
        return []

    def __repr__(self) -> str:
        """The class name only: a backend may hold credentials."""
        return f"{type(self).__name__}()"


def require_extra(module: str, extra: str, what: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it.

    Args:
        module: The module to import (``hvac``).
        extra: The pysetl extra that installs it (``vault``).
        what: What needs it, for the message (``the Vault secret backend``).

    Raises:
        ImportError: The module is not installed; names ``pip install 'pysetl[extra]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = (
            f"{what} needs the package {module.partition('.')[0]!r}, which is not "
            f"installed: pip install 'pysetl[{extra}]'"
        )
        raise ImportError(msg, name=module) from exc


def _parse_pairs(text: str) -> dict[str, str] | None:
    """``KEY=value`` lines (``export``, comments, quotes allowed), or ``None``."""
    pairs: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        if not equals or not name.strip():
            return None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":  # noqa: PLR2004
            value = value[1:-1]
        pairs[name.strip()] = value
    return pairs or None


def _structured(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return _parse_pairs(text)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def select_key(text: str | dict[str, Any], key: str | None, *, reference: str) -> str:
    """The field ``key`` of a structured secret, or the whole text.

    A JSON object or ``KEY=value`` lines are structured; a key with dots
    (``db.password``) also walks nested JSON objects when no field has the
    dotted name itself.

    Args:
        text: The secret as fetched: text, or already a mapping (Vault data).
        key: The field to pick, or ``None`` for the whole secret.
        reference: The reference, for messages.

    Raises:
        SecretNotFoundError: ``key`` is given and the secret has no such field.
    """
    if key is None:
        return _as_text(text)
    data = text if isinstance(text, dict) else _structured(text)
    if data is None:
        msg = (
            f"secret {reference!r} is not a JSON object or KEY=value lines, "
            f"so it has no key {key!r}"
        )
        hint = "drop '#key' to read the whole secret, or store it as JSON"
        raise SecretNotFoundError(msg, hint=hint, reference=reference)
    if key in data:
        return _as_text(data[key])
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        return _as_text(node)
    names = ", ".join(sorted(map(str, data))) or "none"
    msg = f"secret {reference!r} has no key {key!r}"
    raise SecretNotFoundError(msg, hint=f"its keys are: {names}", reference=reference)
