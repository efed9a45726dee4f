"""The shipped Grafana dashboards and alerting rules, against a real Prometheus.

A run history is written with two pipelines: ``<g>`` succeeded (100 s), then
failed slowly (1000 s) and is running again; ``<h>`` last succeeded two days
ago. Both are pushed to the Pushgateway and scraped. Then every PromQL
expression of the dashboards (their variables filled in) and of the rules
must parse and return series, and Prometheus must have loaded the rules and
fired the failed-run alert.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pysetl.monitoring.history import (
    AddMetric,
    FinishAttempt,
    SqliteRunHistory,
    StartAttempt,
)
from pysetl.monitoring.prometheus import (
    HistoryCollector,
    PrometheusOptions,
    Pusher,
    alert_rules,
    dashboards,
)

FIGURES = {
    "pysetl_factory_cpu_seconds": 1.5,
    "pysetl_factory_peak_rss_bytes": 2e8,
    "pysetl_factory_rss_growth_bytes": 1e6,
    "pysetl_factory_rows": 10.0,
    "pysetl_factory_spark_jobs": 2.0,
    "pysetl_factory_spark_stages": 3.0,
    "pysetl_factory_spark_tasks": 8.0,
    "pysetl_factory_spark_failed_tasks": 1.0,
    "pysetl_factory_spark_input_records": 100.0,
    "pysetl_factory_spark_input_bytes": 4096.0,
    "pysetl_factory_spark_output_records": 90.0,
    "pysetl_factory_spark_output_bytes": 2048.0,
    "pysetl_factory_spark_shuffle_write_bytes": 512.0,
    "pysetl_factory_spark_executor_run_seconds": 3.0,
    "pysetl_factory_spark_executor_cpu_seconds": 2.0,
}
FACTORIES = ("Load", "Clean")


def _run(
    history, run_id: str, pipeline: str, *, start: float, seconds: float, status: str
) -> None:
    history.start_run(run_id, pipeline, started_at=start)
    ops: list[Any] = []
    end = start + seconds
    for factory in FACTORIES:
        failed = status == "failed" and factory == "Clean"
        ops.append(StartAttempt(run_id, 0, factory, 1, start))
        ops.append(
            FinishAttempt(
                run_id,
                0,
                factory,
                1,
                "failed" if failed else "succeeded",
                end,
                seconds / 2,
                {"read": seconds / 4, "process": seconds / 4},
            )
        )
        ops.extend(
            AddMetric(run_id, name, value, end, factory, {})
            for name, value in FIGURES.items()
        )
        ops.append(AddMetric(run_id, "orders", 5.0, end, factory, {"kind": "counter"}))
    history.apply(ops)
    history.finish_run(run_id, status, finished_at=end)


@dataclass
class Scenario:
    pipeline: str
    stale: str
    slow_at: float  # when the slow run's duration was first scraped


def _push(gateway_url: str, history, pipeline: str) -> None:
    own = CollectorRegistry(auto_describe=False)
    pusher = Pusher(PrometheusOptions(pushgateway=gateway_url), own, "grafana-test")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(history, pipelines=[pipeline]))
    registry.register(own)
    assert pusher.push(pipeline, registry)


def _first_time_of(prometheus, selector: str, value: float, timeout=20.0) -> float:
    deadline = time.monotonic() + timeout
    while True:
        for series in prometheus.query(f"{selector}[10m]"):
            for at, seen in series["values"]:
                if float(seen) == value:
                    return float(at)
        if time.monotonic() > deadline:
            pytest.fail(f"{selector} never was {value}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, pushgateway, prometheus) -> Scenario:
    history = SqliteRunHistory(tmp_path_factory.mktemp("grafana") / "h.db")
    g, h = f"g_{uuid.uuid4().hex[:8]}", f"h_{uuid.uuid4().hex[:8]}"
    now = time.time()
    try:
        _run(
            history,
            "01G00000000000000000000001",
            g,
            start=now - 3000,
            seconds=100,
            status="succeeded",
        )
        _push(pushgateway.url, history, g)
        duration = f'pysetl_pipeline_last_run_duration_seconds{{pipeline="{g}"}}'
        _first_time_of(prometheus, duration, 100)
        _run(
            history,
            "01G00000000000000000000002",
            g,
            start=now - 1100,
            seconds=1000,
            status="failed",
        )
        history.start_run("01G00000000000000000000003", g, started_at=now - 10)
        history.apply(
            [StartAttempt("01G00000000000000000000003", 0, "Load", 1, now - 10)]
        )
        _push(pushgateway.url, history, g)
        slow_at = _first_time_of(prometheus, duration, 1000)
        _run(
            history,
            "01H00000000000000000000001",
            h,
            start=now - 2 * 86400,
            seconds=100,
            status="succeeded",
        )
        _push(pushgateway.url, history, h)
        prometheus.wait_for(
            f'pysetl_pipeline_last_success_timestamp_seconds{{pipeline="{h}"}}'
        )
    finally:
        history.close()
    return Scenario(g, h, slow_at)


def _dashboard(name: str) -> dict[str, Any]:
    found = [d for d in dashboards() if d.name == f"pysetl-{name}.json"]
    assert len(found) == 1
    return json.loads(found[0].read_text())


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows
    return panels


def _fill(expr: str, scenario: Scenario) -> str:
    filled = (
        expr.replace("$pipeline", scenario.pipeline)
        .replace("$factory", "Clean")
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$__interval", "15s")
    )
    assert "$" not in filled, f"an unknown variable in {expr!r}"
    return filled


def _expressions() -> list[tuple[str, str]]:
    found = []
    for name in ("overview", "pipeline", "factory"):
        for panel in _panels(_dashboard(name)):
            found.extend(
                (f"{name}: {panel['title']}", target["expr"])
                for target in panel["targets"]
            )
    return found


LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")


class TestDashboards:
    def test_three_dashboards_are_shipped(self):
        uids = [json.loads(d.read_text())["uid"] for d in dashboards()]
        assert sorted(uids) == ["pysetl-factory", "pysetl-overview", "pysetl-pipeline"]

    @pytest.mark.parametrize("name", ["overview", "pipeline", "factory"])
    def test_panels_fit_the_grid_and_use_the_datasource_variable(self, name):
        board = _dashboard(name)
        panels = _panels(board)
        assert panels
        assert len({p["id"] for p in panels}) == len(panels)
        for panel in panels:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"], panel["title"]
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "datasource" in variables

    @pytest.mark.parametrize(("panel", "expr"), _expressions())
    def test_every_panel_expression_returns_series(
        self, scenario, prometheus, panel, expr
    ):
        result = prometheus.query(_fill(expr, scenario))
        assert result, f"{panel}: no series for {expr!r}"

    @pytest.mark.parametrize("name", ["overview", "pipeline", "factory"])
    def test_every_variable_query_returns_values(self, scenario, prometheus, name):
        for variable in _dashboard(name)["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES.match(variable["query"]["query"])
            assert match, variable
            expr = f"count by ({match['label']}) ({match['selector']})"
            values = {
                s["metric"][match["label"]]
                for s in prometheus.query(_fill(expr, scenario))
            }
            expected = scenario.pipeline if match["label"] == "pipeline" else "Clean"
            assert expected in values


def _rules() -> dict[str, dict[str, Any]]:
    rules = {}
    for path in alert_rules():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                rules[rule["alert"]] = rule
    return rules


class TestAlertRules:
    def test_promtool_accepts_the_rule_files(self, tmp_path):
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        paths = [str(p) for p in alert_rules()]
        assert paths
        checked = subprocess.run(  # noqa: S603 - our own binary, fixed arguments
            [promtool, "check", "rules", *paths],
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_the_three_alerts_are_shipped(self):
        assert set(_rules()) == {
            "PysetlPipelineRunFailed",
            "PysetlPipelineNoRecentSuccess",
            "PysetlPipelineSlowRun",
        }

    def test_a_failed_run_fires(self, scenario, prometheus):
        result = prometheus.query(_rules()["PysetlPipelineRunFailed"]["expr"])
        assert scenario.pipeline in {s["metric"]["pipeline"] for s in result}
        assert scenario.stale not in {s["metric"]["pipeline"] for s in result}

    def test_no_recent_success_fires_for_the_stale_pipeline_only(
        self, scenario, prometheus
    ):
        result = prometheus.query(_rules()["PysetlPipelineNoRecentSuccess"]["expr"])
        pipelines = {s["metric"]["pipeline"] for s in result}
        assert scenario.stale in pipelines
        assert scenario.pipeline not in pipelines

    def test_a_run_over_its_p95_fires(self, scenario, prometheus):
        expr = _rules()["PysetlPipelineSlowRun"]["expr"]
        at = prometheus.query_at(expr, scenario.slow_at)
        assert scenario.pipeline in {s["metric"]["pipeline"] for s in at}
        # before the slow run, the usual duration did not fire
        before = prometheus.query_at(expr, scenario.slow_at - 1)
        assert scenario.pipeline not in {s["metric"]["pipeline"] for s in before}

    def test_prometheus_loaded_the_rules_and_fires_the_failed_run(
        self, scenario, prometheus
    ):
        answer = json.loads(prometheus.get("/api/v1/rules"))
        loaded = {
            rule["name"]: rule["health"]
            for group in answer["data"]["groups"]
            for rule in group["rules"]
        }
        assert set(_rules()) <= set(loaded)
        assert {loaded[name] for name in _rules()} == {"ok"}
        prometheus.wait_for(
            f'ALERTS{{alertname="PysetlPipelineRunFailed",'
            f'pipeline="{scenario.pipeline}",alertstate="firing"}}'
        )
