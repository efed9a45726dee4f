"""``/api/alerts``: alerts made by the real engine from real recorded runs."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from pysetl.dashboard import create_app
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.testing import temporary_history
from pysetl.utils.redaction import register_secret, reset_default_redactor

from .alerted import LEAK, record_alerts

SECRET = "tok3n-s3cr3t-42"  # noqa: S105 - a test value


@pytest.fixture(params=["memory", "sqlite"])
def alerted(request, tmp_path):
    """'daily' failed then succeeded (resolved alert); a secret pipeline failed."""
    store = temporary_history(request.param, tmp_path)
    made = record_alerts(store, firing_pipeline=f"weekly {SECRET}")
    yield made
    store.close()


@pytest.fixture
def client(alerted, client_of):
    return client_of(create_app(alerted.store.history))


class TestList:
    def test_newest_first_with_their_fields(self, alerted, client):
        answer = client.get("/api/alerts")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["next_cursor"] is None
        firing, resolved = body["items"]
        assert (firing["id"], resolved["id"]) == (alerted.firing, alerted.resolved)
        assert firing["state"] == "firing"
        assert firing["ended_at"] is None
        assert firing["run_id"] == alerted.firing_run
        assert resolved == resolved | {
            "rule": "failed",
            "state": "resolved",
            "severity": "critical",
            "pipeline": "daily",
            "factory": "Broken",
            "run_id": alerted.failed_run,
            "started_at": 1_800_000_000.0,
            "ended_at": 1_800_000_060.0,
            "last_notified_at": 1_800_000_000.0,
            "labels": {"rule": "failed", "pipeline": "daily", "severity": "critical"},
        }
        assert (
            resolved["summary"] == f"Pipeline 'daily' failed (run {alerted.failed_run})"
        )
        assert "ZeroDivisionError: boom" in resolved["description"]
        assert resolved["details"]["error_class"] == "ZeroDivisionError"

    def test_by_state_and_paged(self, alerted, client):
        for state, expected in (
            ("firing", alerted.firing),
            ("resolved", alerted.resolved),
        ):
            items = client.get("/api/alerts", params={"state": state}).json()["items"]
            assert [a["id"] for a in items] == [expected]
        first = client.get("/api/alerts", params={"limit": 1}).json()
        assert [a["id"] for a in first["items"]] == [alerted.firing]
        rest = client.get(
            "/api/alerts", params={"limit": 1, "cursor": first["next_cursor"]}
        ).json()
        assert [a["id"] for a in rest["items"]] == [alerted.resolved]
        assert rest["next_cursor"] is None

    @pytest.mark.parametrize(
        "params",
        [
            {"state": "pending"},
            {"limit": 0},
            {"limit": 501},
            {"cursor": "x"},
            {"cursor": "²"},
            {"cursor": str(2**63)},
        ],
    )
    def test_bad_parameters_are_422(self, client, params):
        answer = client.get("/api/alerts", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["error"] == "invalid_parameter"

    def test_is_documented_in_the_schema(self, client):
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/api/alerts", "/api/alerts/{alert_id}"} <= paths.keys()


class TestDetail:
    def test_an_alert_with_its_events_oldest_first(self, alerted, client):
        answer = client.get(f"/api/alerts/{alerted.resolved}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["state"] == "resolved"
        assert [(e["kind"], e["notifier"]) for e in body["events"]] == [
            ("fired", None),
            ("notified", "hook"),
            ("delivery_failed", "pager"),
            ("resolved", None),
            ("notified", "hook"),
            ("delivery_failed", "pager"),
        ]
        failed = body["events"][2]
        assert failed["run_id"] == alerted.failed_run
        assert failed["detail"].startswith("OSError: connection refused by")
        assert "hunter2" not in answer.text
        assert "hunter2" in LEAK  # what the notifier's error held

    @pytest.mark.parametrize("alert_id", ["x", "0", "-1", "1.5", str(2**63)])
    def test_a_bad_id_is_422(self, client, alert_id):
        answer = client.get(f"/api/alerts/{alert_id}")
        assert answer.status_code == 422, alert_id
        assert answer.json()["error"] == "invalid_parameter"

    def test_an_unknown_id_is_404(self, client):
        answer = client.get("/api/alerts/999")
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"


def test_a_secret_registered_later_never_shows(alerted, client):
    """The answer redacts what the history holds, also secrets known only now."""
    listed = client.get("/api/alerts").text
    assert SECRET in listed  # not yet a secret
    register_secret(SECRET)
    try:
        for path in ("/api/alerts", f"/api/alerts/{alerted.firing}"):
            answer = client.get(path)
            assert answer.status_code == 200
            assert SECRET not in answer.text, path
        (firing, _) = client.get("/api/alerts").json()["items"]
        assert firing["pipeline"] == "weekly **********"
        assert firing["labels"]["pipeline"] == "weekly **********"
    finally:
        reset_default_redactor()


def test_a_history_without_the_alert_tables_has_no_alerts(tmp_path, client_of):
    """A history of an older schema (no alert tables) answers an empty list."""
    path = tmp_path / "old.db"
    history = SqliteRunHistory(path)
    with closing(sqlite3.connect(path)) as conn, conn:
        for table in ("pysetl_alert_events", "pysetl_alert_silences", "pysetl_alerts"):
            conn.execute(f"DROP TABLE {table}")
    try:
        client = client_of(create_app(history))
        answer = client.get("/api/alerts")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": [], "next_cursor": None}
        assert client.get("/api/alerts/1").status_code == 404
    finally:
        history.close()
