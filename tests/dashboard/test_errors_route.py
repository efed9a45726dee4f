"""``/api/errors``: the error groups of real recorded runs, with their trend."""

from __future__ import annotations

from datetime import datetime, timezone

from typing_extensions import Self

from pysetl.dashboard import create_app
from pysetl.monitoring.errors import error_groups
from pysetl.testing import record_run, temporary_history
from pysetl.workflow import Delivery, Factory, Pipeline


def test_groups_of_real_runs_with_a_daily_trend(recorded, client_of):
    client = client_of(create_app(recorded.history))
    answer = client.get("/api/errors")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (group,) = body["items"]
    assert group["error_class"] == "ZeroDivisionError"
    assert group["factory"] == "Broken"
    assert group["title"] == "boom"
    assert (group["count"], group["runs"]) == (1, 1)
    assert group["pipelines"] == ["daily"]
    assert group["last_run_id"] == recorded.failed
    assert group["fingerprint"] == error_groups(recorded.history)[0].fingerprint
    today = datetime.now(tz=timezone.utc).date().isoformat()
    assert len(group["trend"]) == 8  # the 7 days back and today
    assert group["trend"][-1] == {"day": today, "count": 1}
    assert sum(d["count"] for d in group["trend"]) == 1
    assert body["since"] < group["first_seen"]


def test_filters_and_bad_parameters(recorded, client_of):
    client = client_of(create_app(recorded.history))
    assert (
        client.get("/api/errors", params={"pipeline": "weekly"}).json()["items"] == []
    )
    one_day = client.get("/api/errors", params={"days": 1}).json()
    assert len(one_day["items"][0]["trend"]) == 2
    for params in ({"days": 0}, {"days": "x"}, {"limit": 0}, {"limit": 501}):
        answer = client.get("/api/errors", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["error"] == "invalid_parameter"


def test_is_documented_in_the_schema(recorded, client_of):
    client = client_of(create_app(recorded.history))
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/errors" in paths


class NeedsText(Factory[int]):
    """Wants a string nothing produces: its run fails before any factory."""

    text = Delivery[str]()

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


def test_a_run_level_failure_has_no_factory(tmp_path, client_of):
    store = temporary_history("sqlite", tmp_path)
    run_id = record_run(
        Pipeline(name="reports").add_stage_from_type(NeedsText), store, check=False
    )
    client = client_of(create_app(store))
    (group,) = client.get("/api/errors").json()["items"]
    assert group["factory"] is None
    assert group["error_class"] == "DependencyResolutionError"
    assert group["last_run_id"] == run_id
    store.close()
