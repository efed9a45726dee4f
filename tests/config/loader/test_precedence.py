"""One test per precedence rule; the order itself is defined in ``_precedence``."""

from __future__ import annotations

from pysetl.config._precedence import (
    BASE,
    DEFAULTS,
    ENVIRON,
    OVERRIDES,
    PRECEDENCE,
    PROFILE,
    merge_order,
)


def _setup(conf):
    conf.write("base/a.yaml", "db: {host: base-host}\n")
    conf.write("prod/a.yaml", "db: {host: prod-host}\n")


class TestPrecedence:
    def test_the_order_is_defined_once_highest_first(self):
        assert PRECEDENCE == (OVERRIDES, ENVIRON, PROFILE, BASE, DEFAULTS)
        assert merge_order() == tuple(reversed(PRECEDENCE))

    def test_overrides_win_over_environment_variables(self, conf):
        _setup(conf)
        cfg = conf.load(
            "prod",
            environ={"PYSETL_DB__HOST": "env-host"},
            overrides={"db.host": "code-host"},
        )
        assert cfg.get("db.host") == "code-host"
        assert [p.layer for p in cfg.explain("db.host")] == [
            "overrides",
            "environ",
            "prod",
            "base",
        ]

    def test_environment_variables_win_over_the_profile(self, conf):
        _setup(conf)
        cfg = conf.load("prod", environ={"PYSETL_DB__HOST": "env-host"})
        assert cfg.get("db.host") == "env-host"

    def test_the_profile_wins_over_base(self, conf):
        _setup(conf)
        assert conf.load("prod").get("db.host") == "prod-host"

    def test_base_wins_over_defaults(self, conf):
        _setup(conf)
        cfg = conf.load(defaults={"db": {"host": "default-host", "port": 5432}})
        assert cfg.get("db.host") == "base-host"
        assert cfg.get("db.port") == 5432

    def test_defaults_win_over_model_defaults(self, conf):
        from pydantic import BaseModel

        class Db(BaseModel):
            host: str
            port: int = 1

        _setup(conf)
        cfg = conf.load(defaults={"db": {"port": 5432}})
        assert cfg.section("db", Db).port == 5432
        assert conf.load().section("db", Db).port == 1

    def test_a_later_file_of_a_layer_wins_over_an_earlier_one(self, conf):
        conf.write("base/a.yaml", "db: {host: from-a, port: 1}\n")
        conf.write("base/b.yaml", "db: {host: from-b}\n")
        cfg = conf.load()
        assert cfg.get("db.host") == "from-b"
        assert cfg.get("db.port") == 1
        assert [f.name for _, f in cfg.files] == ["a.yaml", "b.yaml"]

    def test_own_keys_win_over_inherited_ones(self, conf):
        conf.write(
            "base/a.yaml",
            "_tpl: {host: tpl-host, port: 1}\ndb: {extends: _tpl, host: own-host}\n",
        )
        assert conf.load().as_dict() == {"db": {"host": "own-host", "port": 1}}

    def test_a_later_template_wins_over_an_earlier_one(self, conf):
        conf.write(
            "base/a.yaml",
            """
            _a: {host: a-host, port: 1}
            _b: {host: b-host}
            db: {extends: [_a, _b]}
            """,
        )
        cfg = conf.load()
        assert cfg.as_dict() == {"db": {"host": "b-host", "port": 1}}
        assert [p.value for p in cfg.explain("db.host")] == ["b-host", "a-host"]

    def test_the_profile_changes_what_a_template_gives(self, conf):
        """Inheritance comes after the layers merge: a profile can edit a template."""
        conf.write("base/a.yaml", "_tpl: {host: base-host}\ndb: {extends: _tpl}\n")
        conf.write("prod/a.yaml", "_tpl: {host: prod-host}\n")
        assert conf.load("prod").get("db.host") == "prod-host"
