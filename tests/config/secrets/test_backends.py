"""One contract, every backend: the same behaviour through each implementation."""

# ruff: noqa: S105 - the token is a planted fake for the fake Vault

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from pysetl.config.secrets import (
    AwsSecretsManagerBackend,
    BaseSecretBackend,
    EnvSecretBackend,
    FileSecretBackend,
    SecretResolver,
    VaultSecretBackend,
)
from pysetl.errors import SecretError, SecretNotFoundError

TOKEN = "hvs.contract-token"


@dataclass
class Setup:
    backend: BaseSecretBackend
    store: Any  # store(name, mapping) -> the path to reference it by


def _env(request, tmp_path) -> Setup:
    environ: dict[str, str] = {}

    def store(name, data):
        variable = name.upper().replace("-", "_")
        environ[variable] = json.dumps(data)
        return variable

    return Setup(EnvSecretBackend(environ), store)


def _file(request, tmp_path) -> Setup:
    def store(name, data):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        (tmp_path / f"{name}.json").chmod(0o600)  # a secret file others can't read
        return f"{name}.json"

    return Setup(FileSecretBackend([tmp_path]), store)


def _vault(version):
    def make(request, tmp_path) -> Setup:
        vault = request.getfixturevalue("vault")
        vault.add_token(TOKEN, "*")
        mount = "secret" if version == 2 else "kv"

        def store(name, data):
            vault.put(mount, f"app/{name}", data)
            return f"{mount}/app/{name}"

        backend = VaultSecretBackend(
            vault.url, TOKEN, mount=mount, kv_version=version, environ={}
        )
        return Setup(backend, store)

    return make


def _aws(request, tmp_path) -> Setup:
    endpoint = request.getfixturevalue("aws_env")
    client = request.getfixturevalue("secretsmanager")

    def store(name, data):
        secret_name = f"contract/{name}-{tmp_path.name}"
        client.create_secret(Name=secret_name, SecretString=json.dumps(data))
        return secret_name

    return Setup(AwsSecretsManagerBackend("us-east-1", endpoint), store)


BACKENDS = {
    "env": _env,
    "file": _file,
    "vault-kv2": _vault(2),
    "vault-kv1": _vault(1),
    "aws": _aws,
}


@pytest.fixture(params=sorted(BACKENDS))
def setup(request, tmp_path) -> Setup:
    return BACKENDS[request.param](request, tmp_path)


class TestSecretBackendContract:
    def test_fetches_a_key(self, setup, secret_value):
        path = setup.store("db", {"user": "etl", "password": secret_value})
        assert setup.backend.fetch(path, "password") == secret_value
        assert setup.backend.fetch(path, "user") == "etl"

    def test_a_missing_secret_is_not_found(self, setup):
        setup.store("db", {"password": "x"})
        with pytest.raises(SecretNotFoundError) as caught:
            setup.backend.fetch(setup.store("other", {"a": "b"}) + "-nope", "password")
        assert caught.value.reference is not None
        assert caught.value.reference.startswith(f"{setup.backend.scheme}:")

    def test_a_missing_key_is_not_found_and_shows_no_value(self, setup, secret_value):
        path = setup.store("db", {"user": "etl", "password": secret_value})
        with pytest.raises(SecretNotFoundError, match="'nope'") as caught:
            setup.backend.fetch(path, "nope")
        assert secret_value not in str(caught.value)
        assert secret_value not in repr(caught.value.context)

    def test_errors_are_config_errors(self, setup):
        with pytest.raises(SecretError):
            setup.backend.fetch("surely-missing-secret", "k")
        with pytest.raises(ValueError):  # ConfigError is a ValueError
            setup.backend.fetch("surely-missing-secret", "k")

    def test_resolves_through_a_lazy_secret(self, setup, secret_value):
        path = setup.store("db", {"password": secret_value})
        resolver = SecretResolver([setup.backend], load_entry_points=False)
        scheme = setup.backend.scheme
        secret = resolver.bind(f"{scheme}:{path}#password", entry="db.password")
        assert str(secret) == "**********"
        assert secret.get_secret_value() == secret_value

    def test_has_a_scheme_and_a_safe_repr(self, setup, secret_value):
        setup.store("db", {"password": secret_value})
        assert setup.backend.scheme in {"env", "file", "vault", "aws"}
        assert secret_value not in repr(setup.backend)
        assert TOKEN not in repr(setup.backend)
