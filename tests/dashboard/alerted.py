"""Real alerts for the dashboard's tests: real runs, the real engine, a test clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.dashboard.conftest import Broken, Extract

from pysetl.monitoring.alerts import AlertEngine, AlertsSection
from pysetl.monitoring.history.alert_store import AlertStore
from pysetl.testing import record_run
from pysetl.workflow import Pipeline

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.alerts import AlertMessage

LEAK = "http://user:hunter2@hooks.example/x"
"""What the broken notifier's error names (its password must never show)."""


class Recorder:
    """A notifier that keeps each batch, or fails like a refused connection."""

    def __init__(self, name: str, *, down: bool = False) -> None:
        self.name = name
        self.down = down
        self.batches: list[list[AlertMessage]] = []

    def send(self, messages: Sequence[AlertMessage], *, timeout: float) -> None:
        if self.down:
            msg = f"connection refused by {LEAK}"
            raise OSError(msg)
        self.batches.append(list(messages))


class Clock:
    """Epoch seconds that the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Alerted:
    """The runs recorded and the alerts the engine made of them."""

    resolved: int
    firing: int
    failed_run: str
    firing_run: str
    store: AlertStore
    notifiers: dict[str, Recorder] = field(default_factory=dict)


def record_alerts(history, *, firing_pipeline: str = "weekly") -> Alerted:
    """'daily' fails then succeeds (resolved); ``firing_pipeline`` fails (firing).

    The 'hook' notifier delivers, the 'pager' notifier is down.
    """
    config = AlertsSection.model_validate(
        {
            "notifiers": {"hook": {"type": "webhook"}, "pager": {"type": "webhook"}},
            "rules": [{"name": "failed", "kind": "run_failed", "severity": "critical"}],
            "delivery": {"timeout": 0.2, "retries": 0, "backoff": 0.0, "deadline": 1},
        }
    )
    notifiers = {"hook": Recorder("hook"), "pager": Recorder("pager", down=True)}
    clock = Clock(1_800_000_000.0)
    engine = AlertEngine(config, history, notifiers=notifiers, clock=clock)

    def run(pipeline: Pipeline) -> str:
        run_id = record_run(pipeline, history, check=False)
        engine.run_ended(run_id)
        clock.now += 60
        return run_id

    failed = run(Pipeline(name="daily").add_stage_from_type(Broken))
    run(Pipeline(name="daily").add_stage_from_type(Extract))
    firing_run = run(Pipeline(name=firing_pipeline).add_stage_from_type(Broken))
    store = AlertStore(history)
    newest = store.list_alerts().items
    return Alerted(
        resolved=newest[1].id,
        firing=newest[0].id,
        failed_run=failed,
        firing_run=firing_run,
        store=store,
        notifiers=notifiers,
    )
