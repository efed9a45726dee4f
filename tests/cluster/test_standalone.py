"""The demo and TPC-H pipelines on a Spark standalone cluster, as in local mode.

One run of ``_pipelines.py`` runs both pipelines in local mode, then on the
module's standalone cluster (a master, two workers), recording into one
PostgreSQL history. The tests compare the reports written (sorted rows,
exactly), and read the history: each factory's Spark figures through its job
group, the executor-side figures (tasks per executor, GC, peak memory), and
what the dashboard's API and ``pysetl runs show`` make of them.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from pysetl.cli import commands
from pysetl.dashboard import create_app
from pysetl.monitoring.history import PostgresRunHistory

# On an idle 2-core machine the module takes about a minute and a half; the
# timeout leaves room for a loaded one (its setup runs four pipelines).
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.spark,
    pytest.mark.postgres,
    pytest.mark.timeout(1500),
]

PIPELINES = ["flights", "tpch"]
FACTORIES = {
    "flights": {
        "CleanFlights",
        "CarrierDelaysReport",
        "RouteTrafficReport",
        "Headlines",
    },
    "tpch": {"OrderRevenue", "CustomerPlaces", "SegmentRevenue", "RegionRevenue"},
}
WRITERS = {
    "flights": {"CarrierDelaysReport", "RouteTrafficReport"},
    "tpch": {"SegmentRevenue", "RegionRevenue"},
}
PREFIX = "pysetl_factory_spark_"


@pytest.fixture(scope="module")
def runs(spark_cluster, pg_url_module, run_pipelines_module) -> dict[str, Any]:
    """Both pipelines, in local mode then on the cluster, in one history."""
    found = run_pipelines_module(
        [
            {"name": "local", "master": "local[2]"},
            {"name": "cluster", "master": spark_cluster.master_url},
        ],
        PIPELINES,
        pg_url_module,
    )
    for mode, results in found["modes"].items():  # shown with -s
        took = {k: round(v["seconds"], 1) for k, v in results.items() if k in PIPELINES}
        print(f"{mode}: session {results['session_seconds']:.1f} s, runs {took}")  # noqa: T201
    return found["modes"]


@pytest.fixture(scope="module")
def history(pg_url_module):
    store = PostgresRunHistory(pg_url_module)
    yield store
    store.close()


def figures(history, run_id: str) -> dict[str, dict[str, Any]]:
    """Per factory: its Spark figures by name, and its tasks per executor."""
    found: dict[str, dict[str, Any]] = defaultdict(lambda: {"executors": {}})
    cursor = None
    while True:
        page = history.list_metrics(run_id, limit=1000, cursor=cursor)
        for row in page.items:
            if row.factory is None or not row.name.startswith(PREFIX):
                continue
            name = row.name.removeprefix(PREFIX)
            if name == "executor_tasks":
                found[row.factory]["executors"][row.labels["executor"]] = row.value
            else:
                found[row.factory][name] = row.value
        cursor = page.next_cursor
        if cursor is None:
            return dict(found)


class TestSameResults:
    @pytest.mark.parametrize("pipeline", PIPELINES)
    def test_both_modes_succeed_and_write_the_same_rows(self, runs, pipeline):
        local, cluster = runs["local"][pipeline], runs["cluster"][pipeline]
        assert local["status"] == "succeeded", local["error"]
        assert cluster["status"] == "succeeded", cluster["error"]
        assert local["outputs"].keys() == cluster["outputs"].keys()
        for name, rows in local["outputs"].items():
            assert len(rows) > 1, f"{name} is empty"  # a header, then the rows
            assert cluster["outputs"][name] == rows, name


class TestFiguresOnTheCluster:
    @pytest.mark.parametrize("pipeline", PIPELINES)
    def test_every_factory_has_its_spark_figures_in_both_modes(
        self, runs, history, pipeline
    ):
        by_mode = {
            mode: figures(history, runs[mode][pipeline]["run_id"])
            for mode in ("local", "cluster")
        }
        for mode, found in by_mode.items():
            assert FACTORIES[pipeline] <= found.keys(), mode
            for factory in FACTORIES[pipeline]:
                spark = found[factory]
                assert spark["jobs"] >= 1, (mode, factory)
                assert spark["tasks"] >= 1, (mode, factory)
                # every task of the factory ran on an executor it names
                assert sum(spark["executors"].values()) == spark["tasks"], (
                    mode,
                    factory,
                )
            for factory in WRITERS[pipeline]:
                assert found[factory]["output_records"] > 0, (mode, factory)
                assert found[factory]["output_bytes"] > 0, (mode, factory)
        # the same rows were written, wherever the tasks ran (rows read are
        # not compared: factories side by side share a cached input, and
        # which of them fills the cache first varies from run to run)
        for factory in FACTORIES[pipeline]:
            local = by_mode["local"][factory].get("output_records")
            assert by_mode["cluster"][factory].get("output_records") == local, factory

    @pytest.mark.parametrize("pipeline", PIPELINES)
    def test_executor_figures_name_the_cluster_s_executors(
        self, runs, history, pipeline
    ):
        local = figures(history, runs["local"][pipeline]["run_id"])
        cluster = figures(history, runs["cluster"][pipeline]["run_id"])
        assert {e for f in local.values() for e in f["executors"]} == {"driver"}
        on_cluster = defaultdict(float)
        for found in cluster.values():
            for executor, tasks in found["executors"].items():
                on_cluster[executor] += tasks
        # two workers of one core: two executors, and both ran tasks
        assert set(on_cluster) == {"0", "1"}
        assert all(tasks > 0 for tasks in on_cluster.values())
        assert any(f.get("executor_cpu_seconds", 0) > 0 for f in cluster.values())
        assert any(f.get("jvm_gc_seconds", 0) > 0 for f in cluster.values()) or all(
            "jvm_gc_seconds" not in f for f in cluster.values()
        )
        aggregating = "SegmentRevenue" if pipeline == "tpch" else "CarrierDelaysReport"
        assert cluster[aggregating]["peak_execution_memory_bytes"] > 0


class TestShown:
    def test_the_dashboard_shows_a_factory_s_executor_figures(self, runs, history):
        run_id = runs["cluster"]["tpch"]["run_id"]
        with TestClient(create_app(history)) as client:
            detail = client.get(f"/api/runs/{run_id}").json()
        metrics = {f["factory"]: f["metrics"] for f in detail["factories"]}[
            "SegmentRevenue"
        ]
        executors = {
            name for name in metrics if name.startswith(f"{PREFIX}executor_tasks{{")
        }
        assert executors <= {
            f"{PREFIX}executor_tasks{{executor=0}}",
            f"{PREFIX}executor_tasks{{executor=1}}",
        }
        assert executors
        assert metrics[f"{PREFIX}peak_execution_memory_bytes"] > 0

    def test_runs_show_prints_the_spark_figures_per_factory(self, runs, history):
        run_id = runs["cluster"]["tpch"]["run_id"]
        out = io.StringIO()
        commands.show_run(history, run_id, console=Console(file=out, width=200))
        text = out.getvalue()
        assert "Spark figures" in text
        (line,) = [
            ln
            for ln in text.splitlines()
            if ln.strip().startswith("SegmentRevenue") and "0:" in ln
        ]
        tasks = figures(history, run_id)["SegmentRevenue"]["executors"]
        for executor, count in tasks.items():
            assert f"{executor}:{int(count)}" in line
