"""The Vault backend, through the real hvac client, against a fake Vault on loopback."""

# ruff: noqa: S105, S106 - the tokens here are planted fakes for the fake Vault

from __future__ import annotations

import socket
import sys

import pytest

from pysetl.config.secrets import SecretResolver, VaultSecretBackend
from pysetl.errors import SecretBackendError, SecretNotFoundError

TOKEN = "hvs.test-token-0123456789"


@pytest.fixture
def kv(vault, secret_value):
    vault.put("secret", "app/db", {"username": "etl", "password": secret_value})
    vault.put("secret", "single", {"value": secret_value})
    vault.put("kv", "legacy/db", {"password": secret_value, "port": 5432})
    vault.add_token(TOKEN, "secret/data/*", "kv/*")
    vault.add_token("hvs.narrow", "secret/data/other")
    return vault


def _backend(vault, **kwargs):
    kwargs.setdefault("token", TOKEN)
    return VaultSecretBackend(vault.url, environ={}, **kwargs)


class TestKvV2:
    def test_reads_a_key_with_mount_in_the_path(self, kv, secret_value):
        assert _backend(kv).fetch("secret/app/db", "password") == secret_value
        assert kv.requests[-1].path == "/v1/secret/data/app/db"
        assert kv.requests[-1].has_token

    def test_accepts_the_api_path_with_data(self, kv, secret_value):
        assert _backend(kv).fetch("secret/data/app/db", "password") == secret_value

    def test_a_single_segment_uses_the_default_mount(self, kv, secret_value):
        assert _backend(kv).fetch("single", None) == secret_value
        assert kv.requests[-1].path == "/v1/secret/data/single"

    def test_a_secret_with_one_key_needs_no_key(self, kv, secret_value):
        assert _backend(kv).fetch("secret/single", None) == secret_value

    def test_several_keys_need_one_named(self, kv, secret_value):
        with pytest.raises(SecretNotFoundError, match="has 2 keys") as caught:
            _backend(kv).fetch("secret/app/db", None)
        assert "password, username" in (caught.value.hint or "")
        assert secret_value not in str(caught.value)

    def test_a_missing_key_is_not_found(self, kv):
        with pytest.raises(SecretNotFoundError, match="no key 'pwd'"):
            _backend(kv).fetch("secret/app/db", "pwd")

    def test_a_missing_secret_is_not_found(self, kv):
        with pytest.raises(SecretNotFoundError, match="no secret 'app/nope'") as caught:
            _backend(kv).fetch("secret/app/nope", "password")
        assert caught.value.reference == "vault:secret/app/nope#password"
        assert "vault kv get -mount=secret app/nope" in (caught.value.hint or "")

    def test_sends_the_namespace(self, kv, secret_value):
        backend = _backend(kv, namespace="team-a")
        assert backend.fetch("secret/app/db", "password") == secret_value
        assert kv.requests[-1].namespace == "team-a"


class TestKvV1:
    def test_reads_a_v1_mount(self, kv, secret_value):
        backend = _backend(kv, mount="kv", kv_version=1)
        assert backend.fetch("kv/legacy/db", "password") == secret_value
        assert backend.fetch("kv/legacy/db", "port") == "5432"
        assert kv.requests[-1].path == "/v1/kv/legacy/db"

    def test_version_from_the_environment(self, kv, secret_value):
        backend = VaultSecretBackend(
            environ={
                "VAULT_ADDR": kv.url,
                "VAULT_TOKEN": TOKEN,
                "PYSETL_VAULT_MOUNT": "kv",
                "PYSETL_VAULT_KV_VERSION": "1",
            }
        )
        assert (backend.mount, backend.kv_version) == ("kv", 1)
        assert backend.fetch("kv/legacy/db", "password") == secret_value

    def test_other_versions_are_refused(self, kv):
        with pytest.raises(SecretBackendError, match="KV version 3"):
            _backend(kv, kv_version=3)


