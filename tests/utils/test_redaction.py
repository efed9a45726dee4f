"""The one redaction point masks secrets by key name, by value and by pattern."""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid

import pytest
from pydantic import SecretBytes, SecretStr

from pysetl.utils import redaction
from pysetl.utils.redaction import MASK, Redactor


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


def _canary() -> str:
    return f"canary-{uuid.uuid4().hex}"


class TestSecretKeys:
    @pytest.mark.parametrize(
        "key",
        [
            "password",
            "db.password",
            "DB_PASSWORD",
            "passwd",
            "client_secret",
            "AWS_SECRET_ACCESS_KEY",
            "aws_access_key_id",
            "apiToken",
            "api-key",
            "credentials",
            "key",
            "encryption_key",
            "privateKey",
            "Authorization",
        ],
    )
    def test_secret_names(self, redactor, key):
        assert redactor.is_secret_key(key)

    @pytest.mark.parametrize(
        "key",
        ["user", "primary_key", "partition_key", "keys", "monkey", "host", "", 3],
    )
    def test_plain_names(self, redactor, key):
        assert not redactor.is_secret_key(key)


class TestRedactText:
    def test_registered_secrets_are_masked_everywhere(self, redactor):
        secret = _canary()
        redactor.register_secret(secret)
        assert redactor.redact_text(f"a {secret} b {secret}") == f"a {MASK} b {MASK}"
        assert secret in redactor.secrets

    def test_the_longest_secret_is_masked_whole(self, redactor):
        redactor.register_secret("abcd")
        redactor.register_secret("abcdefgh")
        assert redactor.redact_text("x abcdefgh y") == f"x {MASK} y"

    def test_secret_objects_and_bytes_register_their_value(self, redactor):
        redactor.register_secret(SecretStr("from-a-secret-str"))
        redactor.register_secret(b"from-bytes")
        assert redactor.redact_text("from-a-secret-str from-bytes") == f"{MASK} {MASK}"

    @pytest.mark.parametrize("value", ["", "abc", None, 12345])
    def test_short_and_non_text_values_are_ignored(self, redactor, value):
        redactor.register_secret(value)
        assert redactor.secrets == frozenset()

    def test_registering_twice_is_harmless(self, redactor):
        redactor.register_secret("same-secret")
        redactor.register_secret("same-secret")
        assert redactor.secrets == {"same-secret"}

    def test_the_number_of_secrets_is_bounded(self, redactor, monkeypatch):
        monkeypatch.setattr(redaction, "_MAX_SECRETS", 1)
        redactor.register_secret("first-secret")
        redactor.register_secret("second-secret")
        assert redactor.secrets == {"first-secret"}

    def test_empty_text(self, redactor):
        assert redactor.redact_text("") == ""

    @pytest.mark.parametrize(
        ("text", "gone"),
        [
            ("key id AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
            ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
            ("curl -H 'bearer xyz123456'", "xyz123456"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nature",
                "eyJzdWIiOiIxMjM0In0",
            ),
            ("postgresql://etl:hunter2@db:5432/shop", "hunter2"),
            ("jdbc:postgresql://db/shop?user=etl&password=hunter2&ssl=1", "hunter2"),
            ("jdbc:sqlserver://db;password=hunter2;user=etl", "hunter2"),
            ("{'user': 'etl', 'password': 'hunter2'}", "hunter2"),
            ('{"api_token": "hunter2"}', "hunter2"),
            ("client_secret=hunter2 next", "hunter2"),
            ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ],
    )
    def test_patterns(self, redactor, text, gone):
        masked = redactor.redact_text(text)
        assert gone not in masked
        assert MASK in masked

    def test_pem_blocks_keep_their_armour(self, redactor):
        pem = (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\nxyz\n"
            "-----END RSA PRIVATE KEY-----"
        )
        masked = redactor.redact_text(f"key:\n{pem}\nafter")
        assert "MIIBOgIBAAJBAK" not in masked
        assert "-----BEGIN RSA PRIVATE KEY-----" in masked
        assert masked.endswith("after")

    def test_plain_text_is_untouched(self, redactor):
        text = "stage 0 of pipeline 'shop' read 3 rows from s3://bucket/orders"
        assert redactor.redact_text(text) == text

    def test_added_patterns(self, redactor):
        redactor.add_pattern(r"ssn-\d+")
        assert redactor.redact_text("id ssn-1234") == f"id {MASK}"


class TestKeyValuePairsInText:
    """A secret-like key is masked when it is given a value, not in prose."""

    @pytest.mark.parametrize(
        "text",
        [
            "api.token: no decryption key is set",
            "connectors.warehouse.password: cannot connect to Vault at x",
            "api.token: value is missing",
            "password: cannot connect",
            "  conf/base/a.yaml:3 api.token: no decryption key is set (see docs)",
            "config entry 'db.password': cannot be read, use a secret",
            "password: must be at least 12 characters\nuser: etl",
        ],
    )
    def test_prose_after_a_key_and_a_colon_stays_readable(self, redactor, text):
        assert redactor.redact_text(text) == text

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("password=hunter", "password=**********"),
            ("password = hunter next", "password = ********** next"),
            ("password:hunter next", "password:********** next"),
            ("password: hunter", "password: **********"),
            ("  password: hunter  # rotated\nuser: etl", None),
            ("password: hunter\r\nuser: etl", None),
            ("password: hunter2 was rejected", "password: ********** was rejected"),
            ("password: p@ss word", "password: ********** word"),
            (
                "user=etl password: hunter host=db",
                "user=etl password: ********** host=db",
            ),
            ("{password: hunter, user: etl}", "{password: **********, user: etl}"),
            ('{"password": "correct horse"}', '{"password": "**********"}'),
            ('{"password": "pa\\"ss word"}', '{"password": "**********"}'),
            (
                "{'password': 'it is', 'user': 1}",
                "{'password': '**********', 'user': 1}",
            ),
            ("{'password': None}", "{'password': **********}"),
            ('token: "no decryption key"', 'token: "**********"'),
            ('password: "unclosed', 'password: "**********'),
            ("https://x/y?token=abc&b=1", "https://x/y?token=**********&b=1"),
            ("X-Api-Key: abcdef\r\nHost: x", "X-Api-Key: **********\r\nHost: x"),
            ("Authorization: Bearer abc def", "Authorization: ********** def"),
            ("Authorization: basic dXNlcjpwYXNz", "Authorization: **********"),
        ],
    )
    def test_values_are_still_masked(self, redactor, text, expected):
        masked = redactor.redact_text(text)
        assert "hunter" not in masked
        assert MASK in masked
        if expected is not None:
            assert masked == expected

    def test_registered_secrets_are_masked_in_prose_too(self, redactor):
        secret = _canary()
        redactor.register_secret(secret)
        text = f"password: cannot connect with {secret}"
        assert redactor.redact_text(text) == f"password: cannot connect with {MASK}"


