"""Hot reload with the real watchfiles watcher on real files in tmp_path."""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest
from pydantic import BaseModel

from pysetl.config import ConfigWatcher
from pysetl.errors import ConfigLoadError

WAIT = 10.0  # seconds: the longest any test waits for the watcher


class Db(BaseModel):
    host: str
    port: int


class Schema(BaseModel):
    db: Db


def _wait_for(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def watched(conf):
    conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
    watcher = ConfigWatcher(conf.root, None, schema=Schema, environ={}, debounce_ms=50)
    try:
        yield conf, watcher.start()
    finally:
        watcher.stop()


class TestConfigWatcher:
    def test_a_valid_edit_is_swapped_in_and_subscribers_are_told(self, watched):
        conf, watcher = watched
        seen = []
        done = threading.Event()

        def subscriber(old, new):
            seen.append((old.get("db.port"), new.get("db.port")))
            done.set()

        first = watcher.current
        watcher.subscribe(subscriber)
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        assert done.wait(WAIT)
        assert seen == [(1, 2)]
        assert watcher.current.get("db.port") == 2
        assert watcher.current.model.db.port == 2
        assert watcher.current.version != first.version
        assert watcher.reloads == 1

    def test_an_invalid_edit_keeps_the_last_good_config_and_logs_why(
        self, watched, caplog
    ):
        conf, watcher = watched
        calls = []
        watcher.subscribe(lambda _old, new: calls.append(new))
        good = watcher.current
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"):
            conf.write("base/db.yaml", "db:\n  host: a\n  port: lots\n")
            assert _wait_for(lambda: watcher.rejected >= 1)
        assert watcher.current is good
        assert calls == []
        assert isinstance(watcher.last_error, ConfigLoadError)
        assert watcher.last_error.errors[0]["key"] == "db.port"
        assert "rejected" in caplog.text
        assert "db.port" in caplog.text
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 3\n")
        assert _wait_for(lambda: watcher.current.get("db.port") == 3)
        assert len(calls) == 1

    def test_a_broken_file_keeps_the_last_good_config(self, watched):
        conf, watcher = watched
        conf.write("base/db.yaml", "db: [\n")
        assert _wait_for(lambda: watcher.rejected >= 1)
        assert watcher.current.get("db.port") == 1

    def test_a_failing_subscriber_is_logged_and_counted_never_raised(
        self, watched, caplog
    ):
        conf, watcher = watched
        after = threading.Event()

        def broken(old, new):
            msg = "subscriber bug"
            raise RuntimeError(msg)

        watcher.subscribe(broken)
        watcher.subscribe(lambda *_: after.set())
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"):
            conf.write("base/db.yaml", "db:\n  host: b\n  port: 1\n")
            assert after.wait(WAIT)
        assert watcher.subscriber_errors == 1
        assert watcher.current.get("db.host") == "b"
        assert "subscriber bug" in caplog.text

    def test_a_list_of_subscribers_is_each_called_even_after_one_fails(
        self, conf, caplog
    ):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        seen = []
        done = threading.Event()

        def broken(old, new):
            msg = "subscriber bug"
            raise RuntimeError(msg)

        def last(old, new):
            seen.append(("last", new.get("db.port")))
            done.set()

        subscribers = [lambda _o, n: seen.append(("first", n.get("db.port"))), broken]
        watcher = ConfigWatcher(
            conf.root,
            environ={},
            debounce_ms=50,
            on_change=(*subscribers, last),
        )
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"), watcher:
            conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
            assert done.wait(WAIT)
        assert seen == [("first", 2), ("last", 2)]
        assert watcher.reloads == 1
        assert watcher.subscriber_errors == 1
        assert "subscriber bug" in caplog.text

    def test_a_new_file_in_the_profile_is_picked_up(self, conf):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        conf.write("prod/other.txt", "not config\n")
        with ConfigWatcher(conf.root, "prod", environ={}, debounce_ms=50) as watcher:
            conf.write("prod/db.toml", "[db]\nport = 9\n")
            assert _wait_for(lambda: watcher.current.get("db.port") == 9)


class TestManualReload:
    def test_reload_without_changes_swaps_nothing(self, conf):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        watcher = ConfigWatcher(conf.root, environ={})
        assert watcher.reload() is False
        assert watcher.reloads == 0

    def test_on_change_and_unsubscribe(self, conf):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        first, second = [], []
        watcher = ConfigWatcher(
            conf.root, environ={}, on_change=lambda _o, n: first.append(n)
        )
        unsubscribe = watcher.subscribe(lambda _o, n: second.append(n))
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        assert watcher.reload() is True
        unsubscribe()
        unsubscribe()  # twice is harmless
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 3\n")
        assert watcher.reload() is True
        assert (len(first), len(second)) == (2, 1)

    def test_on_change_takes_any_iterable_of_subscribers(self, conf):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        calls = []
        watcher = ConfigWatcher(
            conf.root,
            environ={},
            on_change=(lambda _o, _n, i=i: calls.append(i) for i in range(3)),
        )
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        assert watcher.reload() is True
        assert calls == [0, 1, 2]

    @pytest.mark.parametrize(
        ("on_change", "name"),
        [("notify", "on_change"), (3, "on_change"), ([print, "x"], "on_change[1]")],
    )
    def test_a_subscriber_that_is_not_callable_is_rejected_at_once(
        self, conf, on_change, name
    ):
        conf.write("base/db.yaml", "a: 1\n")
        with pytest.raises(TypeError, match=rf"ConfigWatcher {re.escape(name)} "):
            ConfigWatcher(conf.root, environ={}, on_change=on_change)
        watcher = ConfigWatcher(conf.root, environ={})
        with pytest.raises(TypeError, match=r"subscribe\(\) callback .* Fix: pass"):
            watcher.subscribe("notify")

    def test_an_invalid_first_load_raises(self, conf):
        conf.write("base/db.yaml", "db: [\n")
        with pytest.raises(ConfigLoadError):
            ConfigWatcher(conf.root, environ={})

    def test_start_twice_and_stop_twice_are_harmless(self, conf):
        conf.write("base/db.yaml", "a: 1\n")
        watcher = ConfigWatcher(conf.root, environ={})
        assert watcher.start() is watcher.start()
        watcher.stop()
        watcher.stop()

    def test_a_rule_that_raises_is_a_rejected_reload(self, conf, caplog):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")

        def fragile(cfg):
            if cfg.get("db.port") == 2:
                msg = "rule bug"
                raise RuntimeError(msg)
            return iter(())

        watcher = ConfigWatcher(conf.root, environ={}, rules=[fragile])
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"):
            assert watcher.reload() is False
        assert isinstance(watcher.last_error, RuntimeError)
        assert watcher.current.get("db.port") == 1
        assert "rule bug" in caplog.text


class TestReviewedEdgeCases:
    def test_reloads_run_one_at_a_time_so_an_older_load_never_wins(self, conf):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")
        entered, release = threading.Event(), threading.Event()

        def slow_on_two(cfg):
            if cfg.get("db.port") == 2:  # the older load: held up mid-way
                entered.set()
                release.wait(WAIT)
            return iter(())

        watcher = ConfigWatcher(conf.root, environ={}, rules=[slow_on_two])
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        older = threading.Thread(target=watcher.reload)
        older.start()
        assert entered.wait(WAIT)
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 3\n")
        newer = threading.Thread(target=watcher.reload)
        newer.start()
        newer.join(0.3)
        assert newer.is_alive()  # waits for the older reload
        release.set()
        older.join(WAIT)
        newer.join(WAIT)
        assert watcher.current.get("db.port") == 3
        assert watcher.reloads == 2

    def test_a_renamed_then_deleted_file(self, watched):
        conf, watcher = watched
        conf.write("base/extra.yaml", "extra: 1\n")
        assert _wait_for(lambda: watcher.current.get("extra") == 1)
        (conf.root / "base" / "extra.yaml").rename(conf.root / "base" / "more.yml")
        renamed = conf.root / "base" / "more.yml"
        assert _wait_for(lambda: watcher.current.explain("extra")[0].file == renamed)
        assert watcher.reloads == 1  # same values: no new version, no one told
        (conf.root / "base" / "more.yml").unlink()
        assert _wait_for(lambda: "extra" not in watcher.current)
        assert watcher.current.get("db.port") == 1

    def test_deleting_a_required_file_keeps_the_last_good_config(self, watched):
        conf, watcher = watched
        (conf.root / "base" / "db.yaml").unlink()
        assert _wait_for(lambda: watcher.rejected >= 1)  # the schema needs db
        assert watcher.current.get("db.port") == 1

    def test_stop_ends_the_thread(self, conf):
        conf.write("base/db.yaml", "a: 1\n")
        before = set(threading.enumerate())
        with ConfigWatcher(conf.root, environ={}, debounce_ms=50):
            assert len(set(threading.enumerate()) - before) == 1
        assert set(threading.enumerate()) <= before

    def test_a_rejected_reload_never_logs_a_secret(self, conf, caplog):
        from pydantic import field_validator

        class Guarded(BaseModel):
            password: str

            @field_validator("password")
            @classmethod
            def strong(cls, value: str) -> str:
                if value.startswith("canary"):
                    msg = f"weak password {value}"
                    raise ValueError(msg)
                return value

        conf.write("base/db.yaml", "password: good-one\n")
        watcher = ConfigWatcher(conf.root, environ={}, schema=Guarded)
        conf.write("base/db.yaml", "password: canary-reload-pw\n")
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"):
            assert watcher.reload() is False
        assert "weak password" in caplog.text
        assert "canary-reload-pw" not in caplog.text

    def test_a_failing_rule_is_logged_redacted_with_its_type(self, conf, caplog):
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 1\n")

        def leaky(cfg):
            if cfg.get("db.port") == 2:
                msg = "cannot reach postgresql://etl:canary-rule-pw@db/shop"
                raise RuntimeError(msg)
            return iter(())

        watcher = ConfigWatcher(conf.root, environ={}, rules=[leaky])
        conf.write("base/db.yaml", "db:\n  host: a\n  port: 2\n")
        with caplog.at_level(logging.WARNING, logger="pysetl.config.reload"):
            assert watcher.reload() is False
        assert "RuntimeError: cannot reach postgresql://etl:" in caplog.text
        assert "canary-rule-pw" not in caplog.text
        assert "canary-rule-pw" in str(watcher.last_error)  # kept for the caller

    def test_a_directory_that_cannot_be_watched_raises_at_start(self, conf, caplog):
        import shutil

        from pysetl.errors import ConfigError

        conf.write("base/db.yaml", "a: 1\n")
        watcher = ConfigWatcher(conf.root, environ={})
        shutil.rmtree(conf.root)
        before = set(threading.enumerate())
        with pytest.raises(ConfigError, match="Cannot watch the config directory"):
            watcher.start()
        assert set(threading.enumerate()) <= before
        assert "pysetl config watcher stopped: FileNotFoundError" in caplog.text
        assert watcher.current.get("a") == 1  # the last good config stays
