"""The OpenTelemetry SDK set-up of an exporter: its resource, spans and logs.

Each exporter has providers of its own (the global ones are never touched):
a ``TracerProvider`` whose ``BatchSpanProcessor`` exports through an
``ExportGuard`` (see ``_export``), and, with ``logs=True``, a
``LoggerProvider`` likewise and the logging handler that feeds it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from pysetl.monitoring._http import kept_alive_session
from pysetl.monitoring.tracing._export import ExportGuard, GuardedSpanExporter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter
    from requests import Session

    from pysetl.monitoring.tracing._logs import OtlpLogHandler
    from pysetl.monitoring.tracing._options import OpenTelemetryOptions

__all__ = ["log_pipeline", "resource_of", "span_pipeline"]

_BATCH = 512  # the SDK's default batch size, capped by the queue's


# The OTEL_* variables the SDK's resource detection reads.
_RESOURCE_VARIABLES = (
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS",
)
# Resources by what they are made of: the detection (a few ms) runs once a
# process per options and environment, not at every session's start.
_RESOURCES: dict[tuple[object, ...], Resource] = {}


def resource_of(opts: OpenTelemetryOptions) -> Resource:
    """The resource the spans and log records describe (``service.name``...).

    The options' attributes and service name, and the ``OTEL_*`` variables
    of the environment; ``pysetl`` when no service name is given anywhere.
    """
    attributes = dict(opts.resource_attributes)
    if opts.service_name:
        attributes["service.name"] = opts.service_name
    key = (
        tuple(sorted((k, repr(v)) for k, v in attributes.items())),
        *(os.environ.get(name) for name in _RESOURCE_VARIABLES),
    )
    found = _RESOURCES.get(key)
    if found is not None:
        return found
    resource = Resource.create(attributes)  # and OTEL_* of the environment
    if str(resource.attributes.get("service.name")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "pysetl"}))
    if len(_RESOURCES) < 64:  # noqa: PLR2004 - a handful of configs a process
        _RESOURCES[key] = resource
    return resource


def _session(url: str) -> Session | None:
    """A kept-alive session for a plain-HTTP endpoint (see ``_http``), else ``None``.

    HTTPS endpoints keep the exporter's own session, which reads the
    ``OTEL_*`` and requests' CA variables as it always did.
    """
    if not url.startswith("http://"):
        return None
    return kept_alive_session(url)


def span_pipeline(
    opts: OpenTelemetryOptions,
    resource: Resource,
    headers: Mapping[str, str],
    compression: Compression,
    span_exporter: SpanExporter | None,
) -> tuple[TracerProvider, ExportGuard]:
    """The tracer provider, batching to ``span_exporter`` (default: OTLP/HTTP).

    Returns:
        The provider and the guard its exports go through.
    """
    inner = span_exporter or OTLPSpanExporter(
        endpoint=opts.traces_url,
        headers=headers,
        timeout=opts.export_timeout,
        compression=compression,
        session=_session(opts.traces_url),
    )
    guard = ExportGuard("spans", opts.traces_url)
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(
        BatchSpanProcessor(
            GuardedSpanExporter(inner, guard),
            max_queue_size=opts.max_queue_size,
            max_export_batch_size=min(_BATCH, opts.max_queue_size),
            schedule_delay_millis=opts.schedule_delay * 1000,
        )
    )
    return provider, guard


def log_pipeline(
    opts: OpenTelemetryOptions,
    resource: Resource,
    headers: Mapping[str, str],
    compression: Compression,
    log_exporter: LogRecordExporter | None,
) -> tuple[LoggerProvider, ExportGuard, OtlpLogHandler]:
    """The logger provider, batching to ``log_exporter`` (default: OTLP/HTTP).

    Returns:
        The provider, the guard its exports go through and the logging
        handler that feeds it (not installed yet).
    """
    # Imported here: a traces-only set-up never loads the logs SDK.
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # noqa: PLC0415
        OTLPLogExporter,
    )
    from opentelemetry.sdk._logs import LoggerProvider  # noqa: PLC0415
    from opentelemetry.sdk._logs.export import (  # noqa: PLC0415
        BatchLogRecordProcessor,
    )

    from pysetl.monitoring.tracing._export import (  # noqa: PLC0415
        GuardedLogExporter,
    )
    from pysetl.monitoring.tracing._logs import OtlpLogHandler  # noqa: PLC0415

    inner = log_exporter or OTLPLogExporter(
        endpoint=opts.logs_url,
        headers=dict(headers),
        timeout=opts.export_timeout,
        compression=compression,
        session=_session(opts.logs_url),
    )
    guard = ExportGuard("log records", opts.logs_url)
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            GuardedLogExporter(inner, guard),
            max_queue_size=opts.max_queue_size,
            max_export_batch_size=min(_BATCH, opts.max_queue_size),
            schedule_delay_millis=opts.schedule_delay * 1000,
        )
    )
    return provider, guard, OtlpLogHandler(provider, opts.log_levelno)