class TestTransformedForms:
    """A registered secret is masked in every form an output writes it in."""

    @pytest.mark.parametrize(
        "secret",
        [
            "Canary\\Pw-7731",
            "can'a\"ry-7731",
            "can'ary-7731",
            "canary\tpw-7731",
            "canary\r\npw-7731",
            "cänäry-pässwört-€-7731",
        ],
    )
    def test_repr_json_url_and_py4j_forms(self, redactor, secret):
        redactor.register_secret(secret)
        shown = [
            str(KeyError(secret)),
            repr(KeyError(secret)),
            repr([secret, "'"]),
            repr(repr(secret)),
            json.dumps({"msg": secret}),
            json.dumps({"msg": secret}, ensure_ascii=False),
            json.dumps({"msg": repr(secret)}),
            urllib.parse.quote(secret, safe=""),
            re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), urllib.parse.quote(secret)),
            urllib.parse.urlencode({"password": secret, "user": "etl"}),
            repr(secret.encode()),
            # Py4J's command protocol escapes backslashes and line breaks only.
            secret.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n"),
        ]
        for text in shown:
            assert MASK in redactor.redact_text(f"x {text} y"), text
        assert "7731" not in " ".join(redactor.redact_text(t) for t in shown)
        assert redactor.secrets == {secret}

    def test_a_plain_secret_has_one_form(self):
        assert redaction.secret_forms("s3cret-pw_1.x~") == {"s3cret-pw_1.x~"}

    def test_text_around_a_form_is_kept(self, redactor):
        redactor.register_secret("Canary\\Pw-7731")
        assert redactor.redact_text("KeyError('Canary\\\\Pw-7731')") == (
            f"KeyError('{MASK}')"
        )


