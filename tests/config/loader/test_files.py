"""Reading files: the layout, safe type conversion, parse errors with lines."""

from __future__ import annotations

import pytest

from pysetl.config._files import ParsedFile, read_config_file
from pysetl.errors import ConfigLoadError


def _errors(conf, env=None):
    with pytest.raises(ConfigLoadError) as caught:
        conf.load(env)
    return caught.value.errors


class TestLayout:
    def test_base_only_without_an_environment(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        conf.write("prod/a.yaml", "a: 2\n")
        cfg = conf.load()
        assert (cfg.env, cfg.get("a")) == (None, 1)
        assert cfg.files == ((("base", conf.root / "base/a.yaml")),)

    def test_the_environment_comes_from_pysetl_env(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        conf.write("dev/a.yml", "a: 2\n")
        cfg = conf.load(environ={"PYSETL_ENV": "dev"})
        assert (cfg.env, cfg.get("a")) == ("dev", 2)
        assert cfg.files[-1] == ("dev", conf.root / "dev/a.yml")

    def test_other_files_and_hidden_files_are_ignored(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        conf.write("base/README.md", "# not config\n")
        conf.write("base/.#a.yaml", "garbage: [\n")
        conf.write("base/sub/b.yaml", "b: 1\n")
        assert conf.load().as_dict() == {"a": 1}

    def test_an_empty_file_is_an_empty_mapping(self, conf):
        conf.write("base/a.yaml", "")
        conf.write("base/b.yaml", "# only a comment\n")
        assert conf.load().as_dict() == {}

    def test_a_missing_root_is_an_error_naming_it(self, tmp_path):
        from pysetl.config.loader import load_config

        with pytest.raises(ConfigLoadError) as caught:
            load_config(tmp_path / "nope", environ={})
        assert caught.value.errors[0]["file"] == str(tmp_path / "nope")

    def test_a_missing_environment_lists_the_known_ones(self, conf):
        conf.write("dev/a.yaml", "a: 1\n")
        (conf.root / ".git").mkdir()
        (error,) = _errors(conf, "prdo")
        assert error["file"] == str(conf.root / "prdo")
        assert "known: ['dev']" in error["msg"]

    @pytest.mark.parametrize("env", ["base", "environ", "../x", ".."])
    def test_reserved_or_path_like_environment_names_are_refused(self, conf, env):
        (error,) = _errors(conf, env)
        assert error["type"] == "bad_env"


class TestTypes:
    def test_yaml_uses_the_core_schema(self, conf):
        conf.write(
            "base/a.yaml",
            """
            norway: no
            yes_word: yes
            on_word: on
            true_word: true
            false_caps: FALSE
            octal_looking: 012
            octal: 0o17
            hexa: 0x1f
            underscored: 1_000
            sexagesimal: 1:20
            float: 1.5e3
            infinity: -.inf
            date: 2024-01-31
            null_word: null
            tilde: ~
            """,
        )
        assert conf.load().as_dict() == {
            "norway": "no",
            "yes_word": "yes",
            "on_word": "on",
            "true_word": True,
            "false_caps": False,
            "octal_looking": 12,
            "octal": 15,
            "hexa": 31,
            "underscored": "1_000",
            "sexagesimal": "1:20",
            "float": 1500.0,
            "infinity": float("-inf"),
            "date": "2024-01-31",
            "null_word": None,
            "tilde": None,
        }

    def test_toml_dates_become_iso_strings(self, conf):
        conf.write("base/a.toml", "day = 2024-01-31\nat = 2024-01-31T10:00:00Z\n")
        assert conf.load().as_dict() == {
            "day": "2024-01-31",
            "at": "2024-01-31T10:00:00+00:00",
        }

    def test_yaml_binary_and_sets_are_refused(self, conf):
        conf.write("base/a.yaml", "a: !!binary aGVsbG8=\nb: !!set {x: null}\n")
        errors = _errors(conf)
        assert [(e["key"], e["line"]) for e in errors] == [("a", 1), ("b", 2)]

    def test_non_string_keys_are_refused(self, conf):
        conf.write("base/a.yaml", "db:\n  1: x\n")
        (error,) = _errors(conf)
        assert (error["key"], error["line"], error["type"]) == ("db", 2, "key_type")


class TestParseErrors:
    def test_yaml_syntax_error_has_file_and_line(self, conf):
        path = conf.write("base/a.yaml", "a: 1\nb: [1, 2\nc: 3\n")
        (error,) = _errors(conf)
        assert error["file"] == str(path)
        assert error["line"] == 3
        assert error["type"] == "parse"

    def test_toml_syntax_error_has_file_and_line(self, conf):
        path = conf.write("base/a.toml", "a = 1\nb = \n")
        (error,) = _errors(conf)
        assert (error["file"], error["line"]) == (str(path), 2)

    def test_a_top_level_list_is_refused(self, conf):
        conf.write("base/a.yaml", "- 1\n- 2\n")
        (error,) = _errors(conf)
        assert error["type"] == "not_a_mapping"

    def test_a_key_written_twice_is_refused(self, conf):
        conf.write("base/a.yaml", "db:\n  host: a\n  host: b\n")
        (error,) = _errors(conf)
        assert (error["key"], error["line"]) == ("db.host", 3)

    def test_bytes_that_are_not_utf8(self, conf):
        (conf.root / "base/a.yaml").write_bytes(b"a: \xff\xfe\n")
        (error,) = _errors(conf)
        assert error["type"] == "read"

    def test_a_recursive_anchor_is_refused(self, conf):
        conf.write("base/a.yaml", "a: &x [*x]\n")
        (error,) = _errors(conf)
        assert error["type"] == "too_large"

    def test_an_explicit_tag_that_cannot_convert(self, conf):
        conf.write("base/a.yaml", "a: !!int abc\n")
        assert _errors(conf)[0]["type"] == "parse"

    def test_every_broken_file_is_reported_at_once(self, conf):
        conf.write("base/a.yaml", "a: [\n")
        conf.write("base/b.toml", "b = \n")
        conf.write("prod/c.yaml", "- x\n")
        errors = _errors(conf, "prod")
        assert [e["file"].rsplit("/", 1)[1] for e in errors] == [
            "a.yaml",
            "b.toml",
            "c.yaml",
        ]


class TestTomlLines:
    def test_tables_dotted_and_quoted_keys_have_lines(self, tmp_path):
        path = tmp_path / "a.toml"
        path.write_text(
            'top = 1\n[a.b]\nc = 2\n"d.e" = 3\nf.g = 4\n[[rows]]\nq = 1\n',
            encoding="utf-8",
        )
        parsed = read_config_file(path)
        assert parsed.lines == {
            ("top",): 1,
            ("a",): 2,  # implicit parents start where they are first named
            ("a", "b"): 2,
            ("a", "b", "c"): 3,
            ("a", "b", "d.e"): 4,
            ("a", "b", "f"): 5,
            ("a", "b", "f", "g"): 5,
            ("rows",): 6,
            ("rows", "q"): 7,
        }
        assert parsed.line_of(("a", "b", "zz")) == 2
        assert ParsedFile(path).line_of(("x",)) is None

    def test_lines_inside_multi_line_strings_are_not_keys(self, tmp_path):
        path = tmp_path / "a.toml"
        path.write_text(
            '[s]\ntext = """\nafter = 99\n[fake]\n"""\n'
            "raw = '''\nafter = 98\n'''\n"
            'one = """x = 1"""\nafter = 4\n',
            encoding="utf-8",
        )
        parsed = read_config_file(path)
        assert parsed.data == {
            "s": {
                "text": "after = 99\n[fake]\n",
                "raw": "after = 98\n",
                "one": "x = 1",
                "after": 4,
            }
        }
        assert parsed.lines == {
            ("s",): 1,
            ("s", "text"): 2,
            ("s", "raw"): 6,
            ("s", "one"): 9,
            ("s", "after"): 10,
        }


class TestEdgeCases:
    def test_a_file_that_vanished_before_reading(self, tmp_path):
        parsed = read_config_file(tmp_path / "gone.yaml")
        (problem,) = parsed.problems
        assert problem.type == "read"
        assert problem.file == tmp_path / "gone.yaml"

    def test_bool_tag_on_a_word_that_is_not_a_boolean(self, conf):
        conf.write("base/a.yaml", "a: 1\nb: !!bool maybe\n")
        (error,) = _errors(conf)
        assert (error["line"], error["type"]) == (2, "parse")

    def test_nan_is_a_float(self, conf):
        import math

        conf.write("base/a.yaml", "a: .nan\nb: .inf\n")
        cfg = conf.load()
        assert math.isnan(cfg.get("a"))
        assert cfg.get("b") == float("inf")
        assert len(cfg.version) == 64

    def test_a_control_character_is_located(self, conf):
        conf.write("base/a.yaml", "a: 1\nb: x\x07\n")
        (error,) = _errors(conf)
        assert (error["line"], error["type"]) == (2, "parse")

    def test_absurd_nesting_is_refused(self, conf):
        conf.write("base/a.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n")
        (error,) = _errors(conf)
        assert error["type"] in {"parse", "too_large"}

    def test_deep_mappings_are_refused(self, conf):
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(120)) + "  " * 120 + "x: 1\n"
        conf.write("base/a.yaml", text)
        (error,) = _errors(conf)
        assert error["type"] == "too_large"
        assert error["line"] is not None

    def test_an_unknown_tag_is_located(self, conf):
        conf.write("base/a.yaml", "a: 1\nb: !custom x\n")
        (error,) = _errors(conf)
        assert (error["line"], error["type"]) == (2, "parse")


class TestPurePythonParser:
    """Without libyaml, pyyaml's own parser gives the same results and lines."""

    @pytest.fixture(autouse=True)
    def _pure(self, monkeypatch):
        import yaml

        monkeypatch.setattr(yaml, "CSafeLoader", None, raising=False)

    def test_values_and_lines(self, conf):
        path = conf.write("base/a.yaml", "db:\n  host: a\n  port: 012\n  ok: yes\n")
        cfg = conf.load()
        assert cfg.as_dict() == {"db": {"host": "a", "port": 12, "ok": "yes"}}
        assert cfg.explain("db.port")[0].line == 3
        assert cfg.explain("db.port")[0].file == path

    def test_a_control_character_is_located(self, conf):
        conf.write("base/a.yaml", "a: 1\nb: x\x07\n")
        (error,) = _errors(conf)
        assert (error["line"], error["type"]) == (2, "parse")

    def test_absurd_nesting_is_refused(self, conf):
        conf.write("base/a.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n")
        (error,) = _errors(conf)
        assert error["type"] == "parse"
        assert "nested too deeply" in error["msg"]
