"""``AwsSecretsManagerBackend``: AWS Secrets Manager (``aws:NAME[#KEY]``), via boto3.

Added in 0.3.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from pysetl.config.secrets._base import BaseSecretBackend, require_extra, select_key
from pysetl.errors import SecretBackendError, SecretNotFoundError

__all__ = ["AwsSecretsManagerBackend"]

_DENIED_STATUS = {401, 403}
_NOT_FOUND = {"ResourceNotFoundException"}
_DENIED = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
}


class AwsSecretsManagerBackend(BaseSecretBackend):
    """Reads secrets from AWS Secrets Manager.

    ``aws:NAME`` (a secret name or ARN) gives its ``SecretString`` as text
    (or a binary secret decoded as UTF-8); ``aws:NAME#KEY`` picks a field of
    a JSON ``SecretString`` (the usual shape of database credentials).

    Credentials, region and endpoint come from boto3's usual chain: the
    arguments, else ``AWS_REGION``/``AWS_DEFAULT_REGION``,
    ``AWS_ENDPOINT_URL_SECRETS_MANAGER``/``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
    ``AWS_PROFILE``, instance and container roles.

    Args:
        region_name: The region; default from the environment or profile.
        endpoint_url: Another endpoint (a VPC endpoint, LocalStack, moto).
        version_stage: The version stage to read (``AWSCURRENT``).

    Raises:
        ImportError: boto3 is not installed (``pip install 'pysetl[aws]'``).

    Examples:
        >>> backend = AwsSecretsManagerBackend("eu-west-1")  # doctest: +SKIP
        >>> backend.fetch("prod/db", "password")  # doctest: +SKIP
        's3cret'
    """

    scheme: ClassVar[str] = "aws"

    def __init__(
        self,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        *,
        version_stage: str = "AWSCURRENT",
    ) -> None:
        """Configure the backend; nothing is contacted until the first fetch."""
        self._boto3 = require_extra("boto3", "aws", "the AWS Secrets Manager backend")
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.version_stage = version_stage
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Region and endpoint; never credentials."""
        return (
            f"AwsSecretsManagerBackend(region_name={self.region_name!r}, "
            f"endpoint_url={self.endpoint_url!r})"
        )

    def _connect(self, reference: str) -> Any:
        botocore = require_extra("botocore.exceptions", "aws", "the AWS backend")
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._boto3.session.Session().client(
                        "secretsmanager",
                        region_name=self.region_name,
                        endpoint_url=self.endpoint_url,
                    )
                except botocore.NoRegionError as exc:
                    msg = f"no AWS region to read {reference!r} from Secrets Manager"
                    hint = "set AWS_REGION (or pass region_name=)"
                    raise SecretBackendError(
                        msg, hint=hint, reference=reference
                    ) from exc
            return self._client

    def fetch(self, path: str, key: str | None) -> str:
        """The secret's text (its JSON field ``key``, when given).

        Raises:
            SecretNotFoundError: No such secret, or no such key in it.
            SecretBackendError: AWS cannot be reached or refused the credentials.
        """
        reference = f"aws:{path}" + ("" if key is None else f"#{key}")
        botocore = require_extra("botocore.exceptions", "aws", "the AWS backend")
        client = self._connect(reference)
        where = self.endpoint_url or f"Secrets Manager in {client.meta.region_name!r}"
        try:
            response = client.get_secret_value(
                SecretId=path, VersionStage=self.version_stage
            )
        except botocore.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _NOT_FOUND:
                msg = f"AWS Secrets Manager has no secret {path!r} ({where})"
                hint = "check the secret name (or ARN), the region and AWS_PROFILE"
                raise SecretNotFoundError(msg, hint=hint, reference=reference) from exc
            if code in _DENIED or status in _DENIED_STATUS:
                msg = f"AWS denied reading {reference!r} ({where}): {code}"
                hint = (
                    "check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...) and "
                    "that their policy allows secretsmanager:GetSecretValue on it"
                )
                raise SecretBackendError(msg, hint=hint, reference=reference) from exc
            msg = f"AWS Secrets Manager failed to read {reference!r} ({where}): {code}"
            raise SecretBackendError(msg, reference=reference) from exc
        except botocore.NoCredentialsError as exc:
            msg = f"no AWS credentials to read {reference!r} ({where})"
            hint = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        except botocore.BotoCoreError as exc:
            msg = f"cannot reach AWS Secrets Manager at {where} to read {reference!r}"
            hint = (
                f"check the network, the region and the endpoint ({type(exc).__name__})"
            )
            raise SecretBackendError(msg, hint=hint, reference=reference) from exc
        text = response.get("SecretString")
        if text is None:
            text = bytes(response.get("SecretBinary", b"")).decode("utf-8", "replace")
        return select_key(text, key, reference=reference)
