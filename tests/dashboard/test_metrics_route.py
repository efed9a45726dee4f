"""``/metrics``: the history's figures for Prometheus to scrape."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pysetl.dashboard import create_app

PROMTOOL = "/usr/bin/promtool"


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def test_metrics_of_real_runs_are_scrapable(recorded, client_of):
    client = client_of(create_app(recorded.history))
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)
    pipelines = {labels.get("pipeline") for _, labels, _ in found}
    assert {"daily", "weekly"} <= pipelines
    assert not any("run_id" in labels for _, labels, _ in found)  # bounded labels
    last = {
        labels["status"]: value
        for name, labels, value in found
        if name == "pysetl_pipeline_last_run_status" and labels["pipeline"] == "daily"
    }
    assert last["failed"] == 1  # daily's last run failed (Broken)
    checked = subprocess.run(  # noqa: S603 - Debian's promtool, our output
        [PROMTOOL, "check", "metrics"],
        input=answer.text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_the_extra_it_says_what_to_install(
    memory_history, client_of, monkeypatch
):
    for name in list(sys.modules):
        if name.startswith(("pysetl.monitoring.prometheus", "prometheus_client")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # not installed
    client = client_of(create_app(memory_history))
    answer = client.get("/metrics")
    assert answer.status_code == 501
    body = answer.json()
    assert body["error"] == "extra_missing"
    assert body["hint"] == "pip install 'pysetl[prometheus]'"


@pytest.mark.parametrize("token", ["a-long-enough-dashboard-token-1"])
def test_it_needs_the_token_like_every_route(recorded, client_of, token):
    client = client_of(create_app(recorded.history, token=token))
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "pysetl_pipeline_last_run_status" in answer.text