class TestRedactValues:
    def test_mappings_by_key_name_at_any_depth(self, redactor):
        data = {
            "user": "etl",
            "password": "pw",
            "nested": {"token": 123, "list": [{"secret": "s"}, "plain"]},
            "credentials": {"user": "u", "inner": ["a", None, True]},
            "empty_password": None,
        }
        assert redactor.redact_mapping(data) == {
            "user": "etl",
            "password": MASK,
            "nested": {"token": MASK, "list": [{"secret": MASK}, "plain"]},
            "credentials": {"user": MASK, "inner": [MASK, None, True]},
            "empty_password": None,
        }

    def test_strings_and_secret_objects(self, redactor):
        secret = _canary()
        redactor.register_secret(secret)
        value = ("x", f"has {secret}", SecretStr("another-one"), 3)
        assert redactor.redact_value(value) == ("x", f"has {MASK}", MASK, 3)
        # a SecretStr seen once is masked in texts from then on
        assert redactor.redact_text("another-one") == MASK

    def test_masked_keys_register_nothing(self, redactor):
        redactor.redact_mapping({"tokenizer": "bert"})
        assert redactor.secrets == frozenset()

    def test_labels(self, redactor):
        secret = _canary()
        redactor.register_secret(secret)
        labels = {"stage": 0, "api_key": "k", "note": f"x {secret}"}
        assert redactor.redact_labels(labels) == {
            "stage": "0",
            "api_key": MASK,
            "note": f"x {MASK}",
        }


class TestDefault:
    def test_module_functions_use_the_default(self):
        fresh = redaction.reset_default_redactor()
        try:
            assert redaction.default_redactor() is fresh
            secret = _canary()
            redaction.register_secret(secret)
            assert redaction.redact_text(secret) == MASK
            assert redaction.redact_value({"password": "x"}) == {"password": MASK}
            assert redaction.redact_mapping({"k": secret}) == {"k": MASK}
            assert redaction.redact_labels({"a": secret}) == {"a": MASK}
            assert redaction.is_secret_key("token")
            redaction.register_secret(SecretBytes(b"bytes-secret"))
            assert redaction.redact_text("bytes-secret") == MASK
        finally:
            redaction.reset_default_redactor()


class TestLazySecrets:
    """Objects that fetch their value on demand are registered only once fetched."""

    class _Lazy:
        def __init__(self, value: str) -> None:
            self.value = value
            self.is_resolved = False
            self.fetches = 0

        def get_secret_value(self) -> str:
            self.fetches += 1
            self.is_resolved = True
            return self.value

    def test_an_unresolved_one_is_not_fetched(self, redactor):
        canary = _canary()
        lazy = self._Lazy(canary)
        redactor.register_secret(lazy)
        assert lazy.fetches == 0
        assert redactor.redact_text(f"x {canary}") == f"x {canary}"

    def test_a_resolved_one_is_registered(self, redactor):
        canary = _canary()
        lazy = self._Lazy(canary)
        lazy.get_secret_value()
        redactor.register_secret(lazy)
        assert redactor.redact_text(f"x {canary}") == f"x {MASK}"
