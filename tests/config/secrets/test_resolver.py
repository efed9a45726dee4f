"""``SecretResolver``: binding, templates, the backend registry, access control."""

from __future__ import annotations

import textwrap

import pytest

from pysetl.config.secrets import (
    ENTRY_POINT_GROUP,
    BaseSecretBackend,
    EnvSecretBackend,
    FileSecretBackend,
    LazySecret,
    SecretPolicy,
    SecretResolver,
    parse_reference,
)
from pysetl.errors import (
    AlreadyRegisteredError,
    SecretAccessError,
    SecretError,
    SecretNotFoundError,
)
from pysetl.utils.redaction import MASK, redact_text


class DictSecretBackend(BaseSecretBackend):
    """A backend of our own, the way a plugin writes one."""

    scheme = "dict"

    def __init__(self, data):
        self.data = data

    def fetch(self, path, _key):
        if path not in self.data:
            msg = f"no {path!r}"
            raise SecretNotFoundError(msg, reference=f"dict:{path}")
        return self.data[path]


class BrokenBackend(BaseSecretBackend):
    scheme = "broken"

    def fetch(self, _path, _key):
        raise RuntimeError("the plugin crashed")


@pytest.fixture
def resolver(secret_value):
    return SecretResolver(
        [EnvSecretBackend({"PG_PW": secret_value, "PG_USER": "etl-user"})]
    )


class TestBind:
    def test_bind_returns_a_lazy_secret_bound_to_the_entry(
        self, resolver, secret_value
    ):
        secret = resolver.bind("env:PG_PW", entry="warehouse.password")
        assert isinstance(secret, LazySecret)
        assert (secret.reference, secret.entry) == ("env:PG_PW", "warehouse.password")
        assert secret.get_secret_value() == secret_value

    def test_bind_accepts_the_token_form(self, resolver, secret_value):
        secret = resolver.bind("${secret:env:PG_PW}", entry="x")
        assert secret.get_secret_value() == secret_value

    def test_bind_checks_the_scheme_at_once(self, resolver):
        with pytest.raises(
            SecretError, match="no secret backend handles 'nope'"
        ) as caught:
            resolver.bind("nope:x", entry="db.password")
        error = caught.value
        assert error.config == "db.password"
        assert "env" in (error.hint or "")
        assert ENTRY_POINT_GROUP in (error.hint or "")

    def test_a_malformed_reference_fails_at_bind(self, resolver):
        with pytest.raises(SecretError, match="not a secret reference"):
            resolver.bind("PG_PW", entry="db.password")

    def test_errors_at_resolution_name_the_entry(self, resolver):
        secret = resolver.bind("env:MISSING", entry="db.password")
        with pytest.raises(SecretNotFoundError) as caught:
            secret.get_secret_value()
        assert caught.value.config == "db.password"

    def test_an_entry_named_by_the_backend_is_kept(self):
        class NamingBackend(BaseSecretBackend):
            scheme = "naming"

            def fetch(self, path, _key):
                msg = "gone"
                raise SecretNotFoundError(msg, reference=f"naming:{path}", config="own")

        secret = SecretResolver([NamingBackend()]).bind("naming:x", entry="db.password")
        with pytest.raises(SecretNotFoundError) as caught:
            secret.get_secret_value()
        assert caught.value.config == "own"

    def test_foreign_backend_errors_are_wrapped(self):
        resolver = SecretResolver([BrokenBackend()])
        secret = resolver.bind("broken:x", entry="api.token")
        with pytest.raises(
            SecretError, match="'broken' failed on 'broken:x'"
        ) as caught:
            secret.get_secret_value()
        assert caught.value.config == "api.token"
        assert isinstance(caught.value.__cause__, RuntimeError)

    def test_the_resolved_value_is_registered_with_the_redactor(
        self, resolver, secret_value
    ):
        resolver.bind("env:PG_PW", entry="x").get_secret_value()
        assert redact_text(f"dsn with {secret_value}") == f"dsn with {MASK}"

    def test_there_is_no_public_lookup_by_name(self, resolver):
        public = {name for name in dir(resolver) if not name.startswith("_")}
        assert public == {"bind", "bind_template", "policy", "register", "schemes"}


class TestBindTemplate:
    def test_substitutes_every_token(self, resolver, secret_value):
        template = "postgresql://${secret:env:PG_USER}:${secret:env:PG_PW}@db:5432/shop"
        dsn = resolver.bind_template(template, entry="warehouse.url")
        assert str(dsn) == MASK
        assert (
            dsn.get_secret_value()
            == f"postgresql://etl-user:{secret_value}@db:5432/shop"
        )
        assert dsn.reference == template

    def test_registers_each_part_and_the_whole(self, resolver, secret_value):
        dsn = resolver.bind_template("pw=${secret:env:PG_PW};", entry="x")
        value = dsn.get_secret_value()
        assert redact_text(secret_value) == MASK
        assert redact_text(value) == MASK

    def test_text_without_a_token_is_an_error(self, resolver):
        with pytest.raises(
            SecretError, match=r"no \$\{secret:\.\.\.\} token"
        ) as caught:
            resolver.bind_template("plain text", entry="a.b")
        assert caught.value.config == "a.b"

    def test_every_reference_is_checked_at_bind(self, resolver):
        with pytest.raises(SecretError, match="'nope'"):
            resolver.bind_template("a${secret:env:PG_PW}b${secret:nope:x}", entry="e")


