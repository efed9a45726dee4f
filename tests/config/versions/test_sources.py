"""The source files of a config version: masking, restoring; who is acting."""

from __future__ import annotations

import getpass
import os
import socket
import textwrap
from pathlib import Path

import pytest
import tomllib

from pysetl.config.versions import default_actor, mask_source, restore_sources
from pysetl.errors import ConfigError
from pysetl.utils.redaction import MASK


class TestMaskSource:
    def test_values_under_a_secret_mapping_are_masked_by_value(self):
        text = "credentials:\n  user: etl\n  pass: opensesame\n"
        assert mask_source(text, {"opensesame"}) == (
            f"credentials:\n  user: etl\n  pass: {MASK}\n"
        )

    def test_flags_and_blocks_under_secret_names_are_not_secrets(self):
        text = "use_token: true\ntoken_options:\n  ttl: 5\nsecret: ${env:S}\n"
        assert mask_source(text) == text

    def test_toml_pairs_are_masked_too(self):
        masked = mask_source('[db]\npassword = "hunter2-toml"\nhost = "h"\n')
        assert masked == f'[db]\npassword = "{MASK}"\nhost = "h"\n'

    def test_yaml_block_scalars_under_secret_names_are_masked(self):
        # overridden in another layer, so the resolved config does not hold it
        text = (
            "db:\n  password: |\n    canary-block-1\n    canary-block-2\n\n"
            "  user: etl\n- token: >-\n    canary-folded\nnotes: |\n  kept\n"
        )
        masked = mask_source(text)
        assert "canary" not in masked
        assert masked == (
            f"db:\n  password: |\n    {MASK}\n    {MASK}\n\n"
            f"  user: etl\n- token: >-\n    {MASK}\nnotes: |\n  kept\n"
        )

    def test_toml_multi_line_strings_under_secret_names_are_masked(self):
        text = textwrap.dedent(
            '''\
            [db]
            password = """
            canary-ml-1
            canary-ml-2"""
            user = "etl"
            api_key = \'\'\'
            canary-raw
            \'\'\'
            note = """
            kept"""
            '''
        )
        masked = mask_source(text)
        assert "canary" not in masked
        assert tomllib.loads(masked)["db"] == {
            "password": f"{MASK}\n\n",
            "user": "etl",
            "api_key": f"{MASK}\n\n",
            "note": "kept",
        }


class TestRestoreSources:
    def test_a_stored_path_outside_the_root_is_refused(self, tmp_path):
        with pytest.raises(ConfigError, match="outside the root"):
            restore_sources(
                {"prod/../../evil.yaml": "x: 1\n"}, tmp_path, ["prod"], label="v"
            )
        assert not (tmp_path.parent / "evil.yaml").exists()

    def test_only_files_the_loader_reads_are_removed(self, tmp_path: Path):
        """Hidden and non-config files of a restored layer stay as they are."""
        layer = tmp_path / "prod"
        layer.mkdir()
        for name in ("old.yaml", ".swap.yaml", "notes.txt", "kept.toml"):
            (layer / name).write_text("x: 1\n", encoding="utf-8")
        restored = restore_sources(
            {"prod/kept.toml": "x = 2\n"}, tmp_path, ["prod"], label="v"
        )
        assert restored.removed == ("prod/old.yaml",)
        assert restored.written == ("prod/kept.toml",)
        assert sorted(p.name for p in layer.iterdir()) == [
            ".swap.yaml",
            "kept.toml",
            "notes.txt",
        ]


class TestDefaultActor:
    def test_a_user_without_a_login_name_is_named_by_uid(self, monkeypatch):
        def no_user() -> str:
            raise KeyError("uid not found")

        monkeypatch.setattr(getpass, "getuser", no_user)
        assert default_actor() == f"uid{os.getuid()}@{socket.gethostname()}"
