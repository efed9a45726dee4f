"""``pysetl alerts``: list, test, check, watch, silence on a real SQLite history."""

from __future__ import annotations

import json
import sys
import time

import pytest
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import app
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.monitoring.history.alert_store import AlertStore

# A user's own notifier (``type: module:Class``): appends each batch to a file.
FILE_SINK = """
import json


class FileNotifier:
    def __init__(self, *, name, path, fail=False):
        self.name = name
        self.path = path
        self.fail = fail

    def send(self, messages, *, timeout):
        if self.fail:
            raise ConnectionError("the sink is down")
        with open(self.path, "a") as out:
            out.write(json.dumps([[m.rule, m.state, m.summary] for m in messages]))
            out.write("\\n")
"""

CONFIG = """\
alerts:
  delivery: {{timeout: 0.2, retries: 0, deadline: 1}}
  notifiers:
    file: {{type: "alert_file_sink:FileNotifier", path: "{sent}"}}
    broken: {{type: "alert_file_sink:FileNotifier", path: "{sent}", fail: true}}
  rules:
    - name: late
      kind: absence
      pipeline: daily
      within: 2h
      notify: [file]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    sinks = tmp_path / "sinks"
    sinks.mkdir()
    (sinks / "alert_file_sink.py").write_text(FILE_SINK)
    monkeypatch.syspath_prepend(str(sinks))
    sys.modules.pop("alert_file_sink", None)
    conf = tmp_path / "conf" / "base"
    conf.mkdir(parents=True)
    sent = tmp_path / "sent.jsonl"
    (conf / "alerts.yaml").write_text(CONFIG.format(sent=sent))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_ENV", raising=False)
    history = SqliteRunHistory(tmp_path / "h.db")
    yield tmp_path, f"sqlite:///{tmp_path / 'h.db'}", history, sent
    history.close()


def _pysetl(url, *args):
    return CliRunner().invoke(app, ["--history", url, "alerts", *args])


def _sent(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _succeeded(history, run_id, at):
    history.start_run(run_id, "daily", started_at=at - 5)
    history.finish_run(run_id, "succeeded", finished_at=at)


class TestCheck:
    def test_an_absent_pipeline_fires_once_and_the_exit_code_says_so(self, project):
        _, url, history, sent = project
        _succeeded(history, "R00001", time.time() - 3 * 3600)
        result = _pysetl(url, "check")
        assert result.exit_code == 1, result.output
        assert "firing: [late]" in result.output
        assert "has not succeeded within 2h" in result.output
        again = _pysetl(url, "check")
        assert again.exit_code == 1
        assert [[rule, state] for ((rule, state, _),) in _sent(sent)] == [
            ["late", "firing"]
        ]
        _succeeded(history, "R00002", time.time())
        result = _pysetl(url, "check")
        assert result.exit_code == 0, result.output
        assert "resolved:" in result.output
        assert "no alert is firing" in result.output
        assert [state for ((_, state, _),) in _sent(sent)] == ["firing", "resolved"]

    def test_watch_checks_the_given_number_of_times(self, project):
        _, url, history, _sent_path = project
        _succeeded(history, "R00001", time.time() - 3 * 3600)
        result = _pysetl(url, "watch", "--times", "1")
        assert result.exit_code == 0, result.output
        assert "fired:" in result.output

    def test_a_bad_rule_is_reported_with_its_file_and_line(self, project):
        root, url, _, _ = project
        (root / "conf" / "base" / "alerts.yaml").write_text(
            "alerts:\n  rules:\n    - {name: slow, kind: duration, scope: run}\n"
        )
        result = _pysetl(url, "check")
        assert result.exit_code == commands.EXIT_CONFIG
        assert "alerts.yaml" in result.output
        assert "alerts.yaml:2 [alerts.rules.0" in result.output
        assert "give a limit" in result.output


class TestListAndSilence:
    def test_list_shows_alerts_and_the_history_of_one(self, project):
        _, url, history, _ = project
        _succeeded(history, "R00001", time.time() - 3 * 3600)
        _pysetl(url, "check")
        listed = _pysetl(url, "list", "--state", "firing")
        assert listed.exit_code == 0, listed.output
        assert "late" in listed.output
        (alert,) = AlertStore(history).list_alerts().items
        shown = _pysetl(url, "list", "--id", str(alert.id))
        assert "fired" in shown.output
        assert "notified via file" in shown.output
        assert "no alerts" in _pysetl(url, "list", "--state", "resolved").output

    def test_a_silenced_rule_is_not_sent_then_the_silence_ends(self, project):
        _, url, history, sent = project
        made = _pysetl(url, "silence", "--rule", "late", "--for", "2h")
        assert made.exit_code == 0, made.output
        assert "late" in _pysetl(url, "silence", "--list").output
        _succeeded(history, "R00001", time.time() - 3 * 3600)
        assert _pysetl(url, "check").exit_code == 1
        assert _sent(sent) == []
        (silence,) = AlertStore(history).silences()
        assert "ended" in _pysetl(url, "silence", "--end", str(silence.id)).output
        assert "no active silence" in _pysetl(url, "silence", "--list").output

    def test_silence_needs_a_target_and_a_duration(self, project):
        _, url, _, _ = project
        assert _pysetl(url, "silence").exit_code == commands.EXIT_USAGE
        bad = _pysetl(url, "silence", "--rule", "x", "--for", "soon")
        assert bad.exit_code == commands.EXIT_USAGE


class TestTest:
    def test_sends_through_the_named_notifier_and_fails_for_a_broken_one(self, project):
        _, url, _, sent = project
        ok = _pysetl(url, "test", "file")
        assert ok.exit_code == 0, ok.output
        assert "file: sent" in ok.output
        assert _sent(sent)[0][0][0] == "pysetl-test"
        broken = _pysetl(url, "test", "broken")
        assert broken.exit_code == 1
        assert "broken: failed: ConnectionError: the sink is down" in broken.output
