"""Rule evaluation: what each rule says about a pipeline, read from the run history.

``evaluate_run`` is called once a run has ended (its rows are written); it
evaluates every rule that watches the run's pipeline. ``evaluate_absence``
is called by ``pysetl alerts check|watch`` (no run needed). Each returns
``Verdict`` values: an alert key and whether it fires now. A rule with
nothing to say (too few runs for a baseline, a figure not recorded) returns
no verdict for that key, so its alert keeps its state.

How to add a rule kind: add its model to ``_config`` (and to ``AlertRule``),
then a function here that takes the rule and the facts and returns
verdicts, and register it in ``_RUN_RULES``.

Added in 0.5.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pysetl.monitoring.alerts._config import (
    AbsenceRule,
    ConsecutiveFailuresRule,
    DurationRule,
    FailureRateRule,
    MetricRule,
    NewErrorRule,
    RunFailedRule,
)
from pysetl.monitoring.errors import errors_of_run, is_new_fingerprint
from pysetl.monitoring.history import RunStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pysetl.monitoring.alerts._config import AlertRule
    from pysetl.monitoring.history import BaseRunHistory, RunRecord

__all__ = ["RunFacts", "Verdict", "evaluate_absence", "evaluate_run"]

_ENDED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CRASHED})
_FAILED = frozenset({RunStatus.FAILED, RunStatus.CRASHED})
# Spark figures are not recorded when zero (absent means zero).
_ZERO_WHEN_ABSENT = "pysetl_factory_spark_"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one rule says about one alert key now.

    Attributes:
        rule: The rule's name.
        key: The alert's deduplication key.
        firing: Whether the alert fires now (``False``: it is resolved).
        summary: One line.
        description: The figures behind the verdict.
        labels: Bounded labels (``rule``, ``pipeline``, ``factory``...).
        pipeline: The pipeline concerned.
        factory: The factory concerned, if any.
        run_id: The run that made it fire or resolve, if any.
        error_class: The failure's class, if any.
        hint: The failure's hint, if any.
    """

    rule: str
    key: str
    firing: bool
    summary: str
    description: str
    labels: dict[str, str] = field(default_factory=dict)
    pipeline: str | None = None
    factory: str | None = None
    run_id: str | None = None
    error_class: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class RunFacts:
    """The ended run and the recent runs of its pipeline, newest first."""

    run: RunRecord
    recent: tuple[RunRecord, ...]  # ended runs of the pipeline, this one first
    history: BaseRunHistory
    now: float


def _key(rule: str, pipeline: str, *parts: object) -> str:
    return "|".join([rule, pipeline, *(str(p) for p in parts if p is not None)])


def _verdict(
    rule: AlertRule,
    facts: RunFacts,
    firing: bool,
    summary: str,
    description: str,
    *,
    factory: str | None = None,
    stage: int | None = None,
) -> Verdict:
    run = facts.run
    labels = {"rule": rule.name, "pipeline": run.pipeline, "severity": rule.severity}
    if factory is not None:
        labels["factory"] = factory
    if stage is not None:
        labels["stage"] = str(stage)
    error = run.error or {}
    failed = firing and run.status in _FAILED
    return Verdict(
        rule=rule.name,
        key=_key(rule.name, run.pipeline, factory, stage),
        firing=firing,
        summary=summary,
        description=description,
        labels=labels,
        pipeline=run.pipeline,
        factory=factory or (error.get("factory") if failed else None),
        run_id=run.run_id,
        error_class=_error_class(error) if failed else None,
        hint=error.get("hint") if failed else None,
    )


def _error_class(error: dict[str, Any]) -> str | None:
    """The Spark error class, else the root cause's type, else the error's."""
    if error.get("error_class"):
        return str(error["error_class"])
    causes = error.get("causes") or []
    if causes:
        return str(causes[-1].get("error_type"))
    found = error.get("error_type")
    return None if found is None else str(found)


# ------------------------------------------------------------ failure rules
def _run_failed(rule: RunFailedRule, facts: RunFacts) -> list[Verdict]:
    run = facts.run
    if run.status in _FAILED:
        message = (run.error or {}).get("message") or run.status
        return [
            _verdict(
                rule,
                facts,
                True,  # noqa: FBT003
                f"Pipeline {run.pipeline!r} failed (run {run.run_id})",
                str(message),
            )
        ]
    return [
        _verdict(
            rule,
            facts,
            False,  # noqa: FBT003
            f"Pipeline {run.pipeline!r} succeeded again (run {run.run_id})",
            "The run succeeded.",
        )
    ]


