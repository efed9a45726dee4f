"""``LazySecret``: resolved once, on first use; never rendered anywhere."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import threading

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from pysetl.config import JdbcConfig, JdbcConfigModel
from pysetl.config.secrets import EnvSecretBackend, LazySecret, SecretResolver
from pysetl.errors import SecretNotFoundError
from pysetl.utils.redaction import MASK, redact_mapping, redact_text, redact_value


class CountingEnvBackend(EnvSecretBackend):
    """The real env backend, counting its fetches."""

    def __init__(self, environ):
        super().__init__(environ)
        self.fetches = 0

    def fetch(self, path, key):
        self.fetches += 1
        return super().fetch(path, key)


@pytest.fixture
def backend(secret_value):
    return CountingEnvBackend({"PG_PW": secret_value})


@pytest.fixture
def secret(backend):
    return SecretResolver([backend]).bind("env:PG_PW", entry="db.password")


def _pickle_resolve():
    return "pickled-secret-value"


class TestLaziness:
    def test_nothing_is_fetched_until_the_value_is_read(self, secret, backend):
        assert backend.fetches == 0
        assert not secret.is_resolved
        assert secret.reference == "env:PG_PW"
        assert secret.entry == "db.password"

    def test_resolves_once_and_caches(self, secret, backend, secret_value):
        assert secret.get_secret_value() == secret_value
        assert secret.get_secret_value() == secret_value
        assert backend.fetches == 1
        assert secret.is_resolved

    def test_concurrent_first_reads_fetch_once(self, secret, backend, secret_value):
        values = []
        threads = [
            threading.Thread(target=lambda: values.append(secret.get_secret_value()))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert values == [secret_value] * 8
        assert backend.fetches == 1

    def test_a_failed_resolution_is_retried(self, secret_value):
        environ: dict[str, str] = {}
        secret = SecretResolver([EnvSecretBackend(environ)]).bind("env:LATE", entry="x")
        with pytest.raises(SecretNotFoundError, match="'LATE' is not set"):
            secret.get_secret_value()
        environ["LATE"] = secret_value
        assert secret.get_secret_value() == secret_value

    def test_is_a_secret_str(self, secret):
        assert isinstance(secret, SecretStr)

    def test_bool_does_not_resolve_and_len_does(self, secret, backend, secret_value):
        assert bool(secret)
        assert backend.fetches == 0
        assert len(secret) == len(secret_value)
        empty = LazySecret(str, reference="env:EMPTY", entry="e")
        assert empty.get_secret_value() == ""
        assert not empty


class TestNeverRendered:
    def test_str_repr_and_format_show_the_mask(self, secret, backend):
        assert str(secret) == MASK
        assert repr(secret) == (
            "LazySecret('**********', reference='env:PG_PW', entry='db.password')"
        )
        assert f"{secret}" == MASK
        assert f"{secret:>12}" == f"  {MASK}"
        assert "%s" % secret == MASK  # noqa: UP031
        assert backend.fetches == 0

    def test_resolved_secret_still_shows_the_mask(self, secret, secret_value):
        secret.get_secret_value()
        rendered = [str(secret), repr(secret), f"{secret}", f"{secret!r}"]
        assert all(secret_value not in text for text in rendered)

    def test_json_dumps_refuses_it(self, secret):
        with pytest.raises(TypeError):
            json.dumps({"password": secret})

    @pytest.mark.parametrize("resolved", [False, True])
    def test_pydantic_dumps_show_the_mask(
        self, secret, backend, secret_value, resolved
    ):
        if resolved:
            secret.get_secret_value()
        model = JdbcConfigModel(
            url="jdbc:postgresql://db/x", table="t", password=secret
        )
        dumped = model.model_dump()
        assert dumped["password"] is secret
        as_json = model.model_dump_json()
        assert json.loads(as_json)["password"] == MASK
        for text in (as_json, str(model), repr(model), str(dumped)):
            assert secret_value not in text
        assert backend.fetches == (1 if resolved else 0)

    def test_a_field_typed_lazy_secret_accepts_bound_values_only(self, secret, backend):
        class Holder(BaseModel):
            value: LazySecret

        holder = Holder(value=secret)
        assert holder.value is secret
        assert holder.model_dump_json() == '{"value":"**********"}'
        assert holder.model_dump() == {"value": secret}
        with pytest.raises(ValidationError):
            Holder(value="plain text")  # type: ignore[arg-type]
        assert backend.fetches == 0

    def test_logging_shows_the_mask(self, secret, secret_value, caplog):
        logger = logging.getLogger("pysetl.tests.secrets")
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("password is %s", secret)
            logger.info("config %r", {"password": secret})
            logger.info("f-string %s", f"{secret}")
            secret.get_secret_value()
            logger.info("after resolving: %s %r", secret, secret)
        assert caplog.records
        for record in caplog.records:
            assert secret_value not in record.getMessage()
        assert MASK in caplog.text

    def test_the_redactor_masks_it_without_resolving(self, secret, backend):
        assert redact_value(secret) == MASK
        assert redact_value({"dsn": secret}) == {"dsn": MASK}
        assert redact_mapping({"anything": secret}) == {"anything": MASK}
        assert backend.fetches == 0

    def test_a_resolved_value_is_masked_by_the_redactor(self, secret, secret_value):
        assert redact_text(f"leaked {secret_value}") == f"leaked {secret_value}"
        secret.get_secret_value()
        assert redact_text(f"leaked {secret_value}!") == f"leaked {MASK}!"


class TestPydanticValidation:
    def test_passes_a_secret_str_field_unresolved(self, secret, backend, secret_value):
        model = JdbcConfigModel(
            url="jdbc:postgresql://db/x", table="t", password=secret
        )
        assert model.password is secret
        assert backend.fetches == 0
        assert model.password.get_secret_value() == secret_value

    def test_strict_models_accept_it(self, secret, backend):
        class Strict(BaseModel):
            model_config = ConfigDict(strict=True, frozen=True, extra="forbid")
            password: SecretStr

        model = Strict(password=secret)
        assert model.password is secret
        hash(model)  # a frozen model hashes its fields: must not resolve
        assert backend.fetches == 0

    def test_jdbc_config_validates_and_prints_unresolved(
        self, secret, backend, secret_value
    ):
        config = JdbcConfig(
            url="jdbc:postgresql://db/x", table="t", user="etl", password=secret
        )
        text = str(config)
        validated = config.config
        assert validated.password is secret
        assert MASK in text
        assert backend.fetches == 0
        assert "password" not in config.reader_config
        assert validated.password.get_secret_value() == secret_value


class TestIdentity:
    def test_equal_bindings_are_equal_and_hash_alike(self, backend):
        resolver = SecretResolver([backend])
        first = resolver.bind("env:PG_PW", entry="db.password")
        second = resolver.bind("env:PG_PW", entry="db.password")
        other_entry = resolver.bind("env:PG_PW", entry="api.password")
        assert first == second
        assert hash(first) == hash(second)
        assert first != other_entry
        assert {first, second, other_entry} == {first, other_entry}
        assert backend.fetches == 0

    def test_compares_by_value_with_a_plain_secret_str(self, secret, secret_value):
        assert secret == SecretStr(secret_value)
        assert secret != SecretStr("something else")
        assert secret != "not a secret"  # noqa: S105 - compared, not stored

    def test_copies_share_the_binding_and_cache(self, secret, backend):
        assert copy.copy(secret) is secret
        assert copy.deepcopy({"a": secret})["a"] is secret
        model = JdbcConfigModel(
            url="jdbc:postgresql://db/x", table="t", password=secret
        )
        assert model.model_copy(deep=True).password is secret
        assert backend.fetches == 0

    def test_pickles_the_binding_never_the_value(self):
        secret = LazySecret(_pickle_resolve, reference="test:x", entry="a.b")
        secret.get_secret_value()
        data = pickle.dumps(secret)
        assert b"pickled-secret-value" not in data
        restored = pickle.loads(data)  # noqa: S301 - our own bytes
        assert not restored.is_resolved
        assert (restored.reference, restored.entry) == ("test:x", "a.b")
        assert restored.get_secret_value() == "pickled-secret-value"
