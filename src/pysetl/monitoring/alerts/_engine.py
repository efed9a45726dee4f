"""``AlertEngine``: alert state, deduplication, silences, rate limits and delivery.

From rule verdicts (``_rules``) to notifications, with the state kept in the
alert history (``pysetl.monitoring.history.alert_store``), so that it holds
across processes (each ``pysetl run`` is one):

* **state**: a verdict that fires opens an alert for its key (the rule and
  its group: pipeline, factory or stage) unless one is firing already; a
  verdict that does not fire resolves the firing alert of its key;
* **deduplication**: a key fires once; while it keeps firing it is sent
  again only after ``renotify`` (the rule's, else the section's; none:
  never), or at the next evaluation while no notifier has received it yet
  (every delivery failed, or a silence held it);
* **silences**: an alert matched by an active silence (rule and/or
  pipeline) is recorded as ``silenced`` and not sent;
* **rate limit**: a notifier sends at most ``rate_limit.count``
  notifications per ``rate_limit.per``; the others are recorded as
  ``rate_limited``;
* **grouping**: the notifications of one evaluation that go to one notifier
  and share the ``group_by`` labels are sent as one batch;
* **delivery**: every batch is sent on its own thread; a failed try is
  retried after ``backoff`` (doubled each time) while the ``deadline`` of
  the round allows, each try bounded by ``timeout`` (cut to what is left).
  A round takes at most ``deadline`` seconds (plus 0.1 s of grace for a
  notifier that overruns its timeout: it is then counted as failed and
  left behind). Each delivery and each failure is recorded in the alert
  history; failures are counted in ``failures`` and logged at WARNING, the
  first for a notifier at once, later ones at most once a minute with a
  count. Error texts are redacted.

Time comes from ``clock`` (epoch seconds): tests drive absence windows and
re-notify intervals without sleeping.

Added in 0.5.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.errors import ConfigError
from pysetl.monitoring.alerts._notify import NOTIFIER_TYPES, AlertMessage, Notifier
from pysetl.monitoring.alerts._rules import Verdict, evaluate_absence, evaluate_run
from pysetl.monitoring.history.alert_store import AlertRecord, AlertStore
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pysetl.monitoring.alerts._config import AlertsSection
    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["AlertEngine", "Delivery", "Outcome", "build_notifiers"]

_LOGGER = logging.getLogger(__name__)
_REPORT_EVERY = 60.0
_GRACE = 0.1


def build_notifiers(section: AlertsSection) -> dict[str, Notifier]:
    """Build the section's notifiers: ``Class(name=..., **options)`` by ``type``.

    The class is imported lazily (``NOTIFIER_TYPES``, or ``module:Class``).

    Raises:
        ConfigError: A notifier cannot be imported or built; the message
            names it and never its options' values.
    """
    built: dict[str, Notifier] = {}
    for name, spec in section.notifiers.items():
        options = {k: v for k, v in spec.items() if k != "type"}
        target = NOTIFIER_TYPES.get(spec["type"], spec["type"])
        module_name, _, attribute = target.partition(":")
        try:
            cls: Any = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            msg = (
                f"Notifier {name!r} of type {spec['type']!r} cannot be imported: {exc}"
            )
            raise ConfigError(
                msg, hint="check its 'type', and that its package is installed"
            ) from exc
        try:
            notifier = cls(**{"name": name, **options})
        except Exception as exc:  # noqa: BLE001 - any options error, named
            msg = (
                f"Notifier {name!r} ({spec['type']}) cannot be built: "
                f"{type(exc).__name__}: {redact_text(str(exc))}"
            )
            raise ConfigError(
                msg, hint=f"check its options in alerts.notifiers.{name}"
            ) from None
        built[name] = notifier
    return built


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one batch sent to one notifier."""

    notifier: str
    keys: tuple[str, ...]
    ok: bool
    tries: int
    seconds: float
    error: str | None = None


@dataclass
class Outcome:
    """What one evaluation did.

    Attributes:
        fired: Alerts that started firing.
        resolved: Alerts that resolved.
        firing: Every alert firing after the evaluation (by key).
        deliveries: Each batch sent, and whether it arrived.
        silenced: Keys not sent because of a silence.
        rate_limited: ``(notifier, key)`` not sent because of the rate limit.
    """

    fired: list[AlertRecord] = field(default_factory=list)
    resolved: list[AlertRecord] = field(default_factory=list)
    firing: dict[str, AlertRecord] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    silenced: list[str] = field(default_factory=list)
    rate_limited: list[tuple[str, str]] = field(default_factory=list)


