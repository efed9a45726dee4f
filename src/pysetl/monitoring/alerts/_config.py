"""The ``alerts:`` section of a project config, validated.

A full example (every key but ``notifiers`` and ``rules`` is optional)::

    alerts:
      dashboard_url: http://ops.example.com:8765   # links in messages
      renotify: 4h          # a still-firing alert is sent again after this
      group_by: [pipeline]  # alerts sent together to a notifier, per group
      rate_limit: {count: 20, per: 1h}             # per notifier
      delivery: {timeout: 1.0, retries: 2, backoff: 0.25, deadline: 2.0}
      notifiers:
        ops-hook: {type: webhook, url: "${secret:env:HOOK_URL}"}
        mail: {type: email, host: smtp.example.com, to: [ops@example.com]}
      rules:
        - {name: failed, kind: run_failed, notify: [ops-hook, mail]}
        - {name: flaky, kind: consecutive_failures, count: 3}
        - {name: failing, kind: failure_rate, above: 0.5, runs: 10}
        - {name: slow, kind: duration, scope: factory, above_p95: 1.5}
        - {name: no-rows, kind: metric, metric: rows_out, factory: load, below: 1}
        - {name: late, kind: absence, pipeline: daily, by: "06:30"}

Durations are seconds or a number with a unit: ``90s``, ``15m``, ``4h``,
``2d``. A notifier's ``type`` is one of ``NOTIFIER_TYPES`` or the import
path of a class (``my_project.alerts:PagerNotifier``); its other keys are
the notifier's options.

Added in 0.5.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from pysetl.monitoring.alerts._notify import NOTIFIER_TYPES

__all__ = [
    "METRIC_ALIASES",
    "AbsenceRule",
    "AlertRule",
    "AlertsSection",
    "ConsecutiveFailuresRule",
    "DeliveryOptions",
    "DurationRule",
    "FailureRateRule",
    "MetricRule",
    "RateLimit",
    "RunFailedRule",
    "parse_duration",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")

METRIC_ALIASES: dict[str, str] = {
    "rows": "pysetl_factory_rows",
    "rows_in": "pysetl_factory_spark_input_records",
    "rows_out": "pysetl_factory_spark_output_records",
    "driver_memory": "pysetl_factory_peak_rss_bytes",
    "spill": "pysetl_factory_spark_disk_spilled_bytes",
    "memory_spill": "pysetl_factory_spark_memory_spilled_bytes",
    "failed_tasks": "pysetl_factory_spark_failed_tasks",
    "cpu": "pysetl_factory_cpu_seconds",
}
"""Short names of built-in metrics a ``metric`` rule may use."""


def parse_duration(value: Any) -> float:
    """Seconds of ``value``: a number, or ``"90s"``, ``"15m"``, ``"4h"``, ``"2d"``.

    Raises:
        ValueError: Not a duration (the message shows the accepted forms).
    """
    if isinstance(value, bool):
        msg = "expected seconds or a duration such as 90s, 15m, 4h, 2d"
        raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            msg = (
                f"{value!r} is not a duration; expected seconds or a number "
                "with a unit (s, m, h, d, w), such as 90s, 15m, 4h, 2d"
            )
            raise ValueError(msg)
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0:
        msg = "a duration cannot be negative"
        raise ValueError(msg)
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
Severity = Literal["critical", "warning", "info"]


class RateLimit(BaseModel):
    """At most ``count`` notifications per notifier in any ``per`` seconds."""

    model_config = _FROZEN

    count: int = Field(default=20, ge=1)
    per: Duration = 3600.0


class DeliveryOptions(BaseModel):
    """How notifications are delivered (see docs/alerting.md, "Delivery").

    ``timeout`` bounds one try; a failed try is retried ``retries`` times
    after ``backoff`` seconds (doubled each time); no try starts after
    ``deadline`` seconds from the first, and a try's timeout is cut to what
    is left: a delivery takes at most ``deadline`` seconds.
    """

    model_config = _FROZEN

    timeout: float = Field(default=1.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff: float = Field(default=0.25, ge=0)
    deadline: float = Field(default=2.0, gt=0, le=60)


class _Rule(BaseModel):
    model_config = _FROZEN

    name: str = Field(pattern=r"^[\w.-]+$", max_length=100)
    severity: Severity = "critical"
    notify: list[str] | None = None
    pipelines: list[str] | None = None
    renotify: Duration | None = None

    def applies_to(self, pipeline: str) -> bool:
        """Whether the rule watches ``pipeline``."""
        return self.pipelines is None or pipeline in self.pipelines


class RunFailedRule(_Rule):
    """A run of the pipeline failed (resolved by its next successful run)."""

    kind: Literal["run_failed"]


class ConsecutiveFailuresRule(_Rule):
    """The last ``count`` runs of the pipeline failed."""

    kind: Literal["consecutive_failures"]
    count: int = Field(ge=2, le=500)


class FailureRateRule(_Rule):
    """More than ``above`` (0 to 1) of the recent runs failed.

    The recent runs are the last ``runs``, or those started within ``window``.
    """

    kind: Literal["failure_rate"]
    above: float = Field(ge=0, lt=1)
    runs: int | None = Field(default=None, ge=1, le=500)
    window: Duration | None = None
    min_runs: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _runs_or_window(self) -> FailureRateRule:
        if (self.runs is None) == (self.window is None):
            msg = "give exactly one of 'runs' (the last N runs) or 'window' (e.g. 24h)"
            raise ValueError(msg)
        return self


class _Threshold(_Rule):
    above: float | None = None
    below: float | None = None
    above_median: float | None = Field(default=None, gt=0)
    below_median: float | None = Field(default=None, gt=0)
    above_p95: float | None = Field(default=None, gt=0)
    runs: int = Field(default=20, ge=1, le=500)
    min_runs: int = Field(default=3, ge=1)
    factory: str | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> _Threshold:
        limits = (
            self.above,
            self.below,
            self.above_median,
            self.below_median,
            self.above_p95,
            getattr(self, "outside_range", None),
        )
        if all(limit is None for limit in limits):
            msg = (
                "give a limit: above or below (absolute), above_median, "
                "below_median or above_p95 (a multiple of the recent runs' "
                "figure), or outside_range (metric rules)"
            )
            raise ValueError(msg)
        return self


class DurationRule(_Threshold):
    """A run, a stage or a factory took longer than a limit or its recent runs."""

    kind: Literal["duration"]
    scope: Literal["run", "stage", "factory"] = "run"
    stage: int | None = Field(default=None, ge=0)
    above: Duration | None = None
    below: Duration | None = None

    @model_validator(mode="after")
    def _scope_fits(self) -> DurationRule:
        if self.factory is not None and self.scope != "factory":
            msg = "'factory' needs scope: factory"
            raise ValueError(msg)
        if self.stage is not None and self.scope != "stage":
            msg = "'stage' needs scope: stage"
            raise ValueError(msg)
        return self


class MetricRule(_Threshold):
    """A figure of the run (summed or peak over its factories) is out of bounds.

    ``metric`` is a short name (``METRIC_ALIASES``: rows, rows_in, rows_out,
    driver_memory, spill, failed_tasks...), a built-in metric name or a
    custom KPI's name; ``outside_range`` (a tolerance, 0.2 = 20 %) fires
    when the value leaves the range of the recent runs widened by it.
    """

    kind: Literal["metric"]
    metric: str = Field(min_length=1, max_length=200)
    aggregate: Literal["sum", "max"] | None = None
    outside_range: float | None = Field(default=None, ge=0)

    @property
    def metric_name(self) -> str:
        """The metric's name in the run history."""
        return METRIC_ALIASES.get(self.metric, self.metric)

    @property
    def how(self) -> Literal["sum", "max"]:
        """How the run's values are combined: ``max`` for memory peaks, else ``sum``."""
        if self.aggregate is not None:
            return self.aggregate
        return "max" if "peak" in self.metric_name else "sum"


