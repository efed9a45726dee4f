"""``ConfigStore`` over the ``ConfigVersionStorage`` protocol alone.

The full behaviour is tested over every run history store in
``tests/monitoring/history/test_config_store.py``; here a plain dict-backed
storage shows that the protocol is all ``ConfigStore`` needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pysetl.config.diff import ConfigChange
from pysetl.config.loader import load_config
from pysetl.config.versions import ConfigStore, ConfigVersionStorage, diff_versions
from pysetl.errors import RunHistoryError
from pysetl.utils.paging import Page


class DictStorage:
    """The smallest ``ConfigVersionStorage``: lists in a dict, one page only."""

    url = "dict://"

    def __init__(self) -> None:
        self.content: dict[str, str] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {"versions": [], "audit": []}

    def save_config_version(self, row: Mapping[str, Any], content: str) -> None:
        self.content.setdefault(row["hash"], content)
        for old in self.rows["versions"]:
            if (old["env"], old["hash"]) == (row["env"], row["hash"]):
                return
        self.rows["versions"].append({**row, "id": len(self.rows["versions"]) + 1})

    def find_config_versions(
        self, prefix: str, env: str | None
    ) -> list[dict[str, Any]]:
        return [
            r
            for r in self.rows["versions"]
            if r["hash"].startswith(prefix) and env in {None, r["env"]}
        ]

    def config_version_content(self, digest: str) -> str | None:
        return self.content.get(digest)

    def add_config_audit(self, row: Mapping[str, Any]) -> int:
        self.rows["audit"].append({**row, "id": len(self.rows["audit"]) + 1})
        return len(self.rows["audit"])

    def _page(self, kind: str, env: str | None, limit: int) -> Page[dict[str, Any]]:
        rows = [r for r in reversed(self.rows[kind]) if env in {None, r["env"]}]
        return Page(tuple(rows[:limit]), None)

    def list_config_versions(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        assert cursor is None
        return self._page("versions", env, limit)

    def list_config_audit(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        assert cursor is None
        return self._page("audit", env, limit)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    (tmp_path / "dev").mkdir()
    (tmp_path / "base" / "app.yaml").write_text("app:\n  threads: 2\n")
    (tmp_path / "dev" / "app.yaml").write_text("app:\n  threads: 1\n")
    return tmp_path


class TestOverTheProtocol:
    def test_a_dict_storage_is_a_config_version_storage(self):
        assert isinstance(DictStorage(), ConfigVersionStorage)
        assert not isinstance(object(), ConfigVersionStorage)

    def test_versions_and_changes_are_recorded_and_read_back(self, conf):
        store = ConfigStore(DictStorage())
        first = store.record_change(load_config(conf, "dev"))
        (conf / "dev" / "app.yaml").write_text("app:\n  threads: 4\n")
        second = store.record_change(load_config(conf, "dev"))
        assert first != second
        assert store.get_version(second[:8], env="dev").config["app"]["threads"] == 4
        assert [v.hash for v in store.list_versions(env="dev").items] == [
            second,
            first,
        ]
        (entry,) = store.list_audit().items
        assert (entry.action, entry.old_hash, entry.new_hash) == (
            "record",
            first,
            second,
        )

    def test_versions_are_diffed_with_each_other_or_the_current_files(self, conf):
        store = ConfigStore(DictStorage())
        first = store.record_version(load_config(conf, "dev"))
        (conf / "dev" / "app.yaml").write_text("app:\n  threads: 4\n")
        second = store.record_version(load_config(conf, "dev"))
        (conf / "dev" / "app.yaml").write_text("app:\n  threads: 6\n")
        change = ConfigChange("app.threads", "changed", 1, 4)
        found = diff_versions(store, first, second, current=pytest.fail)
        assert (found.old.hash, found.new_name, found.changes) == (
            first,
            second[:12],
            (change,),
        )
        envs = []
        now = diff_versions(
            store, first, current=lambda env: envs.append(env) or load_config(conf, env)
        )
        assert envs == ["dev"]
        assert now.new_name == "current files"
        assert now.changes == (ConfigChange("app.threads", "changed", 1, 6),)

    def test_an_unknown_version_names_the_storage(self):
        with pytest.raises(RunHistoryError, match="dict://"):
            ConfigStore(DictStorage()).get_version("abcd")

    def test_anything_else_is_refused(self):
        with pytest.raises(RunHistoryError, match="cannot store config versions"):
            ConfigStore(object())
