"""``OpenTelemetryOptions``: the validated options of the OpenTelemetry exporter.

The same model backs ``monitoring.observers`` entries today and a first-class
``monitoring.tracing:`` section later: each key of the section is one field.

Added in 0.5.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from pysetl.errors import ConfigError
from pysetl.utils.redaction import redact_text

__all__ = ["OpenTelemetryOptions", "validate_options"]

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class OpenTelemetryOptions(BaseModel):
    """What the OpenTelemetry exporter sends, where, and how long it may wait.

    Example (``conf/base/monitoring.yaml``):

    ```yaml
    monitoring:
      observers:
        - class: pysetl.monitoring.tracing:OpenTelemetryExporter
          options:
            endpoint: https://otel.example.com:4318
            headers: {x-api-key: "${secret:otel_api_key}"}
            service_name: shop-etl
            logs: true
    ```

    Attributes:
        endpoint: The collector's OTLP/HTTP base URL; spans go to
            ``<endpoint>/v1/traces`` and log records to ``<endpoint>/v1/logs``.
        headers: HTTP headers of every export (an API key...); their values
            are secrets: masked in every output of pysetl.
        service_name: The ``service.name`` resource attribute; default:
            ``OTEL_SERVICE_NAME`` (or ``OTEL_RESOURCE_ATTRIBUTES``), else ``pysetl``.
        resource_attributes: More resource attributes (``deployment.environment``...).
        export_timeout: Seconds one export may take (retries included);
            ``close()`` waits at most twice this for the last spans.
        schedule_delay: Seconds between two batches.
        max_queue_size: Spans (and log records) kept waiting for export; more
            are dropped.
        compression: ``none``, ``gzip`` or ``deflate``.
        phases: One child span per phase (read, process, write, get) of each
            factory.
        spark_jobs: Add the Spark job ids of each factory (``pysetl.spark.job_ids``)
            when Spark is running.
        traceparent: Make each run a child of the W3C ``TRACEPARENT`` (and
            ``TRACESTATE``) of the environment, when no span is current.
        logs: Also ship log records over OTLP (``<endpoint>/v1/logs``).
        log_level: The lowest level of the log records shipped.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = "http://localhost:4318"
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    service_name: str | None = Field(default=None, min_length=1)
    resource_attributes: dict[str, str] = Field(default_factory=dict)
    export_timeout: float = Field(default=3.0, gt=0, le=60)
    schedule_delay: float = Field(default=1.0, gt=0, le=60)
    max_queue_size: int = Field(default=2048, ge=1)
    compression: Literal["none", "gzip", "deflate"] = "none"
    phases: bool = True
    spark_jobs: bool = True
    traceparent: bool = True
    logs: bool = False
    log_level: str = "INFO"

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            msg = (
                f"expected an http:// or https:// URL (the collector's OTLP/HTTP "
                f"port, usually 4318), got {redact_text(value)!r}"
            )
            raise ValueError(msg)
        return url

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LEVELS:
            msg = f"unknown log level {value!r}; expected one of {', '.join(_LEVELS)}"
            raise ValueError(msg)
        return level

    @property
    def traces_url(self) -> str:
        """Where spans are posted."""
        return f"{self.endpoint}/v1/traces"

    @property
    def logs_url(self) -> str:
        """Where log records are posted."""
        return f"{self.endpoint}/v1/logs"

    @property
    def log_levelno(self) -> int:
        """``log_level`` as a ``logging`` level number."""
        number: int = logging.getLevelName(self.log_level)
        return number

    def header_values(self) -> dict[str, str]:
        """The headers with their secret values revealed (for the HTTP client only)."""
        return {name: value.get_secret_value() for name, value in self.headers.items()}


def validate_options(options: dict[str, Any]) -> OpenTelemetryOptions:
    """Validate the keyword options of the exporter.

    Raises:
        ConfigError: An option is unknown or has a bad value; the message
            names each option and what was expected.
    """
    try:
        return OpenTelemetryOptions(**options)
    except ValidationError as exc:
        problems = [
            {
                "loc": ".".join(str(part) for part in error["loc"]),
                "msg": error["msg"],
            }
            for error in exc.errors(include_input=False)
        ]
        listed = "; ".join(f"option {p['loc']!r}: {p['msg']}" for p in problems)
        msg = f"Invalid OpenTelemetry exporter options: {listed}"
        raise ConfigError(
            msg,
            hint="the options are listed in docs/integrations.md (OpenTelemetry); "
            f"known: {', '.join(sorted(OpenTelemetryOptions.model_fields))}",
            errors=problems,
        ) from None
