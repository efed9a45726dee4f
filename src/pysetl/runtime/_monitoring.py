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
      prometheus:                # export to Prometheus (extra: prometheus)
        pushgateway: http://127.0.0.1:9091
      tracing:                   # OpenTelemetry spans over OTLP (extra: otel)
        endpoint: http://127.0.0.1:4318
      lineage:                   # OpenLineage events (extra: lineage)
        url: http://127.0.0.1:5000

Each exporter section is the options of its observer (``PrometheusOptions``,
``OpenTelemetryOptions``, ``OpenLineageOptions``; see docs/integrations.md),
checked here when its extra is installed, and registered like an entry of
``observers`` (after them).

Added in 0.4.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pysetl.errors import ConfigError

__all__ = [
    "EXPORTERS",
    "Exporter",
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


class Exporter(NamedTuple):
    """An exporter a ``monitoring`` section turns on."""

    observer: str  # "module:Name", built with the section as its options
    options: str  # "module:Name" of its options model
    extra: str  # what to pip install


EXPORTERS: dict[str, Exporter] = {
    "prometheus": Exporter(
        "pysetl.monitoring.prometheus:PrometheusExporter",
        "pysetl.monitoring.prometheus:PrometheusOptions",
        "prometheus",
    ),
    "tracing": Exporter(
        "pysetl.monitoring.tracing:OpenTelemetryExporter",
        "pysetl.monitoring.tracing:OpenTelemetryOptions",
        "otel",
    ),
    "lineage": Exporter(
        "pysetl.monitoring.lineage:OpenLineageExporter",
        "pysetl.monitoring.lineage:OpenLineageOptions",
        "lineage",
    ),
}
"""The exporter sections of ``monitoring``, by key."""


def _options_model(section: str) -> type[BaseModel] | None:
    """The options model of an exporter section; ``None`` without its extra."""
    module_name, _, name = EXPORTERS[section].options.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None  # reported when the session builds it, with the extra to install
    model: type[BaseModel] = getattr(module, name)
    return model


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
    prometheus: dict[str, Any] | None = None
    tracing: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _exporters_are_observers(cls, data: Any) -> Any:
        """Each exporter section set adds its observer to ``observers``."""
        if not isinstance(data, dict):
            return data
        added = [
            {"class": exporter.observer, "options": data[key]}
            for key, exporter in EXPORTERS.items()
            if isinstance(data.get(key), dict)
        ]
        observers = data.get("observers") or []
        if not added or not isinstance(observers, list):
            return data  # nothing to add, or the field reports its own error
        return {**data, "observers": [*observers, *added]}

    @field_validator("observers", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"class": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("prometheus", "tracing", "lineage")
    @classmethod
    def _exporter_options(
        cls, value: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        """Check an exporter's options with its own model (when installed).

        The message names each bad option and what it expects, never the
        value given (it may be a password).
        """
        model = None if value is None else _options_model(str(info.field_name))
        if model is None:
            return value
        try:
            model.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
            msg = f"invalid {info.field_name} options: {problems}"
            raise ValueError(msg) from None
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
        ours = [k for k, e in EXPORTERS.items() if e.observer == spec.target]
        if ours and isinstance(exc, ImportError):
            extra = EXPORTERS[ours[0]].extra
            msg = f"monitoring.{ours[0]} needs the {extra!r} extra: {exc}"
            raise ConfigError(msg, hint=f"pip install 'pysetl[{extra}]'") from exc
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
