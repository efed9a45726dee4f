"""What an alert notification carries, and what a notifier does with it.

The alert engine (rules, state, deduplication, retries) hands each notifier a
batch of ``AlertMessage`` values; a notifier turns them into its channel's
payload (a webhook's JSON, an email, Alertmanager's API) and delivers them,
raising on failure so that the engine can retry, count and record it.

Added in 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["NOTIFIER_TYPES", "AlertMessage", "AlertState", "Notifier"]

AlertState = Literal["firing", "resolved"]


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert's state, as notifiers send it.

    Attributes:
        key: What identifies the alert across evaluations (its rule and group
            labels): the deduplication key.
        rule: The name of the rule that fired.
        state: ``firing`` or ``resolved``.
        severity: ``critical``, ``warning`` or ``info``.
        summary: One line for a title or a subject.
        description: The full text, with the figures that made it fire.
        labels: Bounded labels (``pipeline``, ``factory``, ``rule``...).
        started_at: When it started firing (epoch seconds).
        ended_at: When it resolved (``None`` while firing).
        run_id: The run that made it fire or resolve, if any.
        pipeline: The pipeline concerned, if any.
        factory: The factory concerned, if any.
        error_class: The failure's exception class, if any.
        hint: The failure's hint (how to fix it), if any.
        url: A link to the run (or the pipeline) in the dashboard, if known.
    """

    key: str
    rule: str
    state: AlertState
    severity: str
    summary: str
    description: str
    started_at: float
    labels: Mapping[str, str] = field(default_factory=dict)
    ended_at: float | None = None
    run_id: str | None = None
    pipeline: str | None = None
    factory: str | None = None
    error_class: str | None = None
    hint: str | None = None
    url: str | None = None


@runtime_checkable
class Notifier(Protocol):
    """Delivers alert messages to one channel.

    Built from keyword options (``Class(**options)``, validated by the
    class's own pydantic options model, whose errors name the option and
    never its value). ``send`` raises on any failure (the engine retries with
    backoff, counts and records it); it must return or raise within
    ``timeout`` seconds.
    """

    name: str

    def send(self, messages: Sequence[AlertMessage], *, timeout: float) -> None:
        """Deliver ``messages`` (one batch: a group of alerts) or raise."""


NOTIFIER_TYPES: dict[str, str] = {
    "webhook": "pysetl.monitoring.alerts.notifiers:WebhookNotifier",
    "slack": "pysetl.monitoring.alerts.notifiers:SlackNotifier",
    "teams": "pysetl.monitoring.alerts.notifiers:TeamsNotifier",
    "email": "pysetl.monitoring.alerts.notifiers:EmailNotifier",
    "alertmanager": "pysetl.monitoring.alerts.notifiers:AlertmanagerNotifier",
}
"""The ``type`` of a notifier in the ``alerts:`` config, and its class."""
