"""Secrets and encrypted values through ``load_config``: bound, lazy, masked."""

from __future__ import annotations

import pytest

from pysetl.config import JdbcConfigModel
from pysetl.config.crypto import ConfigCipher
from pysetl.config.secrets import EnvSecretBackend, LazySecret, SecretResolver
from pysetl.errors import ConfigError
from pysetl.utils.redaction import MASK, redact_text

loader = pytest.importorskip("pysetl.config.loader")


class CountingEnvBackend(EnvSecretBackend):
    def __init__(self, environ):
        super().__init__(environ)
        self.fetches = 0

    def fetch(self, path, key):
        self.fetches += 1
        return super().fetch(path, key)


@pytest.fixture
def project(tmp_path, secret_value):
    cipher = ConfigCipher([ConfigCipher.generate_key()])
    base = tmp_path / "conf" / "base"
    base.mkdir(parents=True)
    (base / "warehouse.yaml").write_text(
        "warehouse:\n"
        "  url: jdbc:postgresql://db.internal:5432/shop\n"
        "  table: orders\n"
        "  user: etl\n"
        "  password: ${secret:env:PG_PW}\n"
        "reports:\n"
        f"  api_token: {cipher.encrypt('api-' + secret_value)}\n"
        "  dsn: postgresql://etl:${secret:env:PG_PW}@db.internal/shop\n"
    )
    return tmp_path / "conf", cipher


def test_secrets_stay_lazy_through_loading_and_validation(project, secret_value):
    root, cipher = project
    backend = CountingEnvBackend({"PG_PW": secret_value})
    config = loader.load_config(
        root, None, environ={}, secrets=SecretResolver([backend]), cipher=cipher
    )
    model = config.section("warehouse", JdbcConfigModel)
    assert isinstance(model.password, LazySecret)
    assert model.password.entry == "warehouse.password"
    shown = str(config.as_dict())
    assert secret_value not in shown
    assert MASK in shown
    assert backend.fetches == 0
    assert model.password.get_secret_value() == secret_value
    token = config.get("reports.api_token")
    assert token.get_secret_value() == f"api-{secret_value}"
    dsn = config.get("reports.dsn")
    assert dsn.get_secret_value() == f"postgresql://etl:{secret_value}@db.internal/shop"
    assert secret_value not in redact_text(f"connecting with {dsn.get_secret_value()}")


def test_a_policy_refuses_an_entry_when_loading(project, secret_value):
    root, cipher = project
    resolver = SecretResolver(
        [EnvSecretBackend({"PG_PW": secret_value})],
        policy={"warehouse.*": ["env:PG_*"]},
    )
    with pytest.raises(ConfigError, match=r"reports\.dsn") as caught:
        loader.load_config(root, None, environ={}, secrets=resolver, cipher=cipher)
    assert secret_value not in str(caught.value)