class TestRegistry:
    def test_default_backends_are_env_and_file(self):
        resolver = SecretResolver()
        assert resolver.schemes == ("aws", "env", "file", "vault")
        assert isinstance(resolver._backends["file"], FileSecretBackend)

    def test_register_adds_a_scheme(self, secret_value):
        resolver = SecretResolver()
        resolver.register(DictSecretBackend({"k": secret_value}))
        assert "dict" in resolver.schemes
        assert resolver.bind("dict:k", entry="x").get_secret_value() == secret_value

    def test_register_twice_needs_replace(self, secret_value):
        resolver = SecretResolver([DictSecretBackend({})])
        with pytest.raises(AlreadyRegisteredError, match="'dict'"):
            resolver.register(DictSecretBackend({}))
        resolver.register(DictSecretBackend({"k": secret_value}), replace=True)
        assert resolver.bind("dict:k", entry="x").get_secret_value() == secret_value

    def test_a_backend_needs_a_scheme(self):
        class NoScheme(BaseSecretBackend):
            def fetch(self, _path, _key):
                return ""

        with pytest.raises(TypeError, match="has no 'scheme'"):
            SecretResolver([NoScheme()])

    def test_backend_repr_shows_no_state(self, secret_value):
        assert secret_value not in repr(DictSecretBackend({"k": secret_value}))
        assert repr(DictSecretBackend({})) == "DictSecretBackend()"

    def test_resolver_repr(self):
        text = repr(SecretResolver(policy={"*": ["env:*"]}))
        assert (
            text
            == "SecretResolver(schemes=['aws', 'env', 'file', 'vault'], policy=yes)"
        )

    def test_plugins_come_from_the_entry_point_group(
        self, tmp_path, monkeypatch, secret_value
    ):
        """A distribution on sys.path declares a backend; it is found by scheme."""
        package = tmp_path / "pysetl_test_plugin.py"
        package.write_text(
            textwrap.dedent(
                f"""
                from pysetl.config.secrets import BaseSecretBackend

                class PluginSecretBackend(BaseSecretBackend):
                    scheme = "plugin"

                    def fetch(self, path, key):
                        return {secret_value!r} + ":" + path

                class NotABackend:
                    pass
                """
            )
        )
        info = tmp_path / "pysetl_test_plugin-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: pysetl-test-plugin\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\n"
            "plugin = pysetl_test_plugin:PluginSecretBackend\n"
            "notone = pysetl_test_plugin:NotABackend\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        resolver = SecretResolver()
        secret = resolver.bind("plugin:db", entry="x")
        assert secret.get_secret_value() == f"{secret_value}:db"
        assert "plugin" in resolver.schemes
        with pytest.raises(SecretError, match="not a BaseSecretBackend"):
            resolver.bind("notone:x", entry="x")
        closed = SecretResolver(load_entry_points=False)
        with pytest.raises(SecretError, match="no secret backend handles 'plugin'"):
            closed.bind("plugin:db", entry="x")


class TestPolicy:
    def test_allows_matching_entries_and_references(self):
        policy = SecretPolicy(
            {"db.*": ["env:PG_*", "vault:secret/db#*"], "api.token": "env:API"}
        )
        assert policy.allows("db.password", parse_reference("env:PG_PW"))
        assert policy.allows("db.password", parse_reference("vault:secret/db#password"))
        assert policy.allows("api.token", parse_reference("env:API"))
        assert not policy.allows("db.password", parse_reference("env:API"))
        assert not policy.allows("etl.factory", parse_reference("env:PG_PW"))

    def test_a_reference_glob_without_key_covers_every_key(self):
        policy = SecretPolicy({"*": ["aws:prod/db"]})
        assert policy.allows("x", parse_reference("aws:prod/db#password"))
        assert not policy.allows("x", parse_reference("aws:prod/other#password"))

    def test_rules_are_frozen(self):
        rules = {"db.*": ["env:*"]}
        policy = SecretPolicy(rules)
        rules["db.*"].append("vault:*")
        assert policy.rules == {"db.*": ("env:*",)}

    def test_bind_refuses_what_the_policy_does_not_allow(self, secret_value):
        resolver = SecretResolver(
            [EnvSecretBackend({"PG_PW": secret_value, "API": "api-token-value"})],
            policy={"db.*": ["env:PG_*"]},
        )
        assert (
            resolver.bind("env:PG_PW", entry="db.password").get_secret_value()
            == secret_value
        )
        with pytest.raises(
            SecretAccessError, match=r"'factories\.report\.token'"
        ) as caught:
            resolver.bind("env:PG_PW", entry="factories.report.token")
        error = caught.value
        assert "'env:PG_PW'" in str(error)
        assert error.config == "factories.report.token"
        assert error.reference == "env:PG_PW"
        assert "factories.report.token" in (error.hint or "")
        with pytest.raises(SecretAccessError):
            resolver.bind_template("x${secret:env:API}", entry="db.url")

    def test_a_secret_policy_instance_is_accepted(self):
        policy = SecretPolicy({"*": ["env:*"]})
        assert SecretResolver(policy=policy).policy is policy
        assert SecretResolver().policy is None