def _consecutive(rule: ConsecutiveFailuresRule, facts: RunFacts) -> list[Verdict]:
    streak = 0
    for run in facts.recent:
        if run.status not in _FAILED:
            break
        streak += 1
    firing = streak >= rule.count
    return [
        _verdict(
            rule,
            facts,
            firing,
            f"Pipeline {facts.run.pipeline!r} failed {streak} times in a row",
            f"{streak} consecutive failed runs (limit {rule.count}).",
        )
    ]


def _failure_rate(rule: FailureRateRule, facts: RunFacts) -> list[Verdict]:
    if rule.runs is not None:
        runs = facts.recent[: rule.runs]
        span = f"the last {len(runs)} runs"
    else:
        assert rule.window is not None  # noqa: S101 - the model checks it
        since = facts.now - rule.window
        runs = tuple(r for r in facts.recent if r.started_at >= since)
        span = f"the runs of the last {_human(rule.window)}"
    if len(runs) < rule.min_runs:
        return []
    failed = sum(r.status in _FAILED for r in runs)
    rate = failed / len(runs)
    return [
        _verdict(
            rule,
            facts,
            rate > rule.above,
            f"Pipeline {facts.run.pipeline!r}: {rate:.0%} of {span} failed",
            f"{failed} of {len(runs)} runs failed "
            f"({rate:.0%}; limit {rule.above:.0%}).",
        )
    ]


# ------------------------------------------------------- threshold rules
def _limits(
    rule: DurationRule | MetricRule, value: float, past: Sequence[float]
) -> list[str]:
    """What ``value`` breaks, as phrases; empty when it is within every limit."""
    broken: list[str] = []
    if rule.above is not None and value > rule.above:
        broken.append(f"above the limit {rule.above:g}")
    if rule.below is not None and value < rule.below:
        broken.append(f"below the limit {rule.below:g}")
    if len(past) >= rule.min_runs:
        median = statistics.median(past)
        if rule.above_median is not None and value > rule.above_median * median:
            broken.append(f"above {rule.above_median:g} x the median {median:g}")
        if rule.below_median is not None and value < rule.below_median * median:
            broken.append(f"below {rule.below_median:g} x the median {median:g}")
        if rule.above_p95 is not None:
            p95 = _p95(past)
            if value > rule.above_p95 * p95:
                broken.append(f"above {rule.above_p95:g} x the p95 {p95:g}")
        tolerance = getattr(rule, "outside_range", None)
        if tolerance is not None:
            low, high = min(past), max(past)
            slack = tolerance * max(abs(high), abs(low), high - low)
            if not low - slack <= value <= high + slack:
                broken.append(f"outside the recent range {low:g} to {high:g}")
    return broken


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _baseline_runs(rule: DurationRule | MetricRule, facts: RunFacts) -> list[str]:
    """Ids of the earlier succeeded runs a baseline is computed over."""
    return [r.run_id for r in facts.recent[1:] if r.status == RunStatus.SUCCEEDED][
        : rule.runs
    ]


def _threshold(
    rule: DurationRule | MetricRule,
    facts: RunFacts,
    values: dict[str, dict[str | None, float]],
    what: str,
    unit: str,
) -> list[Verdict]:
    """Verdicts of ``values`` (run id -> subject -> value) for the ended run."""
    current = values.get(facts.run.run_id, {})
    baseline = _baseline_runs(rule, facts)
    verdicts = []
    for subject, value in sorted(current.items(), key=lambda kv: str(kv[0])):
        past = [values[r][subject] for r in baseline if subject in values.get(r, {})]
        broken = _limits(rule, value, past)
        factory = (
            subject if isinstance(rule, MetricRule) or rule.scope == "factory" else None
        )
        stage = (
            int(subject)
            if isinstance(rule, DurationRule)
            and rule.scope == "stage"
            and subject is not None
            else None
        )
        name = f"{what} of {_subject(rule, facts.run.pipeline, subject)}"
        text = f"{name} was {value:g}{unit}"
        verdicts.append(
            _verdict(
                rule,
                facts,
                bool(broken),
                f"{text}: {'; '.join(broken)}" if broken else f"{text}: within limits",
                f"{text} in run {facts.run.run_id}"
                + (f", {', '.join(broken)}" if broken else "")
                + f" (over {len(past)} recent runs).",
                factory=factory,
                stage=stage,
            )
        )
    return verdicts


