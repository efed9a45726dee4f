"""The TPC-H pipeline through a Spark Connect server, with figures per factory.

The module starts a Spark Connect server from the installed pyspark (pyspark
4 ships it in its jars) and runs the TPC-H pipeline against ``sc://...`` in
a process of its own, recording into PostgreSQL. No SparkContext exists on
the client: each factory's operations carry its Spark Connect operation tag,
and the metrics collector reads the server's REST API by that tag. The
region report is checked against the same sums done in Python over the
generated Parquet files.

A factory's timeout is checked there too: ``SlowJob``'s one task would sleep
for minutes; after its 5 s timeout the engine interrupts its operation tag
(``SparkSession.interruptTag``), the server kills the task, and the factory's
own Spark action returns with ``OPERATION_CANCELED``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.cluster._standalone import connect_server

from pysetl.monitoring.history import PostgresRunHistory

pytestmark = [
    pytest.mark.spark_connect,
    pytest.mark.spark,
    pytest.mark.postgres,
    pytest.mark.timeout(1500),
]

FACTORIES = {"OrderRevenue", "CustomerPlaces", "SegmentRevenue", "RegionRevenue"}
PREFIX = "pysetl_factory_spark_"
SHIPPED_BY = date(1998, 9, 2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with connect_server(tmp_path_factory.mktemp("connect")) as running:
        yield running


@pytest.fixture(scope="module")
def run(server, pg_url_module, run_pipelines_module):
    found = run_pipelines_module(
        [{"name": "connect", "remote": server.remote}], ["tpch"], pg_url_module
    )
    return found["modes"]["connect"]["tpch"] | {"work": found["work"]}


@pytest.fixture(scope="module")
def history(pg_url_module):
    store = PostgresRunHistory(pg_url_module)
    yield store
    store.close()


def expected_regions(data: Path) -> list[list[str]]:
    """The region report, summed in Python from the generated tables."""

    def rows(name):
        return pq.read_table(data / f"{name}.parquet").to_pylist()

    revenue: dict[int, Decimal] = defaultdict(Decimal)
    for line in rows("lineitem"):
        if line["l_shipdate"] <= SHIPPED_BY:
            revenue[line["l_orderkey"]] += line["l_extendedprice"] * (
                1 - line["l_discount"]
            )
    regions = {r["r_regionkey"]: r["r_name"] for r in rows("region")}
    nations = {n["n_nationkey"]: n for n in rows("nation")}
    customers = {}
    for c in rows("customer"):
        nation = nations[c["c_nationkey"]]
        customers[c["c_custkey"]] = (
            regions[nation["n_regionkey"]],
            nation["n_name"],
            c["c_mktsegment"],
        )
    orders: dict[tuple[str, str], int] = defaultdict(int)
    money: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    places: dict[tuple[str, str], set[str]] = defaultdict(set)
    for order in rows("orders"):
        if order["o_orderkey"] not in revenue:
            continue
        region, nation, segment = customers[order["o_custkey"]]
        orders[region, segment] += 1
        money[region, segment] += revenue[order["o_orderkey"]]
        places[region, segment].add(nation)
    body = sorted(
        [
            region,
            segment,
            str(len(places[region, segment])),
            str(orders[region, segment]),
            str(money[region, segment].quantize(Decimal("0.0001"))),
        ]
        for region, segment in orders
    )
    return [["region", "segment", "nations", "orders", "revenue"], *body]


class TestThroughSparkConnect:
    def test_the_run_succeeds_with_the_right_revenue(self, run):
        assert run["status"] == "succeeded", run["error"]
        data = Path(run["work"]) / "tpch-data"
        assert run["outputs"]["tpch/region_revenue"] == expected_regions(data)
        segments = run["outputs"]["tpch/segment_revenue"]
        assert len(segments) == 1 + 25 * 5  # 25 nations x 5 market segments

    def test_each_factory_s_spark_figures_come_through_its_operation_tag(
        self, run, history, server
    ):
        found: dict[str, dict[str, float]] = defaultdict(dict)
        executors: dict[str, dict[str, float]] = defaultdict(dict)
        for row in history.list_metrics(run["run_id"], limit=1000).items:
            if row.factory is None or not row.name.startswith(PREFIX):
                continue
            name = row.name.removeprefix(PREFIX)
            if name == "executor_tasks":
                executors[row.factory][row.labels["executor"]] = row.value
            else:
                found[row.factory][name] = row.value
        # The server's own view: its jobs, by the factory named in their tag.
        jobs, tasks = server_jobs_by_factory(server.ui_url, run["run_id"])
        # Reading is lazy on Connect: a factory that only builds a DataFrame
        # (schemas come from analysis requests, not jobs) runs no job; the
        # writers run them all.
        assert {"SegmentRevenue", "RegionRevenue"} <= jobs.keys() <= FACTORIES
        assert found.keys() == jobs.keys()
        for factory in jobs:
            assert found[factory]["jobs"] == jobs[factory], factory
            assert found[factory]["tasks"] == tasks[factory], factory
            # the server runs local[1]: its driver is its only executor
            assert executors[factory] == {"driver": tasks[factory]}, factory
        assert found["SegmentRevenue"]["output_records"] == 125
        assert found["RegionRevenue"]["output_records"] == 25
        assert found["SegmentRevenue"]["peak_execution_memory_bytes"] > 0


@pytest.fixture(scope="module")
def timed_out(server, pg_url_module, run_pipelines_module):
    found = run_pipelines_module(
        [{"name": "connect", "remote": server.remote}], ["timeout"], pg_url_module
    )
    return found["modes"]["connect"]["timeout"]


class TestTimeoutThroughSparkConnect:
    def test_the_timeout_interrupts_the_factory_s_operations_on_the_server(
        self, timed_out, server, history
    ):
        error = timed_out["error"]
        assert error is not None, timed_out
        assert error["type"] == "FactoryTimeoutError"
        assert "'SlowJob' timed out in 'process'" in error["message"]
        hint = error["hint"]
        assert hint.startswith("its Spark job group was cancelled"), hint
        assert "abandoned" not in hint
        assert not error["abandoned"]
        # The factory's Spark action returned on its own, failed by the server
        # (interruptTag), before any interrupt of its thread: without the
        # cancel, the Python interrupt ends the thread and there is no cause.
        (cause,) = error["causes"]
        assert "[OPERATION_CANCELED]" in cause, cause
        # The task would sleep for minutes: the run ended soon after its timeout.
        limit = timed_out["timeout"] + timed_out["grace"] + 15.0
        assert timed_out["seconds"] < limit < timed_out["sleep_seconds"]
        # The server's view: the factory's job failed, its sleeping task killed.
        job = settled_job(server.ui_url, timed_out["run_id"], "SlowJob")
        assert job["status"] == "FAILED", job
        assert job["numActiveTasks"] == 0, job
        assert job["numKilledTasks"] == 1, job
        assert "SPARK_JOB_CANCELLED" in str(job["killedTasksSummary"]), job
        (attempt,) = history.list_factory_attempts(timed_out["run_id"]).items
        assert attempt.status == "failed"
        assert attempt.error["error_type"] == "FactoryTimeoutError"
        causes = " ".join(c["message"] for c in attempt.error["causes"])
        assert "OPERATION_CANCELED" in causes, attempt.error


def settled_job(ui_url: str, run_id: str, factory: str) -> dict[str, object]:
    """The server's one job tagged with ``factory``, once it no longer runs."""
    base = f"{ui_url}/api/v1/applications"
    with urllib.request.urlopen(base, timeout=60) as response:  # noqa: S310 - loopback http
        (app,) = json.loads(response.read())
    mark = f"_Tag_pysetl:{run_id}:{factory}"
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(  # noqa: S310 - as above
            f"{base}/{app['id']}/jobs", timeout=60
        ) as response:
            listed = json.loads(response.read())
        (job,) = [
            job for job in listed if any(t.endswith(mark) for t in job["jobTags"])
        ]
        if job["status"] != "RUNNING" or time.monotonic() > deadline:
            return job  # type: ignore[no-any-return]
        time.sleep(0.5)


def server_jobs_by_factory(
    ui_url: str, run_id: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Jobs and task attempts per factory, from the server's REST API and job tags."""
    base = f"{ui_url}/api/v1/applications"
    with urllib.request.urlopen(base, timeout=60) as response:  # noqa: S310 - loopback http
        (app,) = json.loads(response.read())
    jobs_url = f"{base}/{app['id']}/jobs"
    with urllib.request.urlopen(jobs_url, timeout=60) as response:  # noqa: S310 - as above
        listed = json.loads(response.read())
    mark = f"_Tag_pysetl:{run_id}:"
    jobs: dict[str, int] = defaultdict(int)
    tasks: dict[str, int] = defaultdict(int)
    for job in listed:
        (factory,) = {
            tag.split(mark, 1)[1] for tag in job["jobTags"] if mark in tag
        } or {None}
        if factory is not None:
            jobs[factory] += 1
            tasks[factory] += (
                job["numCompletedTasks"] + job["numFailedTasks"] + job["numKilledTasks"]
            )
    return dict(jobs), dict(tasks)
