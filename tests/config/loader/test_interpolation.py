"""``${env:...}``, defaults, escapes, secrets and ``enc:`` values."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pysetl.config.crypto import ConfigCipher
from pysetl.config.secrets import EnvSecretBackend, LazySecret, SecretResolver
from pysetl.errors import ConfigLoadError
from pysetl.utils.redaction import MASK


class TestEnv:
    def test_env_variables_are_substituted_in_text_and_lists(self, conf):
        conf.write(
            "base/a.yaml",
            "db: {url: 'jdbc:postgresql://${env:DB_HOST}:5432/shop'}\n"
            "hosts: ['${env:DB_HOST}', other]\n",
        )
        cfg = conf.load(environ={"DB_HOST": "db.internal"})
        assert cfg.get("db.url") == "jdbc:postgresql://db.internal:5432/shop"
        assert cfg.get("hosts") == ("db.internal", "other")

    def test_a_default_is_used_when_the_variable_is_unset(self, conf):
        conf.write("base/a.yaml", "a: ${env:NOPE:-fallback}\nb: x${env:NOPE:-}y\n")
        cfg = conf.load()
        assert cfg.get("a") == "fallback"
        assert cfg.get("b") == "xy"

    def test_the_variable_wins_over_its_default(self, conf):
        conf.write("base/a.yaml", "a: ${env:SET:-fallback}\n")
        assert conf.load(environ={"SET": "yes"}).get("a") == "yes"

    def test_values_stay_strings_until_a_model_converts_them(self, conf):
        conf.write("base/a.yaml", "port: ${env:PORT}\n")
        assert conf.load(environ={"PORT": "5432"}).get("port") == "5432"

    def test_a_missing_variable_is_an_error_with_file_line_and_key(self, conf):
        path = conf.write("base/a.yaml", "db:\n  host: ok\n  user: ${env:DB_USER}\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        (error,) = caught.value.errors
        assert error["file"] == str(path)
        assert error["line"] == 3
        assert error["key"] == "db.user"
        assert "'DB_USER' is not set" in error["msg"]
        assert f"{path}:3 [db.user] environment variable" in str(caught.value)

    def test_every_missing_variable_is_reported_at_once(self, conf):
        conf.write("base/a.yaml", "a: ${env:ONE}\nb: ${env:TWO}\n")
        conf.write("base/b.toml", "c = '${env:THREE}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        assert [e["key"] for e in caught.value.errors] == ["a", "b", "c"]
        assert caught.value.errors[2]["line"] == 1

    def test_double_dollar_escapes_a_literal_token(self, conf):
        conf.write("base/a.yaml", "a: $${env:HOME}\nb: cost $$5 and $${x}\n")
        cfg = conf.load()
        assert cfg.get("a") == "${env:HOME}"
        assert cfg.get("b") == "cost $$5 and ${x}"

    @pytest.mark.parametrize(
        "text", ["${nope:X}", "${HOME}", "${env:1BAD}", "${secret:}"]
    )
    def test_an_unknown_or_malformed_token_is_an_error(self, conf, text):
        conf.write("base/a.yaml", f"a: '{text}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        assert caught.value.errors[0]["key"] == "a"

    @pytest.mark.parametrize(
        "text",
        ["${env:A:-${env:B}}", "pre ${env:B", "canary-pw${", "${env:B} and ${"],
    )
    def test_an_unclosed_or_nested_token_is_an_error_not_a_literal(self, conf, text):
        conf.write("base/a.yaml", f"x: 1\npassword: '{text}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(environ={"B": "b"})
        (error,) = caught.value.errors
        assert (error["key"], error["line"]) == ("password", 2)
        assert "unterminated or nested" in error["msg"]
        assert "canary" not in str(caught.value)  # the value is not echoed

    def test_values_of_environment_overrides_are_taken_literally(self, conf):
        conf.write("base/a.yaml", "db: {host: x}\n")
        cfg = conf.load(environ={"PYSETL_DB__HOST": "${env:NOT_READ}"})
        assert cfg.get("db.host") == "${env:NOT_READ}"

    def test_non_string_values_are_left_alone(self, conf):
        conf.write("base/a.yaml", "a: 1\nb: true\nc: null\n")
        assert conf.load().as_dict() == {"a": 1, "b": True, "c": None}


class TestSecrets:
    def test_a_secret_reference_becomes_a_lazy_secret_for_its_entry(self, conf):
        conf.write("base/a.yaml", "db: {password: '${secret:env:PG_PW}'}\n")
        cfg = conf.load(environ={"PG_PW": "s3cret-pw-123"})
        password = cfg.get("db.password")
        assert isinstance(password, LazySecret)
        assert password.entry == "db.password"
        assert not password.is_resolved
        assert cfg.as_dict()["db"]["password"] == MASK
        assert "s3cret" not in repr(cfg.as_dict()) + str(cfg.explain("db.password"))
        assert password.get_secret_value() == "s3cret-pw-123"

    def test_a_template_with_text_around_the_token(self, conf):
        conf.write(
            "base/a.yaml",
            "dsn: 'postgresql://app:${secret:env:PG_PW}@${env:HOST}/shop'\n",
        )
        cfg = conf.load(environ={"PG_PW": "pw-9876", "HOST": "db"})
        dsn = cfg.get("dsn")
        assert isinstance(dsn, SecretStr)
        assert dsn.get_secret_value() == "postgresql://app:pw-9876@db/shop"
        assert cfg.as_dict()["dsn"] == "**********"

    def test_an_injected_resolver_is_used(self, conf):
        conf.write("base/a.yaml", "token: '${secret:env:API}'\n")
        resolver = SecretResolver([EnvSecretBackend({"API": "tok-12345"})])
        cfg = conf.load(secrets=resolver)
        assert cfg.get("token").get_secret_value() == "tok-12345"

    def test_an_unknown_backend_is_a_located_error(self, conf):
        path = conf.write("base/a.yaml", "a: 1\ntoken: '${secret:nope:x}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        (error,) = caught.value.errors
        assert (error["file"], error["line"], error["key"]) == (str(path), 2, "token")

    def test_a_backend_error_keeps_its_kind_and_hint_readable(self, conf):
        conf.write("base/a.yaml", "db:\n  password: '${secret:nope:x}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        text = str(caught.value)
        # The key is not followed by a colon, so the redactor's
        # "password: value" rule leaves the message whole.
        assert "[db.password] config entry 'db.password' references" in text
        assert "SecretError; hint: use one of" in text

    def test_an_escaped_token_cannot_be_mixed_with_a_secret(self, conf):
        conf.write("base/a.yaml", "a: '$${x} ${secret:env:PW}'\n")
        with pytest.raises(ConfigLoadError, match="literal"):
            conf.load(environ={"PW": "abcdef"})


class TestEncrypted:
    def test_enc_values_become_lazy_secrets_decrypted_on_use(self, conf):
        key = ConfigCipher.generate_key()
        token = ConfigCipher([key]).encrypt("db-pass-4242")
        conf.write("base/a.yaml", f"db: {{password: '{token}'}}\n")
        cfg = conf.load(environ={"PYSETL_CONFIG_KEY": key})
        password = cfg.get("db.password")
        assert isinstance(password, LazySecret)
        assert cfg.as_dict()["db"]["password"] == MASK
        assert cfg.explain("db.password")[0].value == "**********"
        assert password.get_secret_value() == "db-pass-4242"

    def test_an_injected_cipher_is_used(self, conf):
        cipher = ConfigCipher([ConfigCipher.generate_key()])
        conf.write("base/a.yaml", f"x: '{cipher.encrypt('plain-text-1')}'\n")
        assert conf.load(cipher=cipher).get("x").get_secret_value() == "plain-text-1"

    def test_no_key_is_a_located_error(self, conf):
        cipher = ConfigCipher([ConfigCipher.generate_key()])
        path = conf.write("base/a.yaml", f"x: '{cipher.encrypt('plain-text-1')}'\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        (error,) = caught.value.errors
        assert (error["file"], error["line"], error["key"]) == (str(path), 1, "x")
