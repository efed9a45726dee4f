"""``VaultSecretBackend``: HashiCorp Vault KV v2 and v1 (``vault:...``), via hvac.

Added in 0.3.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pysetl.config.secrets._base import BaseSecretBackend, require_extra, select_key
from pysetl.errors import SecretBackendError, SecretNotFoundError
from pysetl.settings import settings_of

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["VaultSecretBackend"]

_DEFAULT_ADDR = "http://127.0.0.1:8200"


def _token_helper_file(env: Mapping[str, str]) -> str | None:
    """The token ``vault login`` wrote to ``~/.vault-token``, if any."""
    home = env.get("HOME")
    if not home:
        return None
    try:
        token = (Path(home) / ".vault-token").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


class VaultSecretBackend(BaseSecretBackend):
    """Reads Vault's key/value secrets engine with a token.

    ``vault:MOUNT/PATH#KEY`` reads the field ``KEY`` of the secret ``PATH`` in
    the KV engine mounted at ``MOUNT`` (as ``vault kv get MOUNT/PATH`` does);
    for KV v2 the API form ``MOUNT/data/PATH`` is accepted too. A path of one
    segment (``vault:db#password``) is read from the default ``mount``. Without
    ``#KEY``, a secret with a single field gives that field.

    Args:
        url: Vault's address; default ``VAULT_ADDR``, else ``http://127.0.0.1:8200``.
        token: The token; default ``VAULT_TOKEN``, else ``~/.vault-token`` (where
            ``vault login`` leaves it). Never shown in messages.
        mount: The default mount point (``PYSETL_VAULT_MOUNT``, else ``secret``).
        kv_version: 2 or 1 (``PYSETL_VAULT_KV_VERSION``, else 2).
        namespace: A Vault Enterprise namespace (``VAULT_NAMESPACE``), optional.
        timeout: Seconds to wait for Vault.
        verify: TLS verification: ``True``, ``False`` or a CA bundle path
            (``VAULT_CACERT``).
        environ: Where the defaults are read; default ``os.environ``.

    Raises:
        ImportError: hvac is not installed (``pip install 'pysetl[vault]'``).

    Examples:
        >>> backend = VaultSecretBackend("https://vault:8200")  # doctest: +SKIP
        >>> backend.fetch("kv/app/db", "password")  # doctest: +SKIP
        's3cret'
    """

    scheme: ClassVar[str] = "vault"

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        mount: str | None = None,
        kv_version: int | None = None,
        namespace: str | None = None,
        timeout: float = 10.0,
        verify: bool | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Configure the backend; nothing is contacted until the first fetch."""
        env = os.environ if environ is None else environ
        self._hvac = require_extra("hvac", "vault", "the Vault secret backend")
        self.url = url or env.get("VAULT_ADDR") or _DEFAULT_ADDR
        self._token = token or env.get("VAULT_TOKEN") or _token_helper_file(env)
        current = settings_of(environ, strict=False)
        self.mount = (mount or current.vault_mount or "secret").strip("/")
        version = kv_version or int(current.vault_kv_version or 2)
        if version not in (1, 2):
            msg = f"Vault KV version {version!r} is not supported: expected 1 or 2"
            raise SecretBackendError(msg, hint="set kv_version=1 or kv_version=2")
        self.kv_version = version
        self.namespace = namespace or env.get("VAULT_NAMESPACE") or None
        self.timeout = timeout
        self.verify: bool | str = (
            verify if verify is not None else env.get("VAULT_CACERT") or True
        )
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Address, mount and version; never the token."""
        return (
            f"VaultSecretBackend(url={self.url!r}, mount={self.mount!r}, "
            f"kv_version={self.kv_version})"
        )

    def split_path(self, path: str) -> tuple[str, str]:
        """``(mount, secret path)`` of a reference path (see the class docstring)."""
        path = path.strip("/")
        if path.startswith(f"{self.mount}/"):
            mount, rest = self.mount, path[len(self.mount) + 1 :]
        elif "/" in path:
            mount, rest = path.split("/", 1)
        else:
            mount, rest = self.mount, path
        if self.kv_version == 2 and rest.startswith("data/"):  # noqa: PLR2004
            rest = rest[len("data/") :]
        return mount, rest

    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._hvac.Client(
                    url=self.url,
                    token=self._token,
                    namespace=self.namespace,
                    timeout=self.timeout,
                    verify=self.verify,
                )
            return self._client

    def fetch(self, path: str, key: str | None) -> str:
        """The secret's field ``key`` (or its only field).

        Raises:
            SecretNotFoundError: No such secret, or no such key in it.
            SecretBackendError: Vault cannot be reached, or refused the token.
        """
        reference = f"vault:{path}" + ("" if key is None else f"#{key}")
        if not self._token:
            msg = f"no Vault token to read {reference!r} from {self.url!r}"
            hint = "set VAULT_TOKEN, run `vault login`, or pass token="
            raise SecretBackendError(msg, hint=hint, reference=reference)
        mount, secret_path = self.split_path(path)
        data = self._read(mount, secret_path, reference)
        if key is None:
            if len(data) != 1:
                names = ", ".join(sorted(map(str, data))) or "none"
                msg = (
                    f"Vault secret {reference!r} has {len(data)} keys; "
                    "name one with '#key'"
                )
                raise SecretNotFoundError(
                    msg, hint=f"its keys are: {names}", reference=reference
                )
            key = next(iter(data))
        return select_key(data, key, reference=reference)

    def _read(self, mount: str, secret_path: str, reference: str) -> dict[str, Any]:
        exceptions = self._hvac.exceptions
        api_path = (
            f"{mount}/data/{secret_path}"
            if self.kv_version == 2  # noqa: PLR2004
            else f"{mount}/{secret_path}"
        )
        kv = self._connect().secrets.kv
        try:
            if self.kv_version == 2:  # noqa: PLR2004
                response = kv.v2.read_secret_version(
                    path=secret_path, mount_point=mount, raise_on_deleted_version=True
                )
                data = response["data"]["data"]
            else:
                data = kv.v1.read_secret(path=secret_path, mount_point=mount)["data"]
        except (exceptions.Forbidden, exceptions.Unauthorized) as exc:
            msg = (
                f"Vault at {self.url!r} refused to read {reference!r}: permission "
                f"denied on {api_path!r}"
            )
            hint = (
                f"the token's policy must allow 'read' on {api_path!r}; check that "
                "VAULT_TOKEN is the right token and has not expired"
            )
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        except exceptions.InvalidPath as exc:
            msg = (
                f"Vault at {self.url!r} has no secret {secret_path!r} in the "
                f"KV v{self.kv_version} mount {mount!r} (secret {reference!r})"
            )
            hint = (
                "check the path and the mount: "
                f"vault kv get -mount={mount} {secret_path}"
            )
            raise SecretNotFoundError(msg, hint=hint, reference=reference) from exc
        except exceptions.VaultError as exc:
            msg = (
                f"Vault at {self.url!r} failed to read {reference!r}: "
                f"{type(exc).__name__}"
            )
            hint = "check Vault's status (vault status) and its logs"
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
            msg = f"cannot connect to Vault at {self.url!r} to read {reference!r}"
            hint = "is Vault running, and is VAULT_ADDR right?"
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        if not isinstance(data, dict):
            msg = f"Vault secret {reference!r} holds no key/value data"
            raise SecretNotFoundError(msg, reference=reference)
        return data
