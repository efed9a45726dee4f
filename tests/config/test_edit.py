"""``pysetl.config.edit``: one value of a YAML or TOML file set in place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pysetl.config.edit import read_file_value, set_file_value
from pysetl.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class TestFileEdit:
    def test_read_errors_are_config_errors(self, tmp_path):
        with pytest.raises(ConfigError, match="Cannot read the config file"):
            read_file_value(tmp_path / "none.yaml", "a")
        bad = write(tmp_path / "bad.yaml", "a: [unclosed\n")
        with pytest.raises(ConfigError, match="Cannot parse the config file"):
            read_file_value(bad, "a")
        flat = write(tmp_path / "flat.yaml", "a: 1\n")
        with pytest.raises(ConfigError, match=r"has no key 'a\.b'"):
            read_file_value(flat, "a.b")

    def test_yaml_nesting_lists_and_quoted_keys(self, tmp_path):
        path = write(
            tmp_path / "a.yaml",
            """\
            a:
              hosts:
                - b: not-this
              "b": 1
            c:
              b: 2
            """,
        )
        set_file_value(path, "a.b", "new")
        assert read_file_value(path, "a.b") == "new"
        assert read_file_value(path, "c.b") == 2
        assert read_file_value(path, "a.hosts") == [{"b": "not-this"}]

    def test_toml_tables_and_dotted_keys(self, tmp_path):
        path = write(tmp_path / "a.toml", 'x = 1\n[db]\npool.size = 5\n"user" = "u"\n')
        set_file_value(path, "db.pool.size", "enc:abc")
        set_file_value(path, "db.user", "v")
        assert read_file_value(path, "db.pool.size") == "enc:abc"
        assert read_file_value(path, "db.user") == "v"
        assert read_file_value(path, "x") == 1
        with pytest.raises(ConfigError, match=r"holds the key 'db\.nope'"):
            set_file_value(path, "db.nope", "v")

    def test_a_value_that_does_not_read_back_leaves_the_file_unchanged(self, tmp_path):
        text = "a:\n  b: |\n    line one\n    line two\n"
        path = write(tmp_path / "a.yaml", text)
        with pytest.raises(ConfigError, match="not a plain value"):
            set_file_value(path, "a.b", "enc:x")
        assert path.read_text() == text
