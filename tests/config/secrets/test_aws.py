"""The AWS Secrets Manager backend: real boto3 against moto's server on loopback."""

from __future__ import annotations

import json
import socket
import sys
import urllib.request

import pytest

from pysetl.config.secrets import AwsSecretsManagerBackend, SecretResolver
from pysetl.errors import SecretBackendError, SecretNotFoundError


@pytest.fixture
def db_secret(secretsmanager, secret_value):
    name = f"prod/db-{secret_value[-8:]}"
    created = secretsmanager.create_secret(
        Name=name,
        SecretString=json.dumps({"username": "etl", "password": secret_value}),
    )
    return name, created["ARN"]


def _moto_auth(endpoint, count):
    """Set moto's INITIAL_NO_AUTH_ACTION_COUNT through its HTTP API; the old value."""
    request = urllib.request.Request(  # noqa: S310 - moto on loopback
        f"{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]


def _backend(endpoint):
    return AwsSecretsManagerBackend(region_name="us-east-1", endpoint_url=endpoint)


class TestAwsSecretsManagerBackend:
    def test_reads_a_json_key(self, aws_env, db_secret, secret_value):
        name, _ = db_secret
        assert _backend(aws_env).fetch(name, "password") == secret_value

    def test_reads_by_arn(self, aws_env, db_secret, secret_value):
        _, arn = db_secret
        assert _backend(aws_env).fetch(arn, "password") == secret_value

    def test_reads_a_plain_text_secret(self, aws_env, secretsmanager, secret_value):
        secretsmanager.create_secret(Name="plain-token", SecretString=secret_value)
        assert _backend(aws_env).fetch("plain-token", None) == secret_value

    def test_reads_a_binary_secret_as_text(self, aws_env, secretsmanager, secret_value):
        secretsmanager.create_secret(
            Name="binary-token", SecretBinary=secret_value.encode()
        )
        assert _backend(aws_env).fetch("binary-token", None) == secret_value

    def test_a_missing_secret_is_not_found(self, aws_env):
        with pytest.raises(
            SecretNotFoundError, match="no secret 'prod/nope'"
        ) as caught:
            _backend(aws_env).fetch("prod/nope", "password")
        assert caught.value.reference == "aws:prod/nope#password"
        assert "region" in (caught.value.hint or "")

    def test_a_missing_key_is_not_found(self, aws_env, db_secret, secret_value):
        name, _ = db_secret
        with pytest.raises(SecretNotFoundError, match="no key 'pwd'") as caught:
            _backend(aws_env).fetch(name, "pwd")
        assert secret_value not in str(caught.value)

    def test_region_and_endpoint_from_the_environment(
        self, aws_env, db_secret, secret_value, monkeypatch
    ):
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        name, _ = db_secret
        assert AwsSecretsManagerBackend().fetch(name, "password") == secret_value

    def test_other_client_errors_are_backend_errors(
        self, aws_env, secretsmanager, db_secret
    ):
        name, _ = db_secret
        secretsmanager.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        with pytest.raises(SecretBackendError, match="InvalidRequestException"):
            _backend(aws_env).fetch(name, "password")

    @pytest.mark.usefixtures("aws_env")
    def test_an_unreachable_endpoint_names_it(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        endpoint = f"http://127.0.0.1:{port}"
        with pytest.raises(SecretBackendError, match="cannot reach") as caught:
            _backend(endpoint).fetch("prod/db", "password")
        assert endpoint in str(caught.value)
        assert "testing" not in str(caught.value)

    def test_no_region_is_a_backend_error(self, aws_env, monkeypatch):
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.delenv("AWS_REGION", raising=False)
        with pytest.raises(SecretBackendError, match="no AWS region") as caught:
            AwsSecretsManagerBackend(endpoint_url=aws_env).fetch("prod/db", None)
        assert "AWS_REGION" in (caught.value.hint or "")

    def test_no_credentials_is_a_backend_error(self, aws_env, monkeypatch):
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        # No instance metadata either: botocore would try 169.254.169.254.
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
        monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
        monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
        with pytest.raises(SecretBackendError, match="no AWS credentials") as caught:
            _backend(aws_env).fetch("prod/db", None)
        assert "AWS_PROFILE" in (caught.value.hint or "")

    def test_refused_credentials_are_a_backend_error(self, aws_env, db_secret):
        """moto's own switch turns IAM checks on: the dummy key is then unknown."""
        name, _ = db_secret
        previous = _moto_auth(aws_env, "0")
        try:
            with pytest.raises(SecretBackendError, match="AWS denied") as caught:
                _backend(aws_env).fetch(name, "password")
        finally:
            _moto_auth(aws_env, previous)
        assert "secretsmanager:GetSecretValue" in (caught.value.hint or "")
        assert "testing" not in str(caught.value)

    def test_repr_shows_no_credentials(self, aws_env):
        assert "testing" not in repr(_backend(aws_env))
        assert "us-east-1" in repr(_backend(aws_env))

    def test_missing_boto3_names_the_extra(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", None)
        with pytest.raises(ImportError, match=r"pip install 'pysetl\[aws\]'"):
            AwsSecretsManagerBackend()


class TestThroughTheResolver:
    def test_aws_backend_is_created_from_the_environment(
        self, aws_env, db_secret, secret_value, monkeypatch
    ):
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
        name, _ = db_secret
        secret = SecretResolver().bind(f"aws:{name}#password", entry="db.password")
        assert str(secret) == "**********"
        assert secret.get_secret_value() == secret_value
