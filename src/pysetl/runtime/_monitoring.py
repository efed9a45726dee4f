"""The ``monitoring:`` section of a project config, validated.

Every key is optional; the defaults record everything::

    monitoring:
      enabled: true              # the config's opt-out (PYSETL_OBSERVE=0 wins)
      history: sqlite:///.pysetl/history.db   # default: the project's history
      heartbeat_interval: 10     # seconds
      logs:
        capture: true            # store log lines of runs in the history
        level: INFO              # the lowest level stored
      metrics:
        enabled: true
        profile: false           # true, or a list of factory names
        count_rows: false        # true, or a list of factory names (a Spark job each)
        spark_wait: 2.0          # seconds to wait for Spark's listener per factory
      progress:
        enabled: true
        interval: 1.0            # seconds between Spark progress samples
      observers:                 # more observers, by import path
        - my_project.observers:SlackOnFailure
        - {class: my_project.observers:Timer, options: {unit: ms}}
      disable: [some-entry-point]   # entry-point observers not to load

Added in 0.4.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pysetl.errors import ConfigError

__all__ = [
    "LogsSection",
    "MetricsSection",
    "MonitoringSection",
    "ObserverSpec",
    "ProgressSection",
    "load_observer",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class LogsSection(BaseModel):
    """How log lines of runs are stored."""

    model_config = _FROZEN

    capture: bool = True
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            msg = f"unknown log level {value!r}; expected DEBUG, INFO, WARNING or ERROR"
            raise ValueError(msg)
        return level


class MetricsSection(BaseModel):
    """What the metrics collector measures."""

    model_config = _FROZEN

    enabled: bool = True
    profile: bool | list[str] = False
    count_rows: bool | list[str] = False
    spark_wait: float = Field(default=2.0, ge=0)


class ProgressSection(BaseModel):
    """How Spark progress is sampled."""

    model_config = _FROZEN

    enabled: bool = True
    # Each sample asks the driver's status tracker about every running job
    # (a few Py4J calls, about 4 ms of driver CPU): once a second keeps the
    # live view current at a cost under 0.5% of a run.
    interval: float = Field(default=1.0, gt=0)


class ObserverSpec(BaseModel):
    """One more observer: ``module:Name`` and the keyword options it is built with."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    target: str = Field(alias="class", pattern=r"^[\w.]+:[\w.]+$")
    options: dict[str, Any] = Field(default_factory=dict)


class MonitoringSection(BaseModel):
    """The ``monitoring:`` section (see the module docstring)."""

    model_config = _FROZEN

    enabled: bool = True
    history: str | None = None
    heartbeat_interval: float = Field(default=10.0, gt=0)
    logs: LogsSection = LogsSection()
    metrics: MetricsSection = MetricsSection()
    progress: ProgressSection = ProgressSection()
    observers: list[ObserverSpec] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)

    @field_validator("observers", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"class": v} if isinstance(v, str) else v for v in value]
        return value


def load_observer(spec: ObserverSpec) -> object:
    """Import ``spec.target`` and call it with ``spec.options``.

    Raises:
        ConfigError: The module or name cannot be imported, or the call
            fails; the message names the observer.
    """
    module_name, _, attribute = spec.target.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        msg = (
            f"Observer {spec.target!r} of monitoring.observers cannot be "
            f"imported: {exc}"
        )
        raise ConfigError(
            msg,
            hint="write it as 'package.module:Name', importable from the project "
            "(pip install it, or put the module next to the config)",
        ) from exc
    try:
        return target(**spec.options)
    except Exception as exc:
        msg = f"Observer {spec.target!r} of monitoring.observers cannot be built: {exc}"
        raise ConfigError(
            msg, hint=f"check the options given to it: {sorted(spec.options)}"
        ) from exc