class AlertEngine:
    """Turns verdicts into alert state and notifications (see the module docstring).

    Args:
        section: The validated ``alerts:`` section.
        history: The run history (rules read it; the alert history lives in it).
        notifiers: The notifiers by name (default: built from the section).
        clock: The time, in epoch seconds.

    Attributes:
        failures: Failed deliveries, by notifier.
        sent: Delivered batches, by notifier.
    """

    def __init__(
        self,
        section: AlertsSection,
        history: BaseRunHistory,
        *,
        notifiers: Mapping[str, Notifier] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Keep the section and build the notifiers."""
        self.section = section
        self.history = history
        self.store = AlertStore(history)
        self.notifiers = dict(
            build_notifiers(section) if notifiers is None else notifiers
        )
        self.clock = clock
        self.failures: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self._rules = {rule.name: rule for rule in section.rules}
        self._logged: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        self._lock = threading.Lock()
        self._counts_lock = threading.Lock()

    # ------------------------------------------------------------ evaluating
    def run_ended(self, run_id: str) -> Outcome:
        """Evaluate the rules on the ended run ``run_id`` and notify."""
        run = self.history.find_run(run_id)
        if run is None:
            return Outcome()
        now = self.clock()
        return self.apply(evaluate_run(self.section.rules, self.history, run, now=now))

    def check(self) -> Outcome:
        """Evaluate the absence rules now, notify, and report every firing alert."""
        outcome = self.apply(
            evaluate_absence(self.section.rules, self.history, now=self.clock())
        )
        for alert in self.store.list_alerts(state="firing", limit=1000).items:
            outcome.firing.setdefault(alert.key, alert)
        return outcome

    def apply(self, verdicts: Sequence[Verdict]) -> Outcome:
        """Update the alert state from ``verdicts`` and send what is due."""
        with self._lock:  # one evaluation at a time: a key opens once
            return self._apply(verdicts)

    def _apply(self, verdicts: Sequence[Verdict]) -> Outcome:
        now = self.clock()
        outcome = Outcome()
        due: list[tuple[AlertRecord, Verdict]] = []
        for verdict in verdicts:
            rule = self._rules.get(verdict.rule)
            if rule is None:
                continue
            current = self.store.firing(verdict.key)
            if verdict.firing:
                if current is None:
                    alert = self.store.open(self._row(verdict, rule.severity, now))
                    self.store.add_event(
                        alert.id, "fired", ts=now, run_id=verdict.run_id
                    )
                    outcome.fired.append(alert)
                    due.append((alert, verdict))
                else:
                    self.store.update(
                        current.id,
                        updated_at=now,
                        run_id=verdict.run_id or current.run_id,
                        description=verdict.description,
                    )
                    alert = current
                    every = (
                        rule.renotify
                        if rule.renotify is not None
                        else self.section.renotify
                    )
                    last = current.last_notified_at
                    # Never delivered (notifiers down, or silenced): try again.
                    if last is None or (every and now - last >= every):
                        due.append((alert, verdict))
                outcome.firing[alert.key] = alert
            elif current is not None:
                self.store.update(
                    current.id, state="resolved", ended_at=now, updated_at=now
                )
                self.store.add_event(
                    current.id, "resolved", ts=now, run_id=verdict.run_id
                )
                resolved = self.store.get(current.id)
                outcome.resolved.append(resolved)
                if current.last_notified_at is not None:
                    due.append((resolved, verdict))
        if due:
            self._notify(due, now, outcome)
        return outcome

    @staticmethod
    def _row(verdict: Verdict, severity: str, now: float) -> dict[str, Any]:
        return {
            "key": verdict.key,
            "rule": verdict.rule,
            "severity": severity,
            "pipeline": verdict.pipeline,
            "factory": verdict.factory,
            "run_id": verdict.run_id,
            "summary": verdict.summary,
            "description": verdict.description,
            "labels": verdict.labels,
            "details": {"error_class": verdict.error_class, "hint": verdict.hint},
            "started_at": now,
            "updated_at": now,
        }

    # ------------------------------------------------------------- notifying
    def message(
        self, alert: AlertRecord, verdict: Verdict | None = None
    ) -> AlertMessage:
        """The message of ``alert`` (as it is now)."""
        run_id = (verdict.run_id if verdict else None) or alert.run_id
        base = self.section.dashboard_url
        url = None
        if base:
            url = f"{base.rstrip('/')}/#/runs/{run_id}" if run_id else base
        resolved = alert.state == "resolved"
        return AlertMessage(
            key=alert.key,
            rule=alert.rule,
            state="resolved" if resolved else "firing",
            severity=alert.severity,
            summary=redact_text(verdict.summary if verdict else alert.summary),
            description=redact_text(
                verdict.description if verdict else alert.description
            ),
            started_at=alert.started_at,
            labels=dict(alert.labels),
            ended_at=alert.ended_at,
            run_id=run_id,
            pipeline=alert.pipeline,
            factory=alert.factory,
            error_class=alert.details.get("error_class"),
            hint=alert.details.get("hint"),
            url=url,
        )

    def _notify(
        self, due: list[tuple[AlertRecord, Verdict]], now: float, outcome: Outcome
    ) -> None:
        batches = self._route(due, now, outcome)
        if not batches:
            return
        results = self._deliver(
            {
                key: [self.message(alert, verdict) for alert, verdict in items]
                for key, items in batches.items()
            }
        )
        self._record(batches, results, now, outcome)

    def _route(
        self, due: list[tuple[AlertRecord, Verdict]], now: float, outcome: Outcome
    ) -> dict[tuple[str, tuple[str, ...]], list[tuple[AlertRecord, Verdict]]]:
        """The batches to send, by notifier and group; silences and limits applied."""
        silences = self.store.silences(active_at=now)
        batches: dict[
            tuple[str, tuple[str, ...]], list[tuple[AlertRecord, Verdict]]
        ] = {}
        limit = self.section.rate_limit
        used: dict[str, int] = {}
        for alert, verdict in due:
            if any(s.matches(alert.rule, alert.pipeline, now) for s in silences):
                self.store.add_event(
                    alert.id, "silenced", ts=now, run_id=verdict.run_id
                )
                outcome.silenced.append(alert.key)
                continue
            rule = self._rules[alert.rule]
            group = tuple(
                str(alert.labels.get(label, "")) for label in self.section.group_by
            )
            for name in self.section.notifiers_of(rule):
                if name not in self.notifiers:
                    continue
                if name not in used:
                    used[name] = self.store.count_events(
                        "notified", notifier=name, since=now - limit.per
                    )
                if used[name] >= limit.count:
                    self.store.add_event(
                        alert.id,
                        "rate_limited",
                        ts=now,
                        notifier=name,
                        run_id=verdict.run_id,
                    )
                    outcome.rate_limited.append((name, alert.key))
                    continue
                used[name] += 1
                batches.setdefault((name, group), []).append((alert, verdict))
        return batches

    def _record(
        self,
        batches: Mapping[
            tuple[str, tuple[str, ...]], list[tuple[AlertRecord, Verdict]]
        ],
        results: Mapping[tuple[str, tuple[str, ...]], Delivery],
        now: float,
        outcome: Outcome,
    ) -> None:
        """Record each delivery (or its failure) in the alert history."""
        notified: set[int] = set()
        for (name, group), items in batches.items():
            delivery = results[(name, group)]
            outcome.deliveries.append(delivery)
            for alert, verdict in items:
                if delivery.ok:
                    self.store.add_event(
                        alert.id,
                        "notified",
                        ts=now,
                        notifier=name,
                        run_id=verdict.run_id,
                        detail=f"{alert.state}, {delivery.tries} tries",
                    )
                    if alert.state == "firing":
                        notified.add(alert.id)
                else:
                    self.store.add_event(
                        alert.id,
                        "delivery_failed",
                        ts=now,
                        notifier=name,
                        run_id=verdict.run_id,
                        detail=delivery.error,
                    )
        for alert_id in notified:
            self.store.update(alert_id, last_notified_at=now)

    def _deliver(
        self, batches: Mapping[tuple[str, tuple[str, ...]], list[AlertMessage]]
    ) -> dict[tuple[str, tuple[str, ...]], Delivery]:
        """Send every batch at once, each with retries, within the deadline."""
        options = self.section.delivery
        end = time.monotonic() + options.deadline
        done: dict[tuple[str, tuple[str, ...]], Delivery] = {}
        finished = threading.Condition()

        def send(
            key: tuple[str, tuple[str, ...]], messages: list[AlertMessage]
        ) -> None:
            delivery = self._send(key[0], messages, end)
            with finished:
                done[key] = delivery
                finished.notify_all()

        # Daemon threads, one a batch: one that a notifier holds past its
        # timeout is left behind, and never holds up the interpreter's exit
        # (a ThreadPoolExecutor's workers are joined at exit).
        for key, messages in batches.items():
            threading.Thread(
                target=send,
                args=(key, messages),
                name=f"pysetl-alerts-send-{key[0]}",
                daemon=True,
            ).start()
        with finished:
            finished.wait_for(
                lambda: len(done) == len(batches),
                timeout=max(0.0, end - time.monotonic()) + _GRACE,
            )
            answered = dict(done)
        results: dict[tuple[str, tuple[str, ...]], Delivery] = {}
        for key in batches:
            if key in answered:
                results[key] = answered[key]
            else:
                results[key] = Delivery(
                    key[0],
                    tuple(m.key for m in batches[key]),
                    ok=False,
                    tries=1,
                    seconds=options.deadline,
                    error="no answer within the delivery deadline "
                    f"({options.deadline:g} s)",
                )
                self._failed(key[0], results[key].error or "")
        return results

    def _send(self, name: str, messages: list[AlertMessage], end: float) -> Delivery:
        options = self.section.delivery
        notifier = self.notifiers[name]
        start = time.monotonic()
        pause = options.backoff
        tries = 0
        error = ""
        keys = tuple(m.key for m in messages)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            tries += 1
            try:
                notifier.send(messages, timeout=min(options.timeout, left))
            except Exception as exc:  # noqa: BLE001 - any failure is retried
                error = f"{type(exc).__name__}: {redact_text(str(exc))}"[:500]
            else:
                with self._counts_lock:
                    self.sent[name] = self.sent.get(name, 0) + 1
                return Delivery(
                    name, keys, ok=True, tries=tries, seconds=time.monotonic() - start
                )
            if tries > options.retries or time.monotonic() + pause >= end:
                break
            time.sleep(pause)
            pause *= 2
        error = (
            error or f"no time left in the delivery deadline ({options.deadline:g} s)"
        )
        self._failed(name, error)
        return Delivery(
            name,
            keys,
            ok=False,
            tries=tries,
            seconds=time.monotonic() - start,
            error=error,
        )

    def _failed(self, name: str, error: str) -> None:
        """Count a failed delivery; log it (the first at once, then once a minute)."""
        with self._counts_lock:
            self.failures[name] = self.failures.get(name, 0) + 1
            now = time.monotonic()
            last = self._logged.get(name)
            if last is not None and now - last < _REPORT_EVERY:
                self._unlogged[name] = self._unlogged.get(name, 0) + 1
                return
            self._logged[name] = now
            more = self._unlogged.pop(name, 0)
        _LOGGER.warning(
            "pysetl alert notifier %r failed: %s%s",
            name,
            error,
            f" ({more} more failures since the last report)" if more else "",
        )

    # --------------------------------------------------------------- testing
    def test(self, names: Sequence[str] = ()) -> list[Delivery]:
        """Send a test alert to the notifiers ``names`` (default: all) now."""
        chosen = list(names) or list(self.notifiers)
        unknown = sorted(set(chosen) - set(self.notifiers))
        if unknown:
            msg = f"No notifier {unknown[0]!r} in alerts.notifiers"
            raise ConfigError(
                msg, hint=f"defined: {', '.join(sorted(self.notifiers)) or 'none'}"
            )
        now = self.clock()
        message = AlertMessage(
            key="pysetl-test",
            rule="pysetl-test",
            state="firing",
            severity="info",
            summary="pysetl test alert",
            description="A test notification sent by 'pysetl alerts test'.",
            started_at=now,
            labels={"rule": "pysetl-test"},
            url=self.section.dashboard_url,
        )
        results = self._deliver({(name, ()): [message] for name in chosen})
        return list(results.values())
