"""The TPC-H pipeline through a Spark Connect server, with figures per factory.

The module starts a Spark Connect server from the installed pyspark (pyspark
4 ships it in its jars) and runs the TPC-H pipeline against ``sc://...`` in
a process of its own, recording into PostgreSQL. No SparkContext exists on
the client: each factory's operations carry its Spark Connect operation tag,
and the metrics collector reads the server's REST API by that tag. The
region report is checked against the same sums done in Python over the
generated Parquet files.
"""

from __future__ import annotations

import json
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
