"""The JSON API over real recorded runs (``pysetl.testing.record_run``).

The seeded ``history`` pins exact figures; these tests pin that what a real
run writes (through the recorder, the metrics collector and the log
capture) is what the API shows.
"""

from __future__ import annotations

import pytest

from pysetl.dashboard import create_app


@pytest.fixture
def api(recorded, client_of):
    return client_of(create_app(recorded.history))


class TestRecordedRuns:
    def test_pipelines_and_runs(self, recorded, api):
        items = api.get("/api/pipelines").json()["items"]
        assert [(p["pipeline"], p["runs"], p["last_status"]) for p in items] == [
            ("daily", 2, "failed"),
            ("weekly", 1, "succeeded"),
        ]
        assert items[0]["last_run_id"] == recorded.failed
        runs = api.get("/api/runs").json()["items"]
        assert [r["run_id"] for r in runs] == [
            recorded.weekly,
            recorded.failed,
            recorded.ok,
        ]
        ok = runs[-1]
        assert ok["factories"] == {
            "total": 2,
            "succeeded": 2,
            "failed": 0,
            "running": 0,
        }
        assert ok["duration"] == pytest.approx(ok["finished_at"] - ok["started_at"])
        assert ok["stale"] is False

    def test_run_detail_of_a_real_run(self, recorded, api):
        detail = api.get(f"/api/runs/{recorded.ok}").json()
        assert detail["run"]["status"] == "succeeded"
        assert [s["stage_id"] for s in detail["stages"]] == [0, 1]
        assert [f["factory"] for f in detail["factories"]] == ["Extract", "Load"]
        extract = detail["factories"][0]
        assert set(extract["phases"]) == {"read", "process", "write", "get"}
        assert extract["metrics"]["orders"] == 7
        assert "pysetl_factory_cpu_seconds" in extract["metrics"]
        assert detail["graph"] == {
            "nodes": [
                {"id": "Extract", "stage_id": 0},
                {"id": "Load", "stage_id": 1},
            ],
            "edges": [{"source": "Extract", "target": "Load", "delivery": "rows"}],
        }
        assert detail["progress"] == {"done": 2, "total": 2}

    def test_a_failed_real_run_carries_the_engines_error_and_hint(self, recorded, api):
        run = api.get("/api/runs", params={"status": "failed"}).json()["items"][0]
        assert run["run_id"] == recorded.failed
        error = run["error"]
        assert error["type"] == "FactoryError"
        assert "ZeroDivisionError: boom" in error["message"]
        assert error["factory"] == "Broken"
        assert error["stage"] == 0
        assert error["phase"] == "process"
        assert error["attempt"] == 1
        assert "Broken.process()" in error["hint"]
        assert "ZeroDivisionError" in error["context"]["traceback"]

    def test_a_factorys_log_lines(self, recorded, api):
        lines = api.get(
            f"/api/runs/{recorded.ok}/logs", params={"factory": "Extract"}
        ).json()["items"]
        assert [(x["level"], x["message"], x["logger"]) for x in lines] == [
            ("WARNING", f"line {i}", "tests.dashboard") for i in range(3)
        ]
        found = api.get(f"/api/runs/{recorded.ok}/logs", params={"q": "LINE 1"})
        assert [x["message"] for x in found.json()["items"]] == ["line 1"]

    def test_events_start_with_the_run(self, recorded, api):
        events = api.get(f"/api/runs/{recorded.ok}/events").json()["items"]
        names = [e["name"] for e in events]
        assert names[0] == "before_pipeline_run"
        assert names[-1] == "after_pipeline_run"
        assert names.count("before_stage_run") == 2

    def test_charts_of_real_runs(self, recorded, api):
        body = api.get("/api/charts/pipelines/daily").json()
        assert [r["run_id"] for r in body["runs"]] == [recorded.ok, recorded.failed]
        assert body["failure_rate"] == 0.5
        assert body["kpis"] == {"orders": [{"run_id": recorded.ok, "value": 7.0}]}
        assert [p["status"] for p in body["factories"]["Extract"]] == ["succeeded"]
        assert [p["status"] for p in body["factories"]["Broken"]] == ["failed"]
