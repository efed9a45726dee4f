"""``ResolvedConfig``: read-only mapping, dotted access, masked view, version."""

from __future__ import annotations

import hashlib
import json

import pytest

from pysetl.config import ResolvedConfig
from pysetl.utils.redaction import MASK


class TestAccess:
    def test_it_is_a_read_only_mapping(self, conf):
        conf.write("base/a.yaml", "db: {host: a, tags: [x]}\nn: 1\n")
        cfg = conf.load()
        assert isinstance(cfg, ResolvedConfig)
        assert sorted(cfg) == ["db", "n"]
        assert len(cfg) == 2
        assert cfg["db"]["host"] == "a"
        with pytest.raises(TypeError):
            cfg["db"]["host"] = "b"  # type: ignore[index]
        assert cfg["db"]["tags"] == ("x",)

    def test_dotted_get_finds_keys_with_dots(self, conf):
        conf.write(
            "base/a.yaml",
            "spark:\n  spark.sql.shuffle.partitions: 4\n  spark: {x: 1}\n",
        )
        cfg = conf.load()
        assert cfg.get("spark.spark.sql.shuffle.partitions") == 4
        assert cfg.get("spark.spark.x") == 1
        assert cfg.get(("spark", "spark.sql.shuffle.partitions")) == 4

    def test_missing_keys(self, conf):
        conf.write("base/a.yaml", "a: {b: 1}\n")
        cfg = conf.load()
        assert cfg.get("a.c", None) is None
        assert cfg.get(("a", "c"), 5) == 5
        assert cfg.get("a.b.c", "d") == "d"
        assert cfg.get("nope") is None
        with pytest.raises(KeyError):
            cfg["nope"]

    def test_the_data_is_copied(self, conf):
        data = {"a": {"b": [1]}}
        cfg = ResolvedConfig(data, env=None, root=conf.root)
        data["a"]["b"].append(2)
        assert cfg.as_dict() == {"a": {"b": [1]}}
        cfg.as_dict()["a"]["b"].append(3)
        assert cfg.get("a.b") == (1,)

    def test_repr_shows_env_root_and_version(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        cfg = conf.load()
        assert repr(cfg) == (
            f"ResolvedConfig(env=None, root={str(conf.root)!r}, "
            f"version={cfg.version[:12]!r})"
        )


class TestMaskedView:
    def test_secret_named_keys_and_url_passwords_are_masked(self, conf):
        conf.write(
            "base/a.yaml",
            """
            db:
              password: hunter2-hunter2
              api_token: [t1, t2]
              url: postgresql://app:pw-in-url-1@db/shop
              partition_key: day
              note: null
            """,
        )
        cfg = conf.load()
        masked = cfg.as_dict()
        assert masked["db"]["password"] == MASK
        assert masked["db"]["api_token"] == ["**********", "**********"]
        assert "pw-in-url-1" not in masked["db"]["url"]
        assert masked["db"]["partition_key"] == "day"
        assert masked["db"]["note"] is None
        assert cfg.as_dict(masked=False)["db"]["password"] == "hunter2-hunter2"  # noqa: S105
        json.dumps(masked)

    def test_masking_ignores_secrets_registered_elsewhere(self, conf, redactor):
        """The version must not change because the process resolved some secret."""
        conf.write("base/a.yaml", "user: postgres-admin\n")
        before = conf.load().version
        redactor.register_secret("postgres-admin")
        assert conf.load().as_dict() == {"user": "postgres-admin"}
        assert conf.load().version == before


class TestVersion:
    def test_version_is_the_sha256_of_the_canonical_masked_json(self, conf):
        conf.write("base/a.yaml", "b: 1\na: {password: x-secret-x, c: é}\n")
        cfg = conf.load()
        canonical = json.dumps(
            cfg.as_dict(masked=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert cfg.version == hashlib.sha256(canonical.encode()).hexdigest()

    def test_same_content_same_version_whatever_the_files(self, conf, tmp_path):
        conf.write("base/a.yaml", "a: 1\nb: {c: 2}\n")
        other = tmp_path / "other"
        (other / "base").mkdir(parents=True)
        (other / "base" / "x.toml").write_text("[b]\nc = 2\n[z]\n", encoding="utf-8")
        (other / "base" / "y.yaml").write_text(
            "a: 1\nz: __delete__\n", encoding="utf-8"
        )
        from pysetl.config import load_config

        assert load_config(other, environ={}).version == conf.load().version

    def test_any_change_changes_the_version(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        first = conf.load().version
        conf.write("base/a.yaml", "a: 2\n")
        assert conf.load().version != first

    def test_secret_values_do_not_change_the_version(self, conf):
        conf.write("base/a.yaml", "pw: ${secret:env:PW}\n")
        one = conf.load(environ={"PW": "first-value"}).version
        two = conf.load(environ={"PW": "second-value"}).version
        assert one == two


class TestValuesFromCode:
    def test_enums_and_objects_given_in_code_are_shown_as_json(self, conf, tmp_path):
        from pysetl.enums import FileStorage

        conf.write("base/a.yaml", "a: 1\n")
        cfg = conf.load(overrides={"storage": FileStorage.CSV, "where": tmp_path})
        assert cfg.as_dict() == {"a": 1, "storage": "csv", "where": str(tmp_path)}
        assert cfg.get("storage") is FileStorage.CSV
        json.dumps(cfg.as_dict())

    def test_nested_keys_given_in_code_must_be_strings(self, conf):
        from pysetl.errors import ConfigLoadError

        conf.write("base/a.yaml", "a: 1\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(defaults={"db": {"ok": 1, 2: "x", "": 3}})
        assert [e["key"] for e in caught.value.errors] == ["db.2", "db.''"]
