"""``AlertmanagerNotifier``: the real Alertmanager shows, then resolves, the alert."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid

import pytest

from pysetl.errors import ConfigError, NotificationError
from pysetl.monitoring.alerts.notifiers import AlertmanagerNotifier


def _ours(test_id: str):
    def check(alerts):
        return [a for a in alerts if a["labels"].get("test_id") == test_id]

    return check


def _parse(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class TestAgainstAlertmanager:
    def test_a_failing_run_fires_and_a_good_run_resolves(
        self, alertmanager, firing, resolving
    ):
        test_id = uuid.uuid4().hex
        notifier = AlertmanagerNotifier(
            url=alertmanager.url, labels={"test_id": test_id}
        )
        now = time.time()
        notifier.send([firing(started_at=now - 60)], timeout=5)

        found = alertmanager.wait_for(lambda a: bool(_ours(test_id)(a)), active="true")
        (alert,) = _ours(test_id)(found)
        assert alert["status"]["state"] == "active"
        assert alert["labels"] == {
            "alertname": "factory_failed",
            "severity": "critical",
            "pipeline": "orders",
            "factory": "CleanOrders",
            "test_id": test_id,
        }
        assert alert["annotations"] == {
            "summary": "CleanOrders failed in pipeline orders",
            "description": "CleanOrders raised FactoryError after 3 attempts.",
            "run_id": "01JEXAMPLE0RUN0ID",
            "error_class": "FactoryError",
            "hint": "check the schema of raw.orders",
            "dashboard_url": "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
            "alert_key": "factory_failed|pipeline=orders|factory=CleanOrders",
        }
        assert alert["generatorURL"] == "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID"
        assert abs(_parse(alert["startsAt"]) - (now - 60)) < 0.01
        # Active for firing_ttl (7 days by default) unless notified again.
        assert _parse(alert["endsAt"]) == pytest.approx(now + 7 * 86400, abs=5)

        notifier.send([resolving(started_at=now - 60, ended_at=time.time())], timeout=5)
        alertmanager.wait_for(lambda a: not _ours(test_id)(a))

    def test_a_batch_is_one_request_with_every_alert(self, alertmanager, firing):
        test_id = uuid.uuid4().hex
        notifier = AlertmanagerNotifier(
            url=alertmanager.url, labels={"test_id": test_id}
        )
        notifier.send(
            [firing(factory="A", labels={}), firing(factory="B", labels={})],
            timeout=5,
        )
        found = alertmanager.wait_for(lambda a: len(_ours(test_id)(a)) == 2)
        assert sorted(a["labels"]["factory"] for a in _ours(test_id)(found)) == [
            "A",
            "B",
        ]

    def test_alertmanager_refusing_an_alert_is_named(self, alertmanager, resolving):
        notifier = AlertmanagerNotifier(url=alertmanager.url)
        ends_before_it_starts = resolving(ended_at=resolving().started_at - 1)
        with pytest.raises(NotificationError, match="answered HTTP 400") as info:
            notifier.send([ends_before_it_starts], timeout=5)
        assert "start time must be before end time" in str(info.value)
        assert not info.value.retryable
        assert info.value.endpoint == f"{alertmanager.url}/api/v2/alerts"


class TestPayload:
    def test_the_request_is_a_post_to_the_v2_api(self, receiver, firing):
        AlertmanagerNotifier(url=f"{receiver.url}/am/").send([firing()], timeout=5)
        assert receiver.last.path == "/am/api/v2/alerts"
        (alert,) = receiver.last.json()
        assert set(alert) == {
            "labels",
            "annotations",
            "startsAt",
            "endsAt",
            "generatorURL",
        }
        assert alert["startsAt"] == "2025-12-03T10:00:00.250Z"

    def test_a_resolved_alert_ends_when_it_resolved(self, receiver, resolving):
        AlertmanagerNotifier(url=receiver.url).send([resolving()], timeout=5)
        (alert,) = receiver.last.json()
        assert alert["endsAt"] == "2025-12-03T11:00:00.250Z"
        assert "error_class" not in alert["annotations"]

    def test_a_resolved_alert_without_its_end_ends_now(self, receiver, resolving):
        before = time.time()
        AlertmanagerNotifier(url=receiver.url).send(
            [resolving(ended_at=None)], timeout=5
        )
        (alert,) = receiver.last.json()
        assert before - 0.01 <= _parse(alert["endsAt"]) <= time.time()

    def test_without_a_ttl_alertmanager_decides(self, receiver, firing):
        AlertmanagerNotifier(url=receiver.url, firing_ttl=None).send(
            [firing()], timeout=5
        )
        assert "endsAt" not in receiver.last.json()[0]

    def test_labels_are_made_valid_and_the_rule_names_the_alert(self, receiver, firing):
        AlertmanagerNotifier(url=receiver.url, labels={"team": "data"}).send(
            [
                firing(
                    labels={
                        "pipeline.id": "p1",
                        "9lives": "x",
                        "": "e",
                        "alertname": "spoof",
                        "empty": "",
                    },
                    url="/runs/relative",
                )
            ],
            timeout=5,
        )
        (alert,) = receiver.last.json()
        assert alert["labels"] == {
            "pipeline_id": "p1",
            "_9lives": "x",
            "_": "e",
            "alertname": "factory_failed",
            "severity": "critical",
            "pipeline": "orders",
            "factory": "CleanOrders",
            "team": "data",
        }
        assert "generatorURL" not in alert  # Alertmanager wants an absolute URL

    def test_a_token_is_a_bearer_header(self, receiver, firing, canary):
        AlertmanagerNotifier(url=receiver.url, token=canary).send([firing()], timeout=5)
        assert receiver.last.headers["authorization"] == f"Bearer {canary}"

    def test_basic_authentication(self, receiver, firing, canary):
        AlertmanagerNotifier(url=receiver.url, username="am", password=canary).send(
            [firing()], timeout=5
        )
        expected = base64.b64encode(f"am:{canary}".encode()).decode()
        assert receiver.last.headers["authorization"] == f"Basic {expected}"

    def test_no_credentials_no_header(self, receiver, firing):
        AlertmanagerNotifier(url=receiver.url).send([firing()], timeout=5)
        assert "authorization" not in receiver.last.headers


class TestOptions:
    @pytest.mark.parametrize(
        ("options", "problem"),
        [
            ({"username": "am"}, "username and password go together"),
            ({"password": "pw-secret-1"}, "username and password go together"),
            (
                {"token": "t-secret-1", "username": "am", "password": "pw-secret-1"},
                "either token or username",
            ),
            ({"labels": {"bad-name": "x"}}, "not a label name"),
            ({"firing_ttl": 5}, "'firing_ttl'"),
        ],
    )
    def test_bad_options_are_named(self, options, problem):
        with pytest.raises(ConfigError, match=problem) as info:
            AlertmanagerNotifier(url="http://am:9093", **options)
        assert "secret-1" not in str(info.value)

    def test_the_endpoint_shows_the_api_path(self):
        assert AlertmanagerNotifier(url="http://am:9093").endpoint == (
            "http://am:9093/api/v2/alerts"
        )
        assert AlertmanagerNotifier(url="http://am:9093/prefix").endpoint == (
            "http://am:9093/**********/api/v2/alerts"
        )