class AbsenceRule(_Rule):
    """``pipeline`` has not succeeded by a time of day, or within a window."""

    kind: Literal["absence"]
    pipeline: str = Field(min_length=1)
    by: str | None = None
    timezone: str = "UTC"
    within: Duration | None = None

    @field_validator("by")
    @classmethod
    def _time_of_day(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dtime.fromisoformat(value)
            except ValueError:
                msg = f"{value!r} is not a time of day; expected HH:MM such as 06:30"
                raise ValueError(msg) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r}; expected a name such as Europe/Paris"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _by_or_within(self) -> AbsenceRule:
        if (self.by is None) == (self.within is None):
            msg = (
                "give exactly one of 'by' (a time of day, HH:MM) or 'within' (e.g. 26h)"
            )
            raise ValueError(msg)
        return self

    def applies_to(self, pipeline: str) -> bool:
        """Whether the rule watches ``pipeline`` (its own only)."""
        return pipeline == self.pipeline


class NewErrorRule(_Rule):
    """A run failed with an error never seen before: a new error fingerprint.

    Fingerprints are those of ``pysetl errors`` (``pysetl.monitoring.errors``):
    the error class, the factory and the message without numbers, ids or
    paths. "Never seen" means in no run of any pipeline that started before
    this one, within ``lookback`` when given (an error that last happened
    longer ago counts as new again). Resolved by the pipeline's next
    successful run.
    """

    kind: Literal["new_error"]
    lookback: Duration | None = None


AlertRule = Annotated[
    RunFailedRule
    | NewErrorRule
    | ConsecutiveFailuresRule
    | FailureRateRule
    | DurationRule
    | MetricRule
    | AbsenceRule,
    Field(discriminator="kind"),
]


class AlertsSection(BaseModel):
    """The ``alerts:`` section (see the module docstring)."""

    model_config = _FROZEN

    enabled: bool = True
    dashboard_url: str | None = None
    renotify: Duration | None = 4 * 3600.0
    group_by: list[str] = Field(default_factory=lambda: ["pipeline"])
    rate_limit: RateLimit = RateLimit()
    delivery: DeliveryOptions = DeliveryOptions()
    notifiers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[AlertRule] = Field(default_factory=list)

    @field_validator("notifiers")
    @classmethod
    def _typed(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, options in value.items():
            kind = options.get("type")
            if not isinstance(kind, str) or (
                kind not in NOTIFIER_TYPES and ":" not in kind
            ):
                known = ", ".join(sorted(NOTIFIER_TYPES))
                msg = (
                    f"notifier {name!r} needs a 'type': one of {known}, or "
                    "'package.module:Class' for your own"
                )
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _names_known(self) -> AlertsSection:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                msg = f"two rules are named {rule.name!r}; give each a unique name"
                raise ValueError(msg)
            seen.add(rule.name)
            unknown = sorted(set(rule.notify or ()) - set(self.notifiers))
            if unknown:
                known = ", ".join(sorted(self.notifiers)) or "none"
                msg = (
                    f"rule {rule.name!r} notifies {unknown}, which are not in "
                    f"alerts.notifiers (defined: {known})"
                )
                raise ValueError(msg)
        return self

    def notifiers_of(self, rule: _Rule) -> list[str]:
        """The notifiers a rule's alerts go to (default: every notifier)."""
        return list(self.notifiers) if rule.notify is None else list(rule.notify)
