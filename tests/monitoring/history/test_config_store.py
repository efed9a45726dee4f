"""``ConfigStore``: config versions, audit and rollback, on every store.

The logic lives in ``pysetl.config.versions``; these tests run it over every
store of the run history (each implements ``ConfigVersionStorage``). The
tests of the source files alone are in ``tests/config/versions``.
"""

from __future__ import annotations

import getpass
import socket
import textwrap
from pathlib import Path

import pytest
from typing_extensions import Self

from pysetl.config.crypto import ConfigCipher
from pysetl.config.diff import ConfigChange
from pysetl.config.loader import load_config
from pysetl.config.profiles import ResolvedConfig
from pysetl.config.versions import default_actor
from pysetl.errors import ConfigError, RunHistoryError
from pysetl.monitoring.history import (
    ConfigAuditSubscriber,
    ConfigStore,
    InMemoryRunHistory,
    recorder_for_config,
    rollback_config,
)
from pysetl.utils.redaction import MASK

BASE = """\
app:
  name: shop
  threads: 2
db:
  host: localhost
  user: etl
  password: ${secret:env:SHOP_DB_PASSWORD}
"""
PROD = """\
app:
  threads: 8
db:
  host: db.prod.internal
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    root = tmp_path / "conf"
    write(root / "base" / "app.yaml", BASE)
    write(root / "prod" / "app.yaml", PROD)
    write(root / "dev" / "app.yaml", "app:\n  threads: 1\n")
    return root


@pytest.fixture
def store(history) -> ConfigStore:
    return ConfigStore(history)


@pytest.fixture(scope="module")
def cipher() -> ConfigCipher:
    return ConfigCipher([ConfigCipher.generate_key()])


class TestVersions:
    def test_a_version_holds_the_masked_config_and_the_sources(self, store, conf):
        resolved = load_config(conf, "prod")
        digest = store.record_version(resolved, actor="ana@laptop")
        assert digest == resolved.version
        version = store.get_version(digest[:8])
        assert version.hash == digest
        assert version.env == "prod"
        assert version.actor == "ana@laptop"
        assert version.root == str(conf)
        assert version.config == resolved.as_dict(masked=True)
        assert version.config["db"]["password"] == MASK
        assert version.sources == {"base/app.yaml": BASE, "prod/app.yaml": PROD}
        assert version.restorable
        assert version.short == digest[:12]

    def test_recording_again_keeps_one_version_per_env_and_hash(self, store, conf):
        resolved = load_config(conf, "prod")
        store.record_version(resolved)
        store.record_version(resolved)
        assert len(store.list_versions(env="prod").items) == 1

    def test_the_actor_defaults_to_user_at_host(self, store, conf):
        store.record_version(load_config(conf, "dev"))
        (version,) = store.list_versions().items
        assert version.actor == f"{getpass.getuser()}@{socket.gethostname()}"
        assert default_actor() == version.actor

    def test_versions_are_listed_newest_first_by_env_and_paged(self, store, conf):
        prod_file = conf / "prod" / "app.yaml"
        hashes = []
        for threads in (8, 9, 10):
            write(prod_file, PROD.replace("8", str(threads)))
            hashes.append(store.record_version(load_config(conf, "prod")))
        store.record_version(load_config(conf, "dev"))
        first = store.list_versions(env="prod", limit=2)
        assert [v.hash for v in first.items] == hashes[:0:-1]
        assert first.next_cursor is not None
        second = store.list_versions(env="prod", limit=2, cursor=first.next_cursor)
        assert [v.hash for v in second.items] == [hashes[0]]
        assert second.next_cursor is None
        assert len(store.list_versions().items) == 4
        assert [v.env for v in store.list_versions(env="dev").items] == ["dev"]

    def test_one_hash_recorded_for_two_envs_is_found_per_env(self, store, tmp_path):
        root = tmp_path / "same"
        write(root / "base" / "a.yaml", "x: 1\n")
        write(root / "qa" / "a.yaml", "x: 2\n")
        write(root / "uat" / "a.yaml", "x: 2\n")
        qa, uat = load_config(root, "qa"), load_config(root, "uat")
        assert qa.version == uat.version
        store.record_version(qa)
        store.record_version(uat)
        assert store.get_version(qa.version, env="qa").sources["qa/a.yaml"] == "x: 2\n"
        assert store.get_version(qa.version).env == "uat"  # the latest record

    def test_an_unknown_or_malformed_version_is_an_error_with_a_hint(self, store):
        with pytest.raises(RunHistoryError, match="No config version") as info:
            store.get_version("abcd")
        assert "pysetl config history" in info.value.hint
        with pytest.raises(RunHistoryError, match="not a config version"):
            store.get_version("xyz!")
        with pytest.raises(RunHistoryError, match="not a config version"):
            store.get_version("abc")  # too short

    def test_an_ambiguous_prefix_names_the_candidates(self, store, tmp_path):
        seen: dict[str, ResolvedConfig] = {}
        for n in range(5000):
            resolved = ResolvedConfig({"n": n}, env="qa", root=tmp_path)
            other = seen.setdefault(resolved.version[:4], resolved)
            if other is not resolved:
                break
        store.record_version(other)
        store.record_version(resolved)
        with pytest.raises(RunHistoryError, match="ambiguous") as info:
            store.get_version(resolved.version[:4])
        assert other.version[:12] in info.value.message
        assert store.get_version(resolved.version[:12]).hash == resolved.version

    def test_a_restorable_record_replaces_a_masked_one_of_the_same_hash(
        self, store, conf, cipher
    ):
        write(conf / "prod" / "app.yaml", PROD + "  password: hunter2-literal\n")
        resolved = load_config(conf, "prod")
        store.record_version(resolved)
        assert not store.get_version(resolved.version).restorable
        enc = cipher.encrypt("hunter2-literal")
        write(conf / "prod" / "app.yaml", PROD + f"  password: {enc}\n")
        again = load_config(conf, "prod", cipher=cipher)
        assert again.version == resolved.version  # both mask to **********
        store.record_version(again)
        version = store.get_version(resolved.version)
        assert version.restorable
        assert enc in version.sources["prod/app.yaml"]
        rotated = cipher.rotate(enc)
        write(conf / "prod" / "app.yaml", PROD + f"  password: {rotated}\n")
        store.record_version(load_config(conf, "prod", cipher=cipher))
        assert rotated in store.get_version(resolved.version).sources["prod/app.yaml"]
        write(conf / "prod" / "app.yaml", PROD + "  password: hunter2-again\n")
        store.record_version(load_config(conf, "prod"))
        assert store.get_version(resolved.version).restorable  # masked: not kept

    def test_the_same_files_recorded_again_are_not_masked_again(
        self, store, conf, monkeypatch
    ):
        """A session records its config at each start: unchanged, it is checked only."""
        from pysetl.config.versions import _store

        reads: list[str] = []

        def counted(resolved):
            reads.append(resolved.env)
            return real(resolved)

        real = _store.read_sources
        monkeypatch.setattr(_store, "read_sources", counted)
        write(conf / "prod" / "app.yaml", PROD + "# note a\n")
        resolved = load_config(conf, "prod")
        store.record_version(resolved)
        store.record_version(load_config(conf, "prod"))
        assert reads == ["prod"]
        # a comment changed: the same config (hash), the same size, within
        # the same clock tick: only the contents tell the files apart
        write(conf / "prod" / "app.yaml", PROD + "# note b\n")
        changed = load_config(conf, "prod")
        assert changed.version == resolved.version
        store.record_version(changed)
        assert reads == ["prod", "prod"]
        assert "# note b" in store.get_version(changed.version).sources["prod/app.yaml"]
        # another store of the same files has nothing yet: written in full
        fresh = ConfigStore(InMemoryRunHistory())
        fresh.record_version(changed)
        assert reads == ["prod", "prod", "prod"]
        assert fresh.get_version(changed.version).hash == changed.version

    def test_the_store_needs_a_store_with_tables(self):
        with pytest.raises(RunHistoryError, match="cannot store config versions"):
            ConfigStore("not a store")


class TestMaskedSources:
    def test_literal_secrets_are_masked_and_references_kept(self, store, conf, cipher):
        token = cipher.encrypt("api-token-value")
        write(
            conf / "prod" / "app.yaml",
            """\
            db:
              host: db.prod.internal
              password: hunter2-literal
              url: postgresql://etl:pw-in-url@db/shop
              dsn: postgresql://etl:${secret:env:PG_PW}@db/shop
              token: TOKEN
            """.replace("TOKEN", token),
        )
        resolved = load_config(conf, "prod", environ={"PG_PW": "x"}, cipher=cipher)
        store.record_version(resolved)
        version = store.get_version(resolved.version)
        text = version.sources["prod/app.yaml"]
        assert "hunter2-literal" not in text
        assert "pw-in-url" not in text
        assert "${secret:env:PG_PW}" in text
        assert token in text
        assert "${secret:env:SHOP_DB_PASSWORD}" in version.sources["base/app.yaml"]
        assert not version.restorable


class TestAudit:
    def test_an_entry_records_who_when_what_masked(self, store):
        entry = store.record_audit(
            "prod",
            "rollback",
            old_hash="a" * 64,
            new_hash="b" * 64,
            changes=[
                ConfigChange("db.password", "changed", "old-pw-1", "new-pw-2"),
                ConfigChange("app.threads", "changed", 2, 8),
            ],
            note="token=abcdef123456 in the note",
        )
        (listed,) = store.list_audit().items
        assert listed == entry
        assert entry.id >= 1
        assert entry.actor == default_actor()
        assert entry.changes == (
            ConfigChange("db.password", "changed", MASK, MASK),
            ConfigChange("app.threads", "changed", 2, 8),
        )
        assert entry.note == f"token={MASK} in the note"

    def test_entries_are_listed_newest_first_by_env_and_paged(self, store):
        for n in range(3):
            store.record_audit("prod", f"a{n}")
        store.record_audit("dev", "d")
        first = store.list_audit(env="prod", limit=2)
        assert [e.action for e in first.items] == ["a2", "a1"]
        second = store.list_audit(env="prod", limit=2, cursor=first.next_cursor)
        assert [e.action for e in second.items] == ["a0"]
        assert second.next_cursor is None
        assert [e.env for e in store.list_audit(limit=1).items] == ["dev"]

    def test_a_reload_subscriber_records_the_new_version_and_the_change(
        self, store, conf
    ):
        old = load_config(conf, "prod")
        write(conf / "prod" / "app.yaml", PROD.replace("8", "16"))
        new = load_config(conf, "prod")
        subscriber = ConfigAuditSubscriber(store, actor="watcher@host")
        subscriber(old, new)
        subscriber(new, new)  # no change: nothing recorded
        (entry,) = store.list_audit(env="prod").items
        assert (entry.action, entry.old_hash, entry.new_hash) == (
            "reload",
            old.version,
            new.version,
        )
        assert entry.changes == (ConfigChange("app.threads", "changed", 8, 16),)
        assert entry.actor == "watcher@host"
        assert store.get_version(new.version).env == "prod"


class TestRollback:
    def test_a_rollback_restores_the_env_files_and_is_audited(self, store, conf):
        prod_file = conf / "prod" / "app.yaml"
        v1 = store.record_version(load_config(conf, "prod"))
        write(prod_file, PROD.replace("8", "32"))
        extra = write(conf / "prod" / "extra.yaml", "feature: on\n")
        v2 = store.record_version(load_config(conf, "prod"))

        def load():
            return load_config(conf, "prod")

        result = rollback_config(store, v1[:10], root=conf, env="prod", load=load)
        assert prod_file.read_text() == PROD
        assert not extra.exists()
        assert result.files.written == ("prod/app.yaml",)
        assert result.files.removed == ("prod/extra.yaml",)
        assert (result.old_hash, result.new_hash) == (v2, v1)
        assert result.exact
        assert result.audit.action == "rollback"
        assert result.audit.note == f"rollback to {v1[:12]}"
        assert ConfigChange("app.threads", "changed", 32, 8) in result.changes
        assert store.list_audit(env="prod").items == (result.audit,)

    def test_hidden_files_the_loader_ignores_are_left_alone(self, store, conf):
        v1 = store.record_version(load_config(conf, "prod"))
        hidden = write(conf / "prod" / ".local.yaml", "mine: 1\n")
        extra = write(conf / "prod" / "extra.yaml", "feature: on\n")
        result = rollback_config(
            store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
        )
        assert result.files.removed == ("prod/extra.yaml",)
        assert not extra.exists()
        assert hidden.read_text() == "mine: 1\n"

    def test_the_config_before_a_rollback_is_kept_as_a_version(self, store, conf):
        v1 = store.record_version(load_config(conf, "prod"))
        write(conf / "prod" / "app.yaml", PROD.replace("8", "64"))
        unrecorded = load_config(conf, "prod").version
        result = rollback_config(
            store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
        )
        assert result.old_hash == unrecorded
        assert "64" in store.get_version(unrecorded).sources["prod/app.yaml"]

    def test_a_broken_config_can_be_rolled_back(self, store, conf):
        prod_file = conf / "prod" / "app.yaml"
        v1 = store.record_version(load_config(conf, "prod"))
        write(prod_file, "app: [unclosed\n")
        result = rollback_config(
            store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
        )
        assert result.old_hash is None
        assert result.new_hash == v1

    def test_confirm_sees_the_target_first_and_can_stop_everything(self, store, conf):
        v1 = store.record_version(load_config(conf, "prod"))
        write(conf / "prod" / "app.yaml", PROD.replace("8", "16"))
        seen = []

        def refuse(target):
            seen.append(target.hash)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rollback_config(
                store,
                v1[:8],
                root=conf,
                env="prod",
                load=lambda: load_config(conf, "prod"),
                confirm=refuse,
            )
        assert seen == [v1]
        assert "16" in (conf / "prod" / "app.yaml").read_text()
        assert len(store.list_versions(env="prod").items) == 1
        assert not store.list_audit().items

    def test_base_changes_are_kept_unless_with_base(self, store, conf):
        v1 = store.record_version(load_config(conf, "prod"))
        write(conf / "base" / "app.yaml", BASE.replace("shop", "store"))

        def load():
            return load_config(conf, "prod")

        result = rollback_config(store, v1, root=conf, env="prod", load=load)
        assert not result.exact
        result = rollback_config(
            store, v1, root=conf, env="prod", load=load, with_base=True
        )
        assert result.exact
        assert (conf / "base" / "app.yaml").read_text() == BASE

    def test_with_base_audits_the_other_environments_too(self, store, conf):
        v1 = store.record_version(load_config(conf, "dev"))
        write(conf / "base" / "app.yaml", BASE.replace("shop", "store"))
        rollback_config(
            store,
            v1,
            root=conf,
            env="dev",
            load=lambda: load_config(conf, "dev"),
            with_base=True,
            actor="ana@laptop",
        )
        (entry,) = store.list_audit(env="prod").items
        assert (entry.action, entry.actor) == ("rollback-base", "ana@laptop")
        assert entry.note == f"conf/base restored to {v1[:12]} by the rollback of 'dev'"
        assert [e.action for e in store.list_audit(env="dev").items] == ["rollback"]
        write(conf / "dev" / "app.yaml", "app:\n  threads: 3\n")
        rollback_config(  # only dev changed: nothing more for prod
            store,
            v1,
            root=conf,
            env="dev",
            load=lambda: load_config(conf, "dev"),
            with_base=True,
        )
        assert len(store.list_audit(env="prod").items) == 1

    def test_a_version_with_masked_literal_secrets_is_refused(self, store, conf):
        prod_file = write(conf / "prod" / "app.yaml", PROD + "  password: hunter2-x\n")
        v1 = store.record_version(load_config(conf, "prod"))
        write(prod_file, PROD)
        with pytest.raises(ConfigError, match="literal secrets") as info:
            rollback_config(
                store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
            )
        assert "pysetl config encrypt --in-place" in info.value.hint
        assert prod_file.read_text() == PROD
        assert store.list_audit().items == ()

    def test_restored_files_that_do_not_load_are_audited_still(self, store, conf):
        prod_file = write(conf / "prod" / "app.yaml", PROD + "flag: ${env:FLAG}\n")
        v1 = store.record_version(load_config(conf, "prod", environ={"FLAG": "1"}))
        write(prod_file, PROD)
        before = load_config(conf, "prod", environ={}).version
        with pytest.raises(ConfigError, match="FLAG"):
            rollback_config(
                store,
                v1,
                root=conf,
                env="prod",
                load=lambda: load_config(conf, "prod", environ={}),
            )
        assert "${env:FLAG}" in prod_file.read_text()  # the files were written
        (entry,) = store.list_audit(env="prod").items
        assert (entry.action, entry.old_hash, entry.new_hash) == (
            "rollback",
            before,
            None,
        )
        assert entry.note == f"rollback to {v1[:12]}: the restored files do not load"

    def test_a_version_of_another_env_is_not_found(self, store, conf):
        v1 = store.record_version(load_config(conf, "dev"))
        with pytest.raises(RunHistoryError, match="for the environment 'prod'"):
            rollback_config(
                store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
            )


@pytest.mark.spark
def test_a_pipeline_run_records_the_config_version_it_used(spark, conf):
    """One real Spark run: the run row names the stored version."""
    from pysetl.workflow import Factory, HookManager, Pipeline

    threads = load_config(conf, "prod").get("app.threads")

    class Count(Factory[int]):
        def read(self) -> Self:
            self.frame = spark.range(threads)
            return self

        def process(self) -> Self:
            self.count = self.frame.count()
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return self.count

    history = InMemoryRunHistory()
    resolved = load_config(conf, "prod")
    with recorder_for_config(history, resolved) as recorder:
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="cfg")
        pipeline.add_stage_from_type(Count)
        pipeline.run()
        pipeline.hooks.close()
    run = history.get_run(pipeline.run_id)
    assert run.status == "succeeded"
    assert run.config_version == resolved.version
    assert ConfigStore(history).get_version(run.config_version).env == "prod"


class TestEdges:
    def test_a_source_that_vanished_is_a_config_error(self, store, conf):
        resolved = load_config(conf, "dev")
        (conf / "dev" / "app.yaml").unlink()
        with pytest.raises(ConfigError, match="Cannot read the config file"):
            store.record_version(resolved)

    def test_secrets_in_lists_under_secret_keys_are_masked(self, store, tmp_path):
        root = tmp_path / "c"
        write(
            root / "base" / "a.yaml",
            "tokens:\n  - tok-aaaa-1\n  - tok-bbbb-2\n  - ab\nsecret: ab\n",
        )
        resolved = load_config(root)
        store.record_version(resolved)
        text = store.get_version(resolved.version).sources["base/a.yaml"]
        assert "tok-aaaa-1" not in text
        assert "tok-bbbb-2" not in text

    def test_a_missing_env_folder_is_recreated_by_a_rollback(self, store, conf):
        v1 = store.record_version(load_config(conf, "prod"))
        for path in (conf / "prod").iterdir():
            path.unlink()
        (conf / "prod").rmdir()
        rollback_config(
            store, v1, root=conf, env="prod", load=lambda: load_config(conf, "prod")
        )
        assert (conf / "prod" / "app.yaml").read_text() == PROD

    def test_repr_names_the_history(self, store):
        assert repr(store) == f"ConfigStore({store.history!r})"


class TestWatcher:
    def test_a_reload_seen_by_the_watcher_is_audited(self, store, conf, wait_for):
        """The real watcher (watchfiles) notices an edit; the subscriber records it."""
        from pysetl.config.reload import ConfigWatcher

        subscriber = ConfigAuditSubscriber(store)
        with ConfigWatcher(conf, "prod", on_change=subscriber, debounce_ms=20):
            old = load_config(conf, "prod")
            write(conf / "prod" / "app.yaml", PROD.replace("8", "12"))
            wait_for(lambda: len(store.list_audit(env="prod").items) == 1)
        (entry,) = store.list_audit(env="prod").items
        assert entry.old_hash == old.version
        assert entry.changes == (ConfigChange("app.threads", "changed", 8, 12),)
        assert entry.note == "detected on reload"


def test_a_planted_secret_never_reaches_the_sqlite_file(tmp_path, conf):
    """Canary: a literal secret in a file, in a diff and in a note is not stored."""
    from pysetl.config.diff import diff_configs
    from pysetl.monitoring.history import SqliteRunHistory

    canary = "canary-Zq81-hunter2"
    old = load_config(conf, "prod")
    write(conf / "prod" / "app.yaml", PROD + f"  password: {canary}\n")
    new = load_config(conf, "prod")
    db = tmp_path / "h.db"
    with SqliteRunHistory(db) as history:
        store = ConfigStore(history)
        store.record_version(new)
        store.record_audit(
            "prod",
            "reload",
            changes=diff_configs(old.as_dict(masked=False), new.as_dict(masked=False)),
            note=f"password={canary}",
        )
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    assert canary.encode() not in raw
