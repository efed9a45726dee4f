"""Hot reload with the real watchfiles watcher on real files in tmp_path."""

from __future__ import annotations

import logging
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