def _subject(
    rule: DurationRule | MetricRule, pipeline: str, subject: str | None
) -> str:
    if subject is None:
        return f"pipeline {pipeline!r}"
    if isinstance(rule, DurationRule) and rule.scope == "stage":
        return f"stage {subject} of {pipeline!r}"
    return f"factory {subject!r} of {pipeline!r}"


Values = dict[str, dict[str | None, float]]
"""Run id -> subject (factory, stage or ``None`` for the run) -> value."""


def _factory_durations(rule: DurationRule, facts: RunFacts, ids: list[str]) -> Values:
    values: Values = {}
    for attempt in facts.history.attempt_summaries(ids):
        if attempt.status != RunStatus.SUCCEEDED or attempt.duration is None:
            continue
        if rule.factory is not None and attempt.factory != rule.factory:
            continue
        per_run = values.setdefault(attempt.run_id, {})
        per_run[attempt.factory] = per_run.get(attempt.factory, 0.0) + attempt.duration
    return values


def _stage_durations(rule: DurationRule, facts: RunFacts, ids: list[str]) -> Values:
    values: Values = {}
    for run_id in ids:
        for stage in facts.history.list_stage_runs(run_id, limit=1000).items:
            if stage.duration is None or (
                rule.stage is not None and stage.stage_id != rule.stage
            ):
                continue
            values.setdefault(run_id, {})[str(stage.stage_id)] = stage.duration
    return values


def _duration(rule: DurationRule, facts: RunFacts) -> list[Verdict]:
    if facts.run.status != RunStatus.SUCCEEDED:
        return []  # a failed run is the failure rules' business
    ids = [facts.run.run_id, *_baseline_runs(rule, facts)]
    values: Values = {}
    if rule.scope == "run":
        for run in facts.recent:
            if run.run_id in ids and run.finished_at is not None:
                values[run.run_id] = {None: run.finished_at - run.started_at}
    elif rule.scope == "factory":
        values = _factory_durations(rule, facts, ids)
    else:
        values = _stage_durations(rule, facts, ids)
    return _threshold(rule, facts, values, "the duration", " s")


def _metric(rule: MetricRule, facts: RunFacts) -> list[Verdict]:
    if facts.run.status != RunStatus.SUCCEEDED:
        return []
    ids = [facts.run.run_id, *_baseline_runs(rule, facts)]
    name = rule.metric_name
    values: dict[str, dict[str | None, float]] = {}
    for total in facts.history.metric_totals(ids, names=[name], factory=rule.factory):
        values[total.run_id] = {
            rule.factory: total.peak if rule.how == "max" else total.total
        }
    if name.startswith(_ZERO_WHEN_ABSENT):
        for run_id in ids:
            values.setdefault(run_id, {rule.factory: 0.0})
    return _threshold(rule, facts, values, f"{rule.metric}", "")


def _new_error(rule: NewErrorRule, facts: RunFacts) -> list[Verdict]:
    run = facts.run
    if run.status not in _FAILED:
        return [
            _verdict(
                rule,
                facts,
                False,  # noqa: FBT003
                f"Pipeline {run.pipeline!r} succeeded again (run {run.run_id})",
                "The run succeeded.",
            )
        ]
    since = None if rule.lookback is None else run.started_at - rule.lookback
    new: dict[str, str] = {}  # fingerprint -> what failed
    for failure in errors_of_run(facts.history, run.run_id):
        if failure.fingerprint in new:
            continue
        if is_new_fingerprint(
            facts.history, failure.fingerprint, before=run.started_at, since=since
        ):
            where = f" in {failure.factory}" if failure.factory else ""
            new[failure.fingerprint] = f"{failure.error_class}{where}"
    if not new:
        return []  # failed with known errors only: run_failed says so
    listed = "; ".join(f"{what} ({fp})" for fp, what in new.items())
    return [
        _verdict(
            rule,
            facts,
            True,  # noqa: FBT003
            f"Pipeline {run.pipeline!r} failed with a new error (run {run.run_id})",
            f"Errors never seen before: {listed}. See them with pysetl errors show "
            "<fingerprint>.",
        )
    ]


_RUN_RULES: dict[type, Callable[[Any, RunFacts], list[Verdict]]] = {
    RunFailedRule: _run_failed,
    NewErrorRule: _new_error,
    ConsecutiveFailuresRule: _consecutive,
    FailureRateRule: _failure_rate,
    DurationRule: _duration,
    MetricRule: _metric,
}


