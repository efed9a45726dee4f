"""``pysetl.config.layers``: the files of a layer, listed in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysetl.config.layers import (
    SUFFIXES,
    config_files,
    environments,
    is_layer_file_name,
    layer_files,
    write_atomically,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x: 1\n", encoding="utf-8")
    return path


class TestLayerFiles:
    def test_config_files_of_a_layer_in_merge_order(self, tmp_path):
        for name in ("b.yml", "a.yaml", "c.toml", "notes.txt", "d.json"):
            touch(tmp_path / "base" / name)
        names = [p.name for p in layer_files(tmp_path / "base")]
        assert names == ["a.yaml", "b.yml", "c.toml"]

    def test_hidden_files_and_folders_are_not_config_files(self, tmp_path):
        """Editor swap files and the key file are not part of the config."""
        touch(tmp_path / "base" / ".swap.yaml")
        (tmp_path / "base" / "dir.yaml").mkdir()
        touch(tmp_path / "base" / "app.yaml")
        assert layer_files(tmp_path / "base") == [tmp_path / "base" / "app.yaml"]

    def test_a_missing_layer_has_no_files(self, tmp_path):
        assert layer_files(tmp_path / "nope") == []

    def test_config_files_lists_base_then_the_env(self, tmp_path):
        touch(tmp_path / "prod" / "a.yaml")
        touch(tmp_path / "base" / "z.yaml")
        touch(tmp_path / "dev" / "a.yaml")
        assert config_files(tmp_path, "prod") == [
            tmp_path / "base" / "z.yaml",
            tmp_path / "prod" / "a.yaml",
        ]
        assert config_files(tmp_path, None) == [tmp_path / "base" / "z.yaml"]

    @pytest.mark.parametrize(
        ("name", "wanted"),
        [
            ("a.yaml", True),
            ("a.yml", True),
            ("a.toml", True),
            (".a.yaml", False),
            ("a.json", False),
            ("yaml", False),
            ("a.yaml.bak", False),
        ],
    )
    def test_is_layer_file_name(self, name, wanted):
        assert is_layer_file_name(name) is wanted

    def test_the_suffixes(self):
        assert SUFFIXES == (".yaml", ".yml", ".toml")


class TestEnvironments:
    def test_visible_folders_but_base(self, tmp_path):
        for name in ("base", "prod", "dev", ".git"):
            (tmp_path / name).mkdir()
        touch(tmp_path / "file.yaml")
        assert environments(tmp_path) == ["dev", "prod"]
        assert environments(tmp_path, with_base=True) == ["base", "dev", "prod"]

    def test_a_missing_root_has_none(self, tmp_path):
        assert environments(tmp_path / "nope") == []


class TestWriteAtomically:
    def test_a_failed_write_leaves_no_temporary_file(self, tmp_path):
        target = tmp_path / "dir.yaml"
        target.mkdir()
        with pytest.raises(OSError):
            write_atomically(target, "x: 1\n")
        assert [p.name for p in tmp_path.iterdir()] == ["dir.yaml"]

    def test_keeps_the_mode_and_a_new_file_is_private(self, tmp_path):
        old = touch(tmp_path / "old.yaml")
        old.chmod(0o640)
        write_atomically(old, "y: 2\n")
        assert old.read_text() == "y: 2\n"
        assert old.stat().st_mode & 0o777 == 0o640
        new = tmp_path / "sub" / "new.yaml"
        write_atomically(new, "z: 3\n")
        assert new.stat().st_mode & 0o777 == 0o600
