"""The runs API filtered by host, over real runs recorded from two hosts.

Each run is recorded by ``pysetl.testing.record_run`` while the process
presents a host name with ``PYSETL_HOST`` (what two machines sharing one
history record); ``/api/runs?host=...`` then lists the runs of one host only
(issue 18: "the dashboard and CLI filter by host"). The page's Host box is
tested in chromium in ``browser/test_host_box.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pysetl.dashboard import create_app
from pysetl.monitoring.history import BaseRunHistory
from pysetl.settings import reset_settings
from pysetl.testing import record_run, temporary_history
from pysetl.workflow import Pipeline

from .conftest import Broken, Extract, daily


@dataclass
class TwoHosts:
    """Runs recorded from ``etl-a`` and ``etl-b``, oldest first."""

    history: BaseRunHistory
    a: list[str]  # daily (ok), daily (failed), weekly
    b: list[str]  # daily (ok), weekly


@pytest.fixture(params=["memory", "sqlite"])
def two_hosts(request, tmp_path, monkeypatch) -> Iterator[TwoHosts]:
    """Five real runs, alternating between two hosts."""
    store = temporary_history(request.param, tmp_path)

    def as_host(name: str, pipeline: Pipeline, *, check: bool = True) -> str:
        monkeypatch.setenv("PYSETL_HOST", name)
        reset_settings()
        return record_run(pipeline, store, check=check)

    failing = Pipeline(name="daily").add_stage_from_type(Broken)
    a1 = as_host("etl-a", daily())
    b1 = as_host("etl-b", daily())
    a2 = as_host("etl-a", failing, check=False)
    b2 = as_host("etl-b", Pipeline(name="weekly").add_stage_from_type(Extract))
    a3 = as_host("etl-a", Pipeline(name="weekly").add_stage_from_type(Extract))
    yield TwoHosts(store, [a1, a2, a3], [b1, b2])
    store.close()


@pytest.fixture
def api(two_hosts, client_of):
    return client_of(create_app(two_hosts.history))


def runs(api, **params) -> list[tuple[str, str]]:
    """``(run_id, host)`` of each run ``/api/runs`` lists for ``params``."""
    response = api.get("/api/runs", params=params)
    assert response.status_code == 200, response.text
    return [(r["run_id"], r["host"]) for r in response.json()["items"]]


class TestHostFilter:
    def test_every_host_without_the_filter(self, two_hosts, api):
        listed = runs(api)
        assert len(listed) == 5
        assert {host for _, host in listed} == {"etl-a", "etl-b"}

    def test_only_the_runs_of_the_host_newest_first(self, two_hosts, api):
        a = [(run, "etl-a") for run in reversed(two_hosts.a)]
        b = [(run, "etl-b") for run in reversed(two_hosts.b)]
        assert runs(api, host="etl-a") == a
        assert runs(api, host="etl-b") == b

    def test_with_the_other_filters(self, two_hosts, api):
        _, a2, a3 = two_hosts.a
        b1, _ = two_hosts.b
        assert runs(api, host="etl-b", pipeline="daily") == [(b1, "etl-b")]
        assert runs(api, host="etl-a", pipeline="weekly") == [(a3, "etl-a")]
        assert runs(api, host="etl-a", status="failed") == [(a2, "etl-a")]
        assert runs(api, host="etl-b", status="failed") == []

    def test_pages_stay_on_the_host(self, two_hosts, api):
        first = api.get("/api/runs", params={"host": "etl-a", "limit": 2}).json()
        assert [r["run_id"] for r in first["items"]] == two_hosts.a[:0:-1]
        rest = api.get(
            "/api/runs",
            params={"host": "etl-a", "limit": 2, "cursor": first["next_cursor"]},
        ).json()
        assert [r["run_id"] for r in rest["items"]] == two_hosts.a[:1]
        assert rest["next_cursor"] is None

    def test_a_host_without_runs_lists_none(self, api):
        assert runs(api, host="etl-c") == []
        assert runs(api, host="etl") == []  # the whole name, not a prefix

    def test_a_host_name_too_long_is_422_naming_it(self, api):
        response = api.get("/api/runs", params={"host": "x" * 256})
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "invalid_parameter"
        assert "'host'" in body["message"]
