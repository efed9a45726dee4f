from __future__ import annotations

import pytest

from pysetl.config.secrets import SecretReference, parse_reference
from pysetl.config.secrets._reference import split_template
from pysetl.errors import ConfigError, SecretError


class TestParseReference:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("env:DB_PASSWORD", SecretReference("env", "DB_PASSWORD")),
            (
                "file:/run/secrets/db_password",
                SecretReference("file", "/run/secrets/db_password"),
            ),
            (
                "vault:secret/data/db#password",
                SecretReference("vault", "secret/data/db", "password"),
            ),
            ("aws:prod/db#password", SecretReference("aws", "prod/db", "password")),
            (
                "aws:arn:aws:secretsmanager:us-east-1:1:secret:db-AbC#pw",
                SecretReference(
                    "aws", "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC", "pw"
                ),
            ),
            ("${secret:env:PG_PW}", SecretReference("env", "PG_PW")),
            ("  env:PG_PW  ", SecretReference("env", "PG_PW")),
            (
                "file:app.json#db.password",
                SecretReference("file", "app.json", "db.password"),
            ),
        ],
    )
    def test_parses_scheme_path_and_key(self, text, expected):
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("DB_PASSWORD", "a scheme"),
            (":DB_PASSWORD", "a scheme"),
            ("Env:X", "a scheme"),
            ("env:", "a path"),
            ("env:  ", "a path"),
            ("vault:secret/db#", "a key"),
            ("", "a scheme"),
        ],
    )
    def test_rejects_malformed_text_with_a_hint(self, text, expected):
        with pytest.raises(SecretError, match=expected) as caught:
            parse_reference(text)
        assert isinstance(caught.value, ConfigError)
        assert caught.value.reference == text
        assert "SCHEME:PATH" in (caught.value.hint or "")

    def test_str_is_the_reference_as_written(self):
        assert (
            str(parse_reference("vault:secret/db#password"))
            == "vault:secret/db#password"
        )
        assert str(parse_reference("env:X")) == "env:X"

    def test_is_frozen(self):
        reference = parse_reference("env:X")
        with pytest.raises(AttributeError):
            reference.path = "Y"  # type: ignore[misc]


class TestSplitTemplate:
    def test_splits_literals_and_references(self):
        parts = split_template("postgresql://app:${secret:env:PG_PW}@db/x")
        assert parts == ["postgresql://app:", SecretReference("env", "PG_PW"), "@db/x"]

    def test_several_adjacent_tokens(self):
        parts = split_template("${secret:env:A}${secret:file:b#k}")
        assert parts == [SecretReference("env", "A"), SecretReference("file", "b", "k")]

    def test_text_without_tokens_is_one_literal(self):
        assert split_template("plain") == ["plain"]

    def test_a_bad_token_is_a_secret_error(self):
        with pytest.raises(SecretError, match="not a secret reference"):
            split_template("x${secret:nope}y")
