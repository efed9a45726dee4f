"""The JSON API over a seeded history (memory and SQLite)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from pysetl import __version__
from pysetl.dashboard import create_app
from pysetl.dashboard._convert import LOG_MESSAGE_MAX, is_stale
from pysetl.monitoring.history import STALE_AFTER, InMemoryRunHistory, SqliteRunHistory
from pysetl.monitoring.history.ops import (
    MAX_TEXT,
    AddEvent,
    AddLog,
    FinishAttempt,
    StartAttempt,
)
from pysetl.monitoring.history.records import RunRecord
from pysetl.monitoring.metrics._progress import SPARK_PROGRESS_EVENT
from pysetl.testing import record_run
from pysetl.utils.redaction import register_secret, reset_default_redactor
from pysetl.workflow import Pipeline

from .conftest import T0, XSS, Extract, daily, rid


class TestHealthAndPipelines:
    def test_health(self, client):
        body = client.get("/api/health").json()
        assert body["status"] == "ok"
        assert body["version"] == __version__
        assert body["history"]

    def test_pipelines(self, client):
        items = client.get("/api/pipelines").json()["items"]
        assert items == [
            {
                "pipeline": "daily",
                "runs": 3,
                "last_run_id": rid(3),
                "last_status": "running",
                "last_started_at": T0 + 20,
            },
            {
                "pipeline": "weekly",
                "runs": 1,
                "last_run_id": rid(4),
                "last_status": "succeeded",
                "last_started_at": T0 + 30,
            },
        ]


class TestRuns:
    def test_newest_first_with_factory_counts(self, client):
        items = client.get("/api/runs").json()["items"]
        assert [r["run_id"] for r in items] == [rid(4), rid(3), rid(2), rid(1)]
        first = items[-1]
        assert first["factories"] == {
            "total": 2,
            "succeeded": 2,
            "failed": 0,
            "running": 0,
        }
        assert first["duration"] == 3.0
        assert items[1]["factories"]["running"] == 1
        assert items[1]["finished_at"] is None

    def test_filters_and_paging(self, client):
        page = client.get("/api/runs", params={"pipeline": "daily", "limit": 2}).json()
        assert [r["run_id"] for r in page["items"]] == [rid(3), rid(2)]
        page = client.get(
            "/api/runs", params={"pipeline": "daily", "cursor": page["next_cursor"]}
        ).json()
        assert [r["run_id"] for r in page["items"]] == [rid(1)]
        assert page["next_cursor"] is None
        failed = client.get("/api/runs", params={"status": "failed"}).json()
        assert [r["run_id"] for r in failed["items"]] == [rid(2)]
        window = client.get(
            "/api/runs", params={"since": T0 + 5, "until": T0 + 25}
        ).json()
        assert [r["run_id"] for r in window["items"]] == [rid(3), rid(2)]

    def test_a_failed_run_carries_its_error_context_and_hint(self, client):
        run = client.get("/api/runs", params={"status": "failed"}).json()["items"][0]
        error = run["error"]
        assert error["type"] == "FactoryError"
        assert error["message"] == f"boom {XSS}"  # JSON-encoded, the page escapes
        assert error["hint"] == "check the input"
        assert error["factory"] == "Extract"
        assert error["stage"] == 0
        assert error["phase"] == "process"
        assert error["attempt"] == 1
        assert error["error_class"] == "DIVIDE_BY_ZERO"
        assert error["context"] == {"traceback": "Traceback ..."}

    def test_bad_parameters_answer_422_naming_them(self, client):
        for params, name in [
            ({"status": "done"}, "status"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"limit": "x"}, "limit"),
            ({"since": "yesterday"}, "since"),
            ({"since": "nan"}, "since"),
            ({"until": "inf"}, "until"),
            ({"since": "-inf"}, "since"),
        ]:
            response = client.get("/api/runs", params=params)
            assert response.status_code == 422, params
            body = response.json()
            assert body["error"] == "invalid_parameter"
            assert f"'{name}'" in body["message"]
            assert body["hint"]


class TestHostileInput:
    """Out-of-range cursors and NUL bytes are the documented 422, never 500/503."""

    @pytest.mark.parametrize(
        "url",
        [
            f"/api/runs/{rid(1)}/logs?cursor=9223372036854775808",  # 2**63
            f"/api/runs/{rid(1)}/events?after=" + "9" * 60,
            f"/api/runs/{rid(1)}/events?cursor=%C2%B2",  # '²' passes isdigit()
            f"/api/runs/{rid(1)}/logs?cursor=%C2%B2",
            f"/api/runs/{rid(1)}/logs?cursor=%D9%A3",  # an Arabic-Indic 3
        ],
    )
    def test_a_cursor_out_of_range_is_422(self, client, url):
        response = client.get(url)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid_parameter"
        assert "9223372036854775807" in body["message"]  # says what is expected
        assert body["hint"]

    def test_the_largest_row_id_is_a_cursor(self, client):
        url = f"/api/runs/{rid(1)}/logs?cursor=9223372036854775807"
        assert client.get(url).json() == {"items": [], "next_cursor": None}

    @pytest.mark.parametrize(
        ("url", "name"),
        [
            ("/api/runs?pipeline=da%00ily", "pipeline"),
            ("/api/runs?status=running%00", "status"),
            (f"/api/runs/{rid(1)}/logs?q=li%00ne", "q"),
            (f"/api/runs/{rid(1)}/logs?factory=%00", "factory"),
            ("/api/runs/01RUN%00", "run_id"),
            ("/api/runs/01RUN%00/stream", "run_id"),
            ("/api/charts/pipelines/dai%00ly", "pipeline"),
        ],
    )
    def test_a_nul_byte_in_a_parameter_is_422_naming_it(self, client, url, name):
        response = client.get(url)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid_parameter"
        assert f"{name!r}" in body["message"]
        assert "NUL" in body["message"]
        assert body["hint"]


class TestSlashInNames:
    def test_a_pipeline_named_with_a_slash_gets_its_charts(self, tmp_path, client_of):
        """``team%2Fdaily`` is one name, not two path segments."""
        history = SqliteRunHistory(tmp_path / "h.db")
        run_id = record_run(
            Pipeline(name="team/daily").add_stage_from_type(Extract), history
        )
        (attempt,) = history.list_factory_attempts(run_id).items
        assert attempt.factory == "Extract"
        client = client_of(create_app(history))
        response = client.get("/api/charts/pipelines/team%2Fdaily")
        assert response.status_code == 200, response.text
        assert [r["run_id"] for r in response.json()["runs"]] == [run_id]
        response = client.get("/api/charts/factories/team%2Fdaily/Extract")
        assert response.status_code == 200, response.text
        assert [p["duration"] for p in response.json()["points"]] == [attempt.duration]
        # unencoded, the last segment is the factory and the rest the pipeline
        response = client.get("/api/charts/factories/team/daily/Extract")
        assert [p["duration"] for p in response.json()["points"]] == [attempt.duration]
        response = client.get("/api/charts/pipelines/team/daily")
        assert [r["run_id"] for r in response.json()["runs"]] == [run_id]
        history.close()


class TestStaleRuns:
    """A run whose process died stays 'running' in the history: it is shown stale."""

    def test_a_running_run_without_heartbeat_is_stale(self, client_of):
        history = InMemoryRunHistory()
        now = time.time()
        history.start_run(rid(1), "daily", started_at=now - 3600)  # dead long ago
        history.start_run(rid(2), "daily", started_at=now - 3600)
        history.heartbeat(rid(2), at=now)  # alive: it just beat
        history.start_run(rid(3), "daily", started_at=now - 3600)
        history.finish_run(rid(3), "failed", finished_at=now - 3500)
        client = client_of(create_app(history))
        runs = {r["run_id"]: r for r in client.get("/api/runs").json()["items"]}
        assert runs[rid(1)]["stale"] is True
        assert runs[rid(2)]["stale"] is False
        assert runs[rid(3)]["stale"] is False  # finished runs are never stale
        detail = client.get(f"/api/runs/{rid(1)}").json()
        assert detail["run"]["stale"] is True
        assert detail["run"]["status"] == "running"  # read-only: not rewritten

    def test_is_stale_uses_the_heartbeat_or_the_start(self):
        run = RunRecord(rid(1), "daily", "running", T0)
        assert not is_stale(run, now=T0 + STALE_AFTER)
        assert is_stale(run, now=T0 + STALE_AFTER + 1)
        beating = RunRecord(rid(1), "daily", "running", T0, heartbeat_at=T0 + 100)
        assert not is_stale(beating, now=T0 + 100 + STALE_AFTER)


class TestRunDetail:
    def test_stages_factories_graph_progress(self, client):
        detail = client.get(f"/api/runs/{rid(1)}").json()
        assert detail["run"]["status"] == "succeeded"
        assert detail["stages"][0]["stage_id"] == 0
        assert [f["factory"] for f in detail["factories"]] == ["Extract", "Load"]
        extract = detail["factories"][0]
        assert extract["phases"] == {"read": 1.5}
        assert extract["metrics"]["pysetl_factory_cpu_seconds"] == 1.25
        assert extract["metrics"]["orders"] == 7
        assert (
            extract["metrics"]["pysetl_factory_phase_duration_seconds{phase=read}"]
            == 1.5
        )
        assert detail["graph"]["edges"] == [
            {"source": "Extract", "target": "Load", "delivery": "rows"}
        ]
        assert detail["progress"] == {"done": 2, "total": 2}

    def test_without_a_recorded_graph_the_started_factories_are_the_nodes(self, client):
        detail = client.get(f"/api/runs/{rid(3)}").json()
        assert detail["graph"] == {"nodes": [{"id": XSS, "stage_id": 0}], "edges": []}
        assert detail["progress"] == {"done": 0, "total": 1}

    def test_unknown_run_is_404_json(self, client):
        for path in ["", "/logs", "/events", "/spark", "/stream"]:
            response = client.get(f"/api/runs/nope{path}")
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"
            assert response.json()["hint"]


class TestLogs:
    def test_paged_oldest_first_and_tailable(self, client):
        page = client.get(f"/api/runs/{rid(1)}/logs", params={"limit": 4}).json()
        assert [line["message"] for line in page["items"]] == [
            "line 0",
            "line 1",
            "line 2",
            "line 3",
        ]
        assert set(page["items"][0]) == {
            "id",
            "ts",
            "level",
            "logger",
            "factory",
            "message",
            "truncated",
        }
        last = page["items"][-1]["id"]
        tail = client.get(
            f"/api/runs/{rid(1)}/logs", params={"cursor": str(last)}
        ).json()
        assert tail["items"][0]["message"] == "line 4"
        assert tail["next_cursor"] is None

    def test_a_huge_line_is_cut_and_non_ascii_text_kept(self, client_of):
        history = InMemoryRunHistory()
        history.start_run(rid(1), "tägliche 日次", started_at=T0)
        secret = "s3cr3t-at-the-very-end"  # noqa: S105 - a test value
        register_secret(secret)
        try:
            history.add_logs(
                [
                    AddLog(T0, "INFO", "x" * 5_000_000 + secret, rid(1), "Fäbrik"),
                    AddLog(T0 + 1, "INFO", "日本語 🚀 <b>ok</b>", rid(1), "Fäbrik"),
                ]
            )
            client = client_of(create_app(history))
            response = client.get(f"/api/runs/{rid(1)}/logs")
            assert response.status_code == 200
            assert len(response.content) < 2 * LOG_MESSAGE_MAX
            assert secret not in response.text
            huge, small = response.json()["items"]
            assert huge["truncated"] is True
            assert huge["message"].startswith("x" * LOG_MESSAGE_MAX)
            # The history keeps MAX_TEXT characters of a line (and a marker);
            # the API shows LOG_MESSAGE_MAX of what the history holds.
            (stored, _) = history.search_logs(rid(1), limit=10).items
            assert MAX_TEXT <= len(stored.message) < 5_000_000
            assert huge["message"].endswith(
                f"… [{len(stored.message) - LOG_MESSAGE_MAX} more characters]"
            )
            assert small == {
                "id": small["id"],
                "ts": T0 + 1,
                "level": "INFO",
                "logger": None,
                "factory": "Fäbrik",
                "message": "日本語 🚀 <b>ok</b>",
                "truncated": False,
            }
            run = client.get(f"/api/runs/{rid(1)}").json()["run"]
            assert run["pipeline"] == "tägliche 日次"
        finally:
            reset_default_redactor()

    def test_level_and_search(self, client):
        errors = client.get(f"/api/runs/{rid(1)}/logs", params={"level": "error"})
        assert [x["message"] for x in errors.json()["items"]] == [
            f"line {i}" for i in range(0, 10, 2)
        ]
        found = client.get(f"/api/runs/{rid(1)}/logs", params={"q": "LINE 7"})
        assert [x["message"] for x in found.json()["items"]] == ["line 7"]

    def test_bad_level_or_cursor_is_422(self, client):
        assert client.get(f"/api/runs/{rid(1)}/logs?level=LOUD").status_code == 422
        assert client.get(f"/api/runs/{rid(1)}/logs?cursor=abc").status_code == 422


class TestEvents:
    def test_events_after_an_id(self, client):
        page = client.get(f"/api/runs/{rid(1)}/events", params={"limit": 1}).json()
        assert page["items"][0]["name"] == "before_pipeline_run"
        after = client.get(
            f"/api/runs/{rid(1)}/events", params={"after": page["items"][0]["id"]}
        ).json()
        assert all(e["id"] > page["items"][0]["id"] for e in after["items"])
        assert client.get(f"/api/runs/{rid(1)}/events?after=x").status_code == 422


class TestSpark:
    def test_last_sample_while_running_none_after(self, client_of):
        history = InMemoryRunHistory()
        history.start_run(rid(1), "p", started_at=T0)
        job = {
            "factory": "F",
            "job_id": 3,
            "status": "RUNNING",
            "num_tasks": 8,
            "completed_tasks": 2,
            "failed_tasks": 0,
            "active_tasks": 1,
            "stages_total": 2,
            "stages_done": 1,
        }
        history.apply(
            [AddEvent(rid(1), T0 + 1, SPARK_PROGRESS_EVENT, data={"jobs": [job]})]
        )
        client = client_of(create_app(history))
        body = client.get(f"/api/runs/{rid(1)}/spark").json()
        assert body == {"jobs": [job], "sampled_at": T0 + 1}
        history.finish_run(rid(1), "succeeded")
        assert client.get(f"/api/runs/{rid(1)}/spark").json()["jobs"] == []


class TestCharts:
    def test_points_follow_the_runs_when_runs_overlap(self, tmp_path, client_of):
        history = SqliteRunHistory(tmp_path / "h.db")
        history.start_run(rid(1), "p", started_at=T0)
        history.start_run(rid(2), "p", started_at=T0 + 1)
        history.apply(  # the later run's factory starts (and is stored) first
            [
                StartAttempt(rid(2), 0, "F", 1, T0 + 2),
                FinishAttempt(rid(2), 0, "F", 1, "succeeded", T0 + 3, 1.0),
                StartAttempt(rid(1), 0, "F", 1, T0 + 5),
                FinishAttempt(rid(1), 0, "F", 1, "failed", T0 + 9, 4.0),
            ]
        )
        client = client_of(create_app(history))
        charts = client.get("/api/charts/pipelines/p").json()
        assert [r["run_id"] for r in charts["runs"]] == [rid(1), rid(2)]
        assert [p["run_id"] for p in charts["factories"]["F"]] == [rid(1), rid(2)]
        points = client.get("/api/charts/factories/p/F").json()["points"]
        assert [(p["run_id"], p["duration"]) for p in points] == [
            (rid(1), 4.0),
            (rid(2), 1.0),
        ]
        history.close()

    def test_pipeline_charts(self, client):
        body = client.get("/api/charts/pipelines/daily").json()
        assert [r["run_id"] for r in body["runs"]] == [rid(1), rid(2), rid(3)]
        first = body["runs"][0]
        assert first["cpu_seconds"] == 1.25
        assert first["rss_peak_bytes"] == 1e6
        assert first["rows_in"] == 10
        assert first["rows_out"] is None
        assert body["failure_rate"] == 0.5  # one of the two finished runs
        assert body["factories"]["Extract"] == [
            {"run_id": rid(1), "duration": 2.0, "status": "succeeded"},
            {"run_id": rid(2), "duration": 1.0, "status": "failed"},
        ]
        assert body["kpis"] == {"orders": [{"run_id": rid(1), "value": 7.0}]}

    def test_an_unknown_pipeline_has_no_points(self, client):
        body = client.get("/api/charts/pipelines/nope").json()
        assert body == {"runs": [], "factories": {}, "failure_rate": 0.0, "kpis": {}}

    def test_factory_charts(self, client):
        body = client.get("/api/charts/factories/daily/Extract").json()
        assert body["factory"] == "Extract"
        assert [(p["run_id"], p["status"]) for p in body["points"]] == [
            (rid(1), "succeeded"),
            (rid(2), "failed"),
        ]
        assert body["points"][0]["metrics"]["pysetl_factory_cpu_seconds"] == 1.25
        assert body["points"][1]["metrics"] == {}


class TestRedaction:
    def test_a_secret_registered_later_is_masked_in_every_answer(
        self, recorded, client_of
    ):
        before = client_of(create_app(recorded.history))
        paths = [
            "/api/runs",
            f"/api/runs/{recorded.failed}",
            f"/api/runs/{recorded.failed}/events",
            f"/api/runs/{recorded.failed}/logs",
        ]
        for path in paths:  # the real failure's message is in every answer
            assert "boom" in before.get(path).text, path
        register_secret("boom")
        try:
            # a new app: the run list is shared between requests for up to 1 s
            client = client_of(create_app(recorded.history))
            for path in paths:
                assert "boom" not in client.get(path).text, path
        finally:
            reset_default_redactor()


class TestOpenApi:
    def test_documented_and_no_cdn_pages(self, client):
        spec = client.get("/openapi.json").json()
        paths = set(spec["paths"])
        assert {
            "/api/health",
            "/api/pipelines",
            "/api/runs",
            "/api/runs/{run_id}",
            "/api/runs/{run_id}/logs",
            "/api/runs/{run_id}/events",
            "/api/runs/{run_id}/spark",
            "/api/runs/{run_id}/stream",
            "/api/charts/pipelines/{pipeline}",
            "/api/charts/factories/{pipeline}/{factory}",
        } <= paths
        assert "RunOut" in spec["components"]["schemas"]
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert "cdn" not in client.get("/openapi.json").text.lower()

    def test_unknown_route_is_json_404(self, client):
        response = client.get("/api/nothing")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


class TestStoreDown:
    def test_a_broken_store_answers_503_with_a_hint(self, tmp_path, client_of):
        path = tmp_path / "h.db"
        history = SqliteRunHistory(path)
        record_run(daily(), history)
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE pysetl_runs")
        client = client_of(create_app(history))
        response = client.get("/api/runs")
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "history_unavailable"
        assert "pysetl_runs" in body["message"]
        assert body["hint"]
        history.close()

    def test_health_reports_a_corrupt_store_as_unhealthy(self, tmp_path, client_of):
        path = tmp_path / "h.db"
        history = SqliteRunHistory(path)
        record_run(daily(), history)
        history.close()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'pysetl_runs'"
            ).fetchall()
        data = bytearray(path.read_bytes())
        for (page,) in pages:  # the runs table's pages: it still opens
            data[(page - 1) * size : page * size] = b"\x13" * size
        path.write_bytes(bytes(data))
        history = SqliteRunHistory(path)
        client = client_of(create_app(history))
        response = client.get("/api/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert "malformed" in body["problem"]
        assert body["hint"]
        assert body["version"] == __version__
        history.close()