def recent_runs(
    history: BaseRunHistory, pipeline: str, count: int
) -> tuple[RunRecord, ...]:
    """The last ``count`` ended runs of ``pipeline``, newest first."""
    page = history.list_runs(pipeline=pipeline, limit=min(500, count + 5))
    return tuple(r for r in page.items if r.status in _ENDED)[:count]


def _needed(rules: Sequence[AlertRule]) -> int:
    wanted = 1
    for rule in rules:
        if isinstance(rule, ConsecutiveFailuresRule):
            wanted = max(wanted, rule.count)
        elif isinstance(rule, FailureRateRule):
            wanted = max(wanted, rule.runs or 500)
        elif isinstance(rule, DurationRule | MetricRule):
            wanted = max(wanted, 3 * rule.runs + 1)  # failed runs are skipped
    return min(wanted, 500)


def evaluate_run(
    rules: Sequence[AlertRule], history: BaseRunHistory, run: RunRecord, *, now: float
) -> list[Verdict]:
    """The verdicts of every rule that watches the pipeline of the ended ``run``."""
    mine = [r for r in rules if r.applies_to(run.pipeline)]
    if not mine:
        return []
    recent = recent_runs(history, run.pipeline, _needed(mine))
    if not recent or recent[0].run_id != run.run_id:
        recent = (run, *(r for r in recent if r.run_id != run.run_id))
    facts = RunFacts(run, recent, history, now)
    verdicts: list[Verdict] = []
    for rule in mine:
        if isinstance(rule, AbsenceRule):
            verdicts.extend(_absence(rule, history, now))
        else:
            verdicts.extend(_RUN_RULES[type(rule)](rule, facts))
    return verdicts


# ------------------------------------------------------------------ absence
def absence_window(rule: AbsenceRule, now: float) -> tuple[float, float] | None:
    """``(start, deadline)``: a success must have ended in ``[start, now]``.

    ``None`` when no deadline has passed yet (``by`` later today).
    """
    if rule.within is not None:
        return now - rule.within, now
    assert rule.by is not None  # noqa: S101 - the model checks it
    zone = ZoneInfo(rule.timezone)
    local = datetime.fromtimestamp(now, zone)
    by = dtime.fromisoformat(rule.by)
    deadline = datetime.combine(local.date(), by, tzinfo=zone)
    if local < deadline:
        return None
    start = datetime.combine(local.date(), dtime(0, 0), tzinfo=zone)
    return start.timestamp(), deadline.timestamp()


def _absence(rule: AbsenceRule, history: BaseRunHistory, now: float) -> list[Verdict]:
    page = history.list_runs(
        pipeline=rule.pipeline, status=RunStatus.SUCCEEDED, limit=1
    )
    last = page.items[0] if page.items else None
    ended = None if last is None else (last.finished_at or last.started_at)
    labels = {"rule": rule.name, "pipeline": rule.pipeline, "severity": rule.severity}
    key = _key(rule.name, rule.pipeline)
    seen = (
        "never"
        if ended is None
        else datetime.fromtimestamp(ended, ZoneInfo(rule.timezone)).isoformat(
            timespec="seconds"
        )
    )
    window = absence_window(rule, now)
    if window is None:
        # Before today's deadline: only a success today can resolve it.
        if ended is None:
            return []
        start = absence_window(rule.model_copy(update={"by": "00:00"}), now)
        if start is None or ended < start[0]:
            return []
        firing = False
    else:
        firing = ended is None or ended < window[0]
    expected = (
        f"within {_human(rule.within)}"
        if rule.within is not None
        else f"by {rule.by} {rule.timezone}"
    )
    summary = (
        f"Pipeline {rule.pipeline!r} has not succeeded {expected}"
        if firing
        else f"Pipeline {rule.pipeline!r} succeeded"
    )
    return [
        Verdict(
            rule=rule.name,
            key=key,
            firing=firing,
            summary=summary,
            description=f"Last success: {seen} (expected {expected}).",
            labels=labels,
            pipeline=rule.pipeline,
            run_id=None if last is None else last.run_id,
        )
    ]


def evaluate_absence(
    rules: Sequence[AlertRule], history: BaseRunHistory, *, now: float
) -> list[Verdict]:
    """The verdicts of every absence rule at ``now``."""
    verdicts: list[Verdict] = []
    for rule in rules:
        if isinstance(rule, AbsenceRule):
            verdicts.extend(_absence(rule, history, now))
    return verdicts