class TestErrors:
    def test_a_forbidden_path_names_it_and_hints_at_the_policy(self, kv):
        backend = _backend(kv, token="hvs.narrow")
        with pytest.raises(SecretBackendError, match="permission denied") as caught:
            backend.fetch("secret/app/db", "password")
        error = caught.value
        assert "'secret/data/app/db'" in str(error)
        assert "policy" in (error.hint or "")
        assert "VAULT_TOKEN" in (error.hint or "")
        assert "hvs.narrow" not in str(error)

    def test_an_unknown_token_is_denied_and_never_shown(self, kv):
        backend = _backend(kv, token="hvs.unknown-secret-token")
        with pytest.raises(SecretBackendError, match="permission denied") as caught:
            backend.fetch("secret/app/db", "password")
        assert "hvs.unknown-secret-token" not in str(caught.value)
        assert "hvs.unknown-secret-token" not in repr(backend)

    def test_no_token_is_a_backend_error_before_any_request(self, kv):
        backend = VaultSecretBackend(kv.url, environ={})
        with pytest.raises(SecretBackendError, match="no Vault token") as caught:
            backend.fetch("secret/app/db", "password")
        assert "VAULT_TOKEN" in (caught.value.hint or "")
        assert kv.requests == []

    def test_connection_refused_names_the_address(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        address = f"http://127.0.0.1:{port}"
        backend = VaultSecretBackend(address, TOKEN, environ={}, timeout=2)
        with pytest.raises(
            SecretBackendError, match="cannot connect to Vault"
        ) as caught:
            backend.fetch("secret/app/db", "password")
        assert address in str(caught.value)
        assert "VAULT_ADDR" in (caught.value.hint or "")
        assert TOKEN not in str(caught.value)

    def test_an_unknown_mount_is_not_found(self, kv):
        kv.add_token("hvs.all", "*")
        with pytest.raises(SecretNotFoundError, match="mount 'nomount'"):
            _backend(kv, token="hvs.all").fetch("nomount/x", "k")

    def test_a_server_error_is_a_backend_error(self, kv, monkeypatch):
        kv.add_token("hvs.all", "*")

        def explode(url, token):
            return 500, {"errors": ["internal error"]}

        monkeypatch.setattr(kv, "answer", explode)
        with pytest.raises(SecretBackendError, match="InternalServerError"):
            _backend(kv, token="hvs.all").fetch("secret/app/db", "password")

    def test_non_mapping_data_is_not_found(self, kv, monkeypatch):
        def answer(url, token):
            return 200, {"data": None}

        monkeypatch.setattr(kv, "answer", answer)
        with pytest.raises(SecretNotFoundError, match="no key/value data"):
            _backend(kv, mount="kv", kv_version=1).fetch("kv/x", "k")


class TestConfiguration:
    def test_defaults_come_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("VAULT_ADDR", "https://vault.example:8200")
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)
        monkeypatch.setenv("VAULT_NAMESPACE", "ns1")
        monkeypatch.setenv("VAULT_CACERT", "/etc/ssl/vault.pem")
        backend = VaultSecretBackend()
        assert backend.url == "https://vault.example:8200"
        assert backend.namespace == "ns1"
        assert backend.verify == "/etc/ssl/vault.pem"
        assert (backend.mount, backend.kv_version) == ("secret", 2)
        assert TOKEN not in repr(backend)
        assert "vault.example" in repr(backend)

    def test_the_token_of_vault_login_is_used(self, kv, tmp_path, secret_value):
        (tmp_path / ".vault-token").write_text(TOKEN + "\n")
        backend = VaultSecretBackend(kv.url, environ={"HOME": str(tmp_path)})
        assert backend.fetch("secret/app/db", "password") == secret_value

    def test_an_empty_or_missing_token_file_means_no_token(self, kv, tmp_path):
        for environ in ({"HOME": str(tmp_path)}, {}):
            backend = VaultSecretBackend(kv.url, environ=environ)
            with pytest.raises(SecretBackendError, match="no Vault token"):
                backend.fetch("secret/app/db", "password")
        (tmp_path / ".vault-token").write_text("\n")
        backend = VaultSecretBackend(kv.url, environ={"HOME": str(tmp_path)})
        with pytest.raises(SecretBackendError, match="no Vault token"):
            backend.fetch("secret/app/db", "password")

    def test_default_address_is_the_local_dev_server(self):
        backend = VaultSecretBackend(environ={})
        assert backend.url == "http://127.0.0.1:8200"
        assert backend.verify is True

    def test_split_path(self):
        backend = VaultSecretBackend(environ={}, mount="team/kv")
        assert backend.split_path("team/kv/app/db") == ("team/kv", "app/db")
        assert backend.split_path("other/data/app") == ("other", "app")
        assert backend.split_path("/db/") == ("team/kv", "db")

    def test_missing_hvac_names_the_extra(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "hvac", None)
        with pytest.raises(ImportError, match=r"pip install 'pysetl\[vault\]'"):
            VaultSecretBackend(environ={})


class TestThroughTheResolver:
    def test_vault_backend_is_created_from_the_environment(
        self, kv, monkeypatch, secret_value
    ):
        monkeypatch.setenv("VAULT_ADDR", kv.url)
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)
        monkeypatch.delenv("VAULT_NAMESPACE", raising=False)
        resolver = SecretResolver()
        secret = resolver.bind("vault:secret/data/app/db#password", entry="db.password")
        assert kv.requests == []
        assert secret.get_secret_value() == secret_value
        assert len(kv.requests) == 1

    def test_errors_name_the_config_entry(self, kv):
        resolver = SecretResolver([_backend(kv, token="hvs.narrow")])
        secret = resolver.bind(
            "vault:secret/app/db#password", entry="warehouse.password"
        )
        with pytest.raises(SecretBackendError) as caught:
            secret.get_secret_value()
        assert caught.value.config == "warehouse.password"
