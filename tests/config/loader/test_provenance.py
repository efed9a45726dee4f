"""``explain``: file, line and layer of every value, the winner first."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigLoadError
from pysetl.utils.redaction import MASK


class TestExplain:
    def test_winner_first_then_what_it_overrode_with_files_and_lines(self, conf):
        base = conf.write(
            "base/catalog.yaml",
            """
            connectors:
              orders:
                storage: csv
                path: /data/orders.csv
            """,
        )
        prod = conf.write(
            "prod/catalog.toml",
            '# prod\n[connectors.orders]\npath = "s3://prod/orders.csv"\n',
        )
        origins = conf.load("prod").explain("connectors.orders.path")
        assert [(o.file, o.line, o.layer, o.value) for o in origins] == [
            (prod, 3, "prod", "s3://prod/orders.csv"),
            (base, 4, "base", "/data/orders.csv"),
        ]
        assert origins[0].describe() == f"{prod}:3 (prod)"

    def test_keys_that_are_not_overridden_have_one_origin(self, conf):
        path = conf.write("base/a.yaml", "db:\n  host: a\n  port: 1\n")
        (origin,) = conf.load().explain("db.port")
        assert (origin.file, origin.line, origin.layer) == (path, 3, "base")

    def test_mappings_have_provenance_too(self, conf):
        path = conf.write(
            "base/a.yaml",
            "x: 0\ndb:\n  host: a\n  password: pw-pw-pw\n  pool: {n: 1}\n",
        )
        (origin,) = conf.load().explain("db")
        assert (origin.file, origin.line) == (path, 2)
        assert origin.value == {"host": "a", "password": MASK, "pool": "{...}"}

    def test_an_environment_variable_is_named(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n")
        origins = conf.load(environ={"PYSETL_DB__HOST": "b"}).explain("db.host")
        assert origins[0].layer == "environ"
        assert origins[0].via == "PYSETL_DB__HOST"
        assert origins[0].file is None
        assert origins[0].describe() == "(environ) via PYSETL_DB__HOST"

    def test_environment_variables_match_keys_with_dots_and_dashes(self, conf):
        conf.write(
            "base/a.yaml",
            "spark:\n  spark.sql.shuffle.partitions: 4\nmy-db:\n  host: a\n",
        )
        cfg = conf.load(
            environ={
                "PYSETL_SPARK__SPARK_SQL_SHUFFLE_PARTITIONS": "8",
                "PYSETL_MY_DB__HOST": "b",
                "PYSETL_NEW__KEY": "c",
                "PYSETL_ENV_LIKE": "ignored (no __)",
                "PYSETL___BAD": "ignored (empty part)",
            }
        )
        assert cfg.get("spark.spark.sql.shuffle.partitions") == "8"
        assert cfg.get("my-db.host") == "b"
        assert cfg.get("new.key") == "c"
        assert "env_like" not in cfg

    def test_overrides_and_defaults_have_no_file(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        cfg = conf.load(overrides={"a": 2}, defaults={"a": 0, "b": 1})
        assert [(o.layer, o.file, o.value) for o in cfg.explain("a")] == [
            ("overrides", None, 2),
            ("base", conf.root / "base/a.yaml", 1),
            ("defaults", None, 0),
        ]
        assert cfg.explain("b")[0].describe() == "(defaults)"

    def test_inherited_values_point_at_the_template(self, conf):
        path = conf.write(
            "base/a.yaml",
            "_tpl:\n  host: t\n  port: 1\ndb:\n  extends: _tpl\n  port: 2\n",
        )
        cfg = conf.load()
        (host,) = cfg.explain("db.host")
        assert (host.file, host.line, host.via) == (path, 2, "extends _tpl")
        port = cfg.explain("db.port")
        assert [(o.line, o.value, o.via) for o in port] == [
            (6, 2, None),
            (3, 1, "extends _tpl"),
        ]

    def test_secret_values_are_masked(self, conf):
        conf.write("base/a.yaml", "db:\n  password: hunter2-hunter2\n")
        conf.write("prod/a.yaml", "db:\n  password: other-secret-9\n")
        values = [o.value for o in conf.load("prod").explain("db.password")]
        assert values == ["**********", "**********"]

    def test_a_deleted_key_cannot_be_explained(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n")
        conf.write("prod/a.yaml", "db:\n  host: __delete__\n")
        with pytest.raises(KeyError):
            conf.load("prod").explain("db.host")

    def test_an_unknown_key_raises_key_error(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        with pytest.raises(KeyError):
            conf.load().explain("nope")

    def test_locate_falls_back_to_the_nearest_ancestor(self, conf):
        path = conf.write("base/a.yaml", "db:\n  host: a\n")
        cfg = conf.load()
        assert cfg.locate(("db", "missing")).line == 1
        assert cfg.locate(("db", "missing")).file == path
        assert cfg.locate(("nothing",)) is None


class TestReplacedKeysLoseTheirProvenance:
    """Keys a higher layer replaced or deleted are not shown as overridden."""

    def test_a_replaced_mapping_forgets_its_old_children(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n  port: 1\n")
        prod = conf.write("prod/a.yaml", "db!:\n  host: b\n")
        cfg = conf.load("prod")
        assert cfg.locate(("db", "port")).file == prod  # the `db!` line, not base
        assert cfg.locate(("db", "port")).line == 1
        assert [o.value for o in cfg.explain("db.host")] == ["b"]

    def test_a_deleted_then_re_added_key_shows_only_the_new_children(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n")
        conf.write("prod/a.yaml", "db: __delete__\n")
        cfg = conf.load("prod", environ={"PYSETL_DB__HOST": "c"})
        assert [o.layer for o in cfg.explain("db.host")] == ["environ"]
        assert [o.layer for o in cfg.explain("db")] == ["environ", "prod", "base"]

    def test_a_scalar_over_a_mapping_forgets_its_children(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n")
        conf.write("prod/a.yaml", "db: null\n")
        cfg = conf.load("prod")
        assert cfg.locate(("db", "host")).layer == "prod"

    def test_a_problem_from_a_variable_names_the_variable(self, conf):
        from pydantic import BaseModel

        class Db(BaseModel):
            port: int

        conf.write("base/a.yaml", "db:\n  port: 1\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(environ={"PYSETL_DB__PORT": "lots"}).section("db", Db)
        (error,) = caught.value.errors
        assert (error["file"], error["line"], error["key"]) == (None, None, "db.port")
        assert error["msg"].endswith("(set by PYSETL_DB__PORT)")
