"""``serve``: the extra and the loopback rule, checked before anything listens."""

from __future__ import annotations

import json
import sys

import pytest

from pysetl.dashboard.server import (
    WORKER_ENV,
    serve,
    session_token,
    token_weakness,
    worker_app,
    worker_history_url,
)
from pysetl.errors import DashboardError
from pysetl.monitoring.history import (
    InMemoryRunHistory,
    SqliteRunHistory,
    default_history_path,
)
from pysetl.settings import reset_settings


def test_without_uvicorn_serve_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(DashboardError, match="'uvicorn' is missing") as info:
        serve(InMemoryRunHistory())
    assert info.value.hint == "pip install 'pysetl[dashboard]'"


def test_a_public_address_without_a_token_is_refused_before_importing():
    with pytest.raises(DashboardError, match="without a token"):
        serve(InMemoryRunHistory(), host="0.0.0.0")  # noqa: S104


class TestServeOptions:
    def test_session_token_is_the_given_one_or_a_new_one(self):
        assert session_token(None) is None
        assert session_token("given") == "given"
        made = session_token(None, generate=True)
        assert made is not None
        assert token_weakness(made) is None

    def test_a_token_and_generate_are_refused_without_showing_it(self):
        with pytest.raises(DashboardError, match="both a token") as info:
            session_token("canary-token-1234", generate=True)
        assert "canary-token-1234" not in str(info.value)

    def test_workers_open_the_given_history_else_the_setting_else_the_project_s(
        self, monkeypatch, tmp_path
    ):
        assert worker_history_url("sqlite:///given.db") == "sqlite:///given.db"
        monkeypatch.setenv("PYSETL_HISTORY_URL", "sqlite:///set.db")
        assert worker_history_url(None) == "sqlite:///set.db"
        monkeypatch.delenv("PYSETL_HISTORY_URL")
        reset_settings()
        monkeypatch.chdir(tmp_path)
        assert worker_history_url(None) == str(default_history_path())


class TestWorkerApp:
    def test_reads_what_to_serve_from_its_settings(self, monkeypatch, tmp_path):
        url = f"sqlite:///{tmp_path / 'h.db'}"
        SqliteRunHistory(tmp_path / "h.db").close()
        monkeypatch.setenv(WORKER_ENV, json.dumps({"history": url}))
        assert worker_app() is not None

    def test_outside_a_worker_it_says_so(self, monkeypatch):
        monkeypatch.delenv(WORKER_ENV, raising=False)
        with pytest.raises(DashboardError, match="not a worker of pysetl ui"):
            worker_app()
