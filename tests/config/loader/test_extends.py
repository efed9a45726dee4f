"""``extends:``: templates and inheritance, from config paths and files."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigLoadError


def _errors(conf, env=None):
    with pytest.raises(ConfigLoadError) as caught:
        conf.load(env)
    return caught.value.errors


class TestExtends:
    def test_a_mapping_inherits_a_template_deeply(self, conf):
        conf.write(
            "base/a.yaml",
            """
            _jdbc:
              url: jdbc:postgresql://db/shop
              options: {fetchsize: "100", ssl: "true"}
            connectors:
              orders:
                extends: _jdbc
                table: orders
                options: {ssl: "false"}
            """,
        )
        assert conf.load().as_dict() == {
            "connectors": {
                "orders": {
                    "url": "jdbc:postgresql://db/shop",
                    "options": {"fetchsize": "100", "ssl": "false"},
                    "table": "orders",
                }
            }
        }

    def test_templates_are_dropped_and_can_extend_templates(self, conf):
        conf.write(
            "base/a.yaml",
            "_a: {x: 1}\n_b: {extends: _a, y: 2}\nc: {extends: _b}\n",
        )
        assert conf.load().as_dict() == {"c": {"x": 1, "y": 2}}

    def test_a_non_template_mapping_can_be_extended_and_stays(self, conf):
        conf.write("base/a.yaml", "a: {x: 1}\nb: {extends: a, y: 2}\n")
        assert conf.load().as_dict() == {"a": {"x": 1}, "b": {"x": 1, "y": 2}}

    def test_a_nested_template_path(self, conf):
        conf.write(
            "base/a.yaml",
            "templates:\n  db: {port: 1}\nc: {extends: templates.db}\n",
        )
        assert conf.load().get("c.port") == 1

    def test_a_file_template_relative_to_the_file(self, conf):
        conf.write("templates/jdbc.yaml", "url: jdbc:x\nfetchsize: 10\n")
        conf.write(
            "base/a.yaml", "db: {extends: ../templates/jdbc.yaml, fetchsize: 5}\n"
        )
        cfg = conf.load()
        assert cfg.as_dict() == {"db": {"url": "jdbc:x", "fetchsize": 5}}
        (origin,) = cfg.explain("db.url")
        assert origin.file == conf.root / "base/../templates/jdbc.yaml"
        assert origin.line == 1

    def test_a_file_template_relative_to_the_root(self, conf):
        conf.write("templates/jdbc.toml", "url = 'jdbc:x'\n")
        conf.write("base/a.yaml", "db: {extends: templates/jdbc.toml}\n")
        assert conf.load().get("db.url") == "jdbc:x"

    def test_a_file_template_cannot_extend(self, conf):
        conf.write("t.yaml", "extends: other\nx: 1\n")
        conf.write("base/a.yaml", "db: {extends: t.yaml}\n")
        (error,) = _errors(conf)
        assert error["file"] == str(conf.root / "t.yaml")

    def test_a_file_template_cannot_extend_at_any_depth(self, conf):
        """A file extending itself from a nested mapping would grow forever."""
        path = conf.write("base/t.yaml", "a:\n  b:\n    extends: t.yaml\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        errors = [(e["file"], e["line"], e["key"]) for e in caught.value.errors]
        assert (str(path), 3, "a.b.extends") in errors

    def test_a_broken_file_template_is_reported(self, conf):
        conf.write("t.yaml", "x: [\n")
        conf.write("base/a.yaml", "db: {extends: t.yaml}\n")
        assert _errors(conf)[0]["type"] == "parse"

    def test_a_missing_file_template(self, conf):
        path = conf.write("base/a.yaml", "db:\n  extends: nope.yaml\n")
        (error,) = _errors(conf)
        assert (error["file"], error["line"], error["key"]) == (
            str(path),
            2,
            "db.extends",
        )

    def test_a_missing_template(self, conf):
        conf.write("base/a.yaml", "db:\n  extends: _nope\n")
        (error,) = _errors(conf)
        assert "no such key" in error["msg"]
        assert error["line"] == 2

    def test_a_cycle_is_an_error(self, conf):
        conf.write("base/a.yaml", "_a: {extends: _b}\n_b: {extends: _a}\n")
        (error,) = _errors(conf)
        assert "cycle" in error["msg"]

    def test_extending_an_ancestor_is_an_error(self, conf):
        conf.write("base/a.yaml", "a:\n  b:\n    extends: a\n")
        (error,) = _errors(conf)
        assert (error["key"], error["line"]) == ("a.b.extends", 3)

    def test_a_template_nesting_itself_is_a_cycle_not_an_endless_copy(self, conf):
        conf.write("base/a.yaml", "a: {extends: b}\nb:\n  c: {extends: b}\n")
        (error,) = _errors(conf)
        assert (error["key"], error["line"]) == ("b.c.extends", 3)

    def test_a_template_whose_children_inherit_is_copied_resolved(self, conf):
        conf.write(
            "base/a.yaml", "a: {extends: b}\nb:\n  c: {extends: _x}\n_x: {v: 1}\n"
        )
        assert conf.load().as_dict() == {"a": {"c": {"v": 1}}, "b": {"c": {"v": 1}}}

    def test_templates_doubling_at_every_level_are_stopped(self, conf):
        lines = ["_t0: {v: 1}"] + [
            f"_t{i}: {{a: {{extends: _t{i - 1}}}, b: {{extends: _t{i - 1}}}}}"
            for i in range(1, 40)
        ]
        conf.write("base/a.yaml", "\n".join([*lines, "x: {extends: _t39}"]) + "\n")
        errors = _errors(conf)
        assert "copies more than" in errors[0]["msg"]

    def test_a_template_that_is_not_a_mapping(self, conf):
        conf.write("base/a.yaml", "_t: 5\nc: {extends: _t}\n")
        assert "expected a mapping" in _errors(conf)[0]["msg"]

    @pytest.mark.parametrize("spec", ["5", "[_t, 3]", "''", "{a: 1}"])
    def test_extends_must_name_templates(self, conf, spec):
        conf.write("base/a.yaml", f"_t: {{x: 1}}\nc: {{extends: {spec}}}\n")
        assert "template name" in _errors(conf)[0]["msg"]

    def test_a_file_template_named_in_overrides_is_found_under_the_root(self, conf):
        conf.write("t.yaml", "x: 1\n")
        conf.write("base/a.yaml", "y: 2\n")
        cfg = conf.load(overrides={"db": {"extends": "t.yaml", "z": 3}})
        assert cfg.as_dict()["db"] == {"x": 1, "z": 3}
        assert cfg.explain("db.x")[0].layer == "overrides"


class TestMarkersWinOverInheritance:
    """``__delete__`` and ``key!:`` are not undone by ``extends:``."""

    def test_a_deleted_key_is_not_inherited_again(self, conf):
        conf.write(
            "base/a.yaml", "_t:\n  fetchsize: 1000\n  user: u\nw:\n  extends: _t\n"
        )
        conf.write("prod/a.yaml", "w:\n  fetchsize: __delete__\n")
        assert conf.load("prod").as_dict() == {"w": {"user": "u"}}
        assert conf.load().as_dict() == {"w": {"fetchsize": 1000, "user": "u"}}

    def test_a_replaced_mapping_inherits_nothing_under_it(self, conf):
        conf.write(
            "base/a.yaml",
            "_t:\n  opts:\n    a: 1\n    c: 3\n  user: u\nw:\n  extends: _t\n",
        )
        prod = conf.write("prod/a.yaml", "w:\n  opts!:\n    b: 2\n")
        cfg = conf.load("prod")
        assert cfg.as_dict() == {"w": {"user": "u", "opts": {"b": 2}}}
        assert [(o.file, o.line) for o in cfg.explain("w.opts")] == [(prod, 2)]
        with pytest.raises(KeyError):
            cfg.explain("w.opts.a")

    def test_markers_in_the_same_file_as_extends(self, conf):
        conf.write(
            "base/a.yaml",
            "_t:\n  opts: {a: 1}\n  size: 5\n"
            "w:\n  extends: _t\n  size: __delete__\n  opts!: {b: 2}\n",
        )
        assert conf.load().as_dict() == {"w": {"opts": {"b": 2}}}
