"""``OpenTelemetryExporter``: the observer that turns runs into OpenTelemetry traces.

Mechanism (what is made where, and why the run barely notices):

* one span per run, per stage and per factory attempt, started and ended by
  the lifecycle events, with the event's own timestamps. The exporter is
  delivered inline (``pysetl_inline``): only the emitting thread can make a
  span *current* there, which is what puts ``trace_id``/``span_id`` on the
  log lines of a factory (``pysetl.logs``) and what makes spans that
  users' own instrumentation opens inside a factory children of it;
* parents are explicit (run, then stage, then factory), so the factories of a
  parallel stage, in pool threads, nest under their stage as well;
* the factory's thread only starts its span and hands the rest to the
  observers' writer thread when the factory ends: the attributes, one phase
  span per phase (read, process, write, get, made from the phase times the
  event carries), the error, the Spark job ids of the factory's job group
  (read only when Spark is running: never a Py4J call without Spark, none on
  the factory's thread), then the span's end. Measured on our shared 2-core
  CI box, that is 25 to 40 microseconds of the factory thread's CPU per
  factory (most of it the SDK's ``start_span``);
* ended spans go to a ``BatchSpanProcessor`` that exports them on its own
  thread, through an ``ExportGuard`` (see ``_export``): a backend that is
  down never slows the run, is reported once, and ``close()`` waits at most
  twice ``export_timeout`` for the last spans;
* the run's parent: the span current where the run starts (an
  instrumented caller), else the W3C ``TRACEPARENT`` of the environment (an
  orchestrator's task), else none (a new trace).

Errors are recorded on the failing factory, its phase, its stage and the run:
status ``ERROR`` and an ``exception`` event, the message and stack trace
masked by the one redaction point.

Added in 0.5.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pysetl._version import __version__
from pysetl.monitoring.tracing._export import ExportGuard, GuardedSpanExporter
from pysetl.monitoring.tracing._options import OpenTelemetryOptions, validate_options
from pysetl.utils.redaction import redact_text, register_secret
from pysetl.utils.writer import shared_writer
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.spark import active_spark_context, job_group

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    from pysetl.monitoring.tracing._logs import OtlpLogHandler
    from pysetl.utils.writer import BackgroundWriter

__all__ = ["SPAN_ATTRIBUTES", "OpenTelemetryExporter"]

_LOGGER = logging.getLogger("pysetl.monitoring.tracing")
_PHASES = ("read", "process", "write", "get")
_BATCH = 512  # the SDK's default batch size, capped by the queue's

SPAN_ATTRIBUTES = (
    "pysetl.run_id",
    "pysetl.pipeline",
    "pysetl.stage_id",
    "pysetl.parallel",
    "pysetl.factory",
    "pysetl.attempt",
    "pysetl.phase",
    "pysetl.failed_phase",
    "pysetl.status",
    "pysetl.spark.job_ids",
)
"""The attributes pysetl puts on its spans (each span has those that apply)."""


def _ns(timestamp: float) -> int:
    return int(timestamp * 1e9)


@dataclass(frozen=True, slots=True)
class _Finish:
    """What ending a factory attempt's span needs, handed to the writer thread."""

    span: trace.Span
    key: tuple[str, int, str, int]
    pipeline: str
    start: int
    end: int
    phases: dict[str, float]
    failed_phase: str | None
    error: Exception | None
    spark_context: Any


@dataclass(slots=True)
class _Open:
    """A span that is running, and how to make it current no longer."""

    span: trace.Span
    token: object | None
    thread: int


class OpenTelemetryExporter:
    """Sends a span tree of every run to an OpenTelemetry backend (OTLP/HTTP).

    Usage, from the project config:

    ```yaml
    monitoring:
      observers:
        - class: pysetl.monitoring.tracing:OpenTelemetryExporter
          options: {endpoint: "http://127.0.0.1:4318", service_name: shop}
    ```

    or by hand:

    ```python
    exporter = OpenTelemetryExporter(endpoint="http://127.0.0.1:4318")
    Pipeline(hooks=HookManager(observers=[exporter])).add_stage(...).run()
    exporter.close()
    ```

    Args:
        span_exporter: Export spans there instead of OTLP/HTTP (tests pass
            the SDK's ``InMemorySpanExporter``).
        log_exporter: Likewise for log records (with ``logs=True``).
        writer: The observers' writer thread; default: the session's (see
            ``pysetl_attach``), else the process-wide one.
        **options: The options (``OpenTelemetryOptions``).

    Raises:
        ConfigError: An option is unknown or has a bad value.

    Attributes:
        options: The validated options.
        provider: The exporter's own ``TracerProvider`` (the global one is
            never touched).
        log_provider: Its ``LoggerProvider`` (``logs=True``), else ``None``.
        errors: Spark job id lookups that failed.
    """

    pysetl_inline = True  # spans are current in the factory's own thread

    def __init__(
        self,
        *,
        span_exporter: SpanExporter | None = None,
        log_exporter: LogRecordExporter | None = None,
        writer: BackgroundWriter | None = None,
        **options: Any,
    ) -> None:
        """Validate the options and build the providers; nothing is sent yet."""
        self.options = validate_options(options)
        self._setup(span_exporter, log_exporter, writer)

    @classmethod
    def from_options(
        cls,
        options: OpenTelemetryOptions,
        *,
        span_exporter: SpanExporter | None = None,
        log_exporter: LogRecordExporter | None = None,
        writer: BackgroundWriter | None = None,
    ) -> OpenTelemetryExporter:
        """An exporter built from options already validated (a config section)."""
        exporter = cls.__new__(cls)
        exporter.options = options
        exporter._setup(span_exporter, log_exporter, writer)  # noqa: SLF001
        return exporter

    def _setup(
        self,
        span_exporter: SpanExporter | None,
        log_exporter: LogRecordExporter | None,
        writer: BackgroundWriter | None,
    ) -> None:
        opts = self.options
        headers = opts.header_values()
        for value in headers.values():
            register_secret(value)  # masked wherever it could show up
        self.errors = 0
        self._writer = writer
        self._lock = threading.Lock()
        self._runs: dict[str, _Open] = {}
        self._stages: dict[tuple[str, int], _Open] = {}
        self._factories: dict[tuple[str, int, str, int], _Open] = {}
        self._pending = 0
        self._closed = False
        attributes = dict(opts.resource_attributes)
        if opts.service_name:
            attributes["service.name"] = opts.service_name
        resource = Resource.create(attributes)  # and OTEL_* of the environment
        if str(resource.attributes.get("service.name")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": "pysetl"}))
        compression = Compression(opts.compression)
        inner = span_exporter or OTLPSpanExporter(
            endpoint=opts.traces_url,
            headers=headers,
            timeout=opts.export_timeout,
            compression=compression,
        )
        self.span_guard = ExportGuard("spans", opts.traces_url)
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.provider.add_span_processor(
            BatchSpanProcessor(
                GuardedSpanExporter(inner, self.span_guard),
                max_queue_size=opts.max_queue_size,
                max_export_batch_size=min(_BATCH, opts.max_queue_size),
                schedule_delay_millis=opts.schedule_delay * 1000,
            )
        )
        self.tracer = self.provider.get_tracer("pysetl", __version__)
        self.log_provider: LoggerProvider | None = None
        self.log_guard: ExportGuard | None = None
        self._log_handler: OtlpLogHandler | None = None
        if opts.logs:
            self._setup_logs(resource, headers, compression, log_exporter)

    def _setup_logs(
        self,
        resource: Resource,
        headers: Mapping[str, str],
        compression: Compression,
        log_exporter: LogRecordExporter | None,
    ) -> None:
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

        opts = self.options
        inner = log_exporter or OTLPLogExporter(
            endpoint=opts.logs_url,
            headers=dict(headers),
            timeout=opts.export_timeout,
            compression=compression,
        )
        self.log_guard = ExportGuard("log records", opts.logs_url)
        self.log_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        self.log_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                GuardedLogExporter(inner, self.log_guard),
                max_queue_size=opts.max_queue_size,
                max_export_batch_size=min(_BATCH, opts.max_queue_size),
                schedule_delay_millis=opts.schedule_delay * 1000,
            )
        )
        self._log_handler = OtlpLogHandler(self.log_provider, opts.log_levelno)
        logging.getLogger().addHandler(self._log_handler)

    # ------------------------------------------------------------ composition
    def pysetl_attach(self, session: Any) -> None:
        """Use the session's writer thread (``Session`` calls it at registration)."""
        writer = getattr(session, "writer", None)
        if writer is not None and self._writer is None:
            self._writer = writer

    @property
    def writer(self) -> BackgroundWriter:
        """The writer thread the Spark lookups run on."""
        return self._writer if self._writer is not None else shared_writer()

    # ------------------------------------------------------------------ spans
    def _start(
        self,
        name: str,
        parent: otel_context.Context | None,
        timestamp: float,
        attributes: dict[str, Any] | None,
    ) -> _Open:
        span = self.tracer.start_span(
            name,
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(timestamp),
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        return _Open(span, token, threading.get_ident())

    @staticmethod
    def _release(opened: _Open) -> None:
        """Make the span current no longer (only where it was made current)."""
        if opened.token is not None and opened.thread == threading.get_ident():
            otel_context.detach(opened.token)  # type: ignore[arg-type]
            opened.token = None

    def _run_parent(self) -> otel_context.Context | None:
        current = trace.get_current_span().get_span_context()
        if current.is_valid:
            return None  # the current context: the caller's span is the parent
        if not self.options.traceparent:
            return otel_context.Context()
        carrier = {
            key: os.environ[env]
            for key, env in (
                ("traceparent", "TRACEPARENT"),
                ("tracestate", "TRACESTATE"),
            )
            if env in os.environ
        }
        if not carrier:
            return otel_context.Context()
        return TraceContextTextMapPropagator().extract(carrier, otel_context.Context())

    @staticmethod
    def _record_error(span: trace.Span, error: BaseException) -> None:
        original = error.__cause__ or error
        message = redact_text(str(error)).split("\n")[0]
        kind = type(original)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {message}"))
        span.add_event(
            "exception",
            {
                "exception.type": f"{kind.__module__}.{kind.__qualname__}",
                "exception.message": redact_text(str(original)),
                "exception.stacktrace": redact_text(
                    "".join(traceback.format_exception(error))
                ),
            },
        )

    # ------------------------------------------------------------------ run
    @hook_impl
    def before_pipeline_run(
        self, *, run_id: str, pipeline_name: str, timestamp: float
    ) -> None:
        """Start the run's span (the root of the run's tree)."""
        attributes = {"pysetl.run_id": run_id, "pysetl.pipeline": pipeline_name}
        opened = self._start(
            f"run {pipeline_name}", self._run_parent(), timestamp, attributes
        )
        with self._lock:
            self._runs[run_id] = opened

    @hook_impl
    def after_pipeline_run(self, *, run_id: str, timestamp: float) -> None:
        """End the run's span."""
        self._end_run(run_id, timestamp, None)

    @hook_impl
    def on_pipeline_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        duration: float,
        error: Exception,
    ) -> None:
        """End the run's span as failed (or make one: the pre-flight check failed)."""
        with self._lock:
            known = run_id in self._runs
        if not known:
            attributes = {"pysetl.run_id": run_id, "pysetl.pipeline": pipeline_name}
            opened = self._start(
                f"run {pipeline_name}",
                self._run_parent(),
                timestamp - duration,
                attributes,
            )
            with self._lock:
                self._runs[run_id] = opened
        self._end_run(run_id, timestamp, error)

    def _end_run(self, run_id: str, timestamp: float, error: Exception | None) -> None:
        with self._lock:
            opened = self._runs.pop(run_id, None)
        if opened is None:
            return
        span = opened.span
        span.set_attribute("pysetl.status", "failed" if error else "succeeded")
        if error is not None:
            self._record_error(span, error)
        self._release(opened)
        span.end(end_time=_ns(timestamp))

    # ---------------------------------------------------------------- stages
    def _parent_of_stage(self, run_id: str) -> otel_context.Context | None:
        with self._lock:
            run = self._runs.get(run_id)
        return None if run is None else trace.set_span_in_context(run.span)

    @hook_impl
    def before_stage_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        parallel: bool,
        timestamp: float,
    ) -> None:
        """Start a stage's span under the run's."""
        attributes = {
            "pysetl.run_id": run_id,
            "pysetl.pipeline": pipeline_name,
            "pysetl.stage_id": stage_id,
            "pysetl.parallel": parallel,
        }
        opened = self._start(
            f"stage {stage_id}", self._parent_of_stage(run_id), timestamp, attributes
        )
        with self._lock:
            self._stages[run_id, stage_id] = opened

    @hook_impl
    def after_stage_run(self, *, run_id: str, stage_id: int, timestamp: float) -> None:
        """End a stage's span."""
        self._end_stage(run_id, stage_id, timestamp, None)

    @hook_impl
    def on_stage_run_failed(
        self, *, run_id: str, stage_id: int, timestamp: float, error: Exception
    ) -> None:
        """End a stage's span as failed."""
        self._end_stage(run_id, stage_id, timestamp, error)

    def _end_stage(
        self, run_id: str, stage_id: int, timestamp: float, error: Exception | None
    ) -> None:
        with self._lock:
            opened = self._stages.pop((run_id, stage_id), None)
        if opened is None:
            return
        if error is not None:
            self._record_error(opened.span, error)
        self._release(opened)
        opened.span.end(end_time=_ns(timestamp))

    # ------------------------------------------------------------- factories
    @hook_impl
    def before_factory_run(
        self,
        *,
        run_id: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        timestamp: float,
    ) -> None:
        """Start a factory attempt's span under its stage's; make it current."""
        with self._lock:
            stage = self._stages.get((run_id, stage_id)) or self._runs.get(run_id)
        parent = None if stage is None else trace.set_span_in_context(stage.span)
        # Attributes are set on the writer thread when the span ends: checking
        # them is a third of the SDK's cost of a span.
        opened = self._start(f"factory {factory_name}", parent, timestamp, None)
        with self._lock:
            self._factories[run_id, stage_id, factory_name, attempt] = opened

    @hook_impl
    def after_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
    ) -> None:
        """Add the phase spans, then end the factory's span."""
        key = (run_id, stage_id, factory_name, attempt)
        self._end_factory(key, pipeline_name, timestamp, duration, phases, None, None)

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
        phase: str,
        error: Exception,
    ) -> None:
        """Add the phase spans, record the error, end the factory's span."""
        key = (run_id, stage_id, factory_name, attempt)
        self._end_factory(key, pipeline_name, timestamp, duration, phases, phase, error)

    def _end_factory(  # noqa: PLR0917 - internal, called by the two events
        self,
        key: tuple[str, int, str, int],
        pipeline_name: str,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
        failed_phase: str | None,
        error: Exception | None,
    ) -> None:
        with self._lock:
            opened = self._factories.pop(key, None)
        if opened is None:
            return
        self._release(opened)
        end = _ns(timestamp)
        finish = _Finish(
            span=opened.span,
            key=key,
            pipeline=pipeline_name,
            start=end - _ns(duration),
            end=end,
            phases=dict(phases),
            failed_phase=failed_phase,
            error=error,
            spark_context=active_spark_context() if self.options.spark_jobs else None,
        )
        with self._lock:
            self._pending += 1
        # The rest (phase spans, Spark job ids, ending) costs the factory's
        # thread nothing: the writer does it. A closed or full writer: here.
        if not self.writer.call(self._finish, finish, key="pysetl-otel"):
            self._finish(finish)

    def _finish(self, finish: _Finish) -> None:
        """Writer thread: the phase spans, the Spark job ids, the factory span's end."""
        span, error = finish.span, finish.error
        run_id, stage_id, factory_name, attempt = finish.key
        try:
            span.set_attributes(
                {
                    "pysetl.run_id": run_id,
                    "pysetl.pipeline": finish.pipeline,
                    "pysetl.stage_id": stage_id,
                    "pysetl.factory": factory_name,
                    "pysetl.attempt": attempt,
                }
            )
            if self.options.phases:
                self._phase_spans(finish)
            span.set_attribute("pysetl.status", "failed" if error else "succeeded")
            if error is not None:
                span.set_attribute("pysetl.failed_phase", finish.failed_phase or "")
                self._record_error(span, error)
            if finish.spark_context is not None:
                group = job_group(run_id, finish.pipeline, factory_name, attempt)[0]
                self._add_job_ids(span, finish.spark_context, group)
        finally:
            span.end(end_time=finish.end)
            with self._lock:
                self._pending -= 1

    def _phase_spans(self, finish: _Finish) -> None:
        run_id, stage_id, factory_name, attempt = finish.key
        phases, failed_phase = finish.phases, finish.failed_phase
        parent = trace.set_span_in_context(finish.span)
        names = [name for name in _PHASES if name in phases]
        if "failed" in phases and failed_phase is not None:
            names.append("failed")
        at = finish.start
        for name in names:
            phase = failed_phase if name == "failed" else name
            end = at + _ns(phases[name])
            span = self.tracer.start_span(
                str(phase),
                context=parent,
                attributes={
                    "pysetl.run_id": run_id,
                    "pysetl.stage_id": stage_id,
                    "pysetl.factory": factory_name,
                    "pysetl.attempt": attempt,
                    "pysetl.phase": str(phase),
                },
                start_time=at,
            )
            if name == "failed" and finish.error is not None:
                self._record_error(span, finish.error)
            span.end(end_time=end)
            at = end

    def _add_job_ids(self, span: trace.Span, spark_context: Any, group: str) -> None:
        try:
            ids = sorted(spark_context.statusTracker().getJobIdsForGroup(group))
        except Exception as exc:  # noqa: BLE001 - Spark gone: the span goes without
            self.errors += 1
            if self.errors == 1:
                _LOGGER.warning(
                    "pysetl OpenTelemetry: no Spark job ids for %s: %s: %s",
                    group,
                    type(exc).__name__,
                    exc,
                )
            return
        if ids:
            span.set_attribute("pysetl.spark.job_ids", [int(i) for i in ids])

    # ---------------------------------------------------------------- closing
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def close(self) -> None:
        """Send the last spans, at most ``2 * export_timeout`` s; idempotent.

        Spans still running (a run that never ended) are ended first, marked
        ``pysetl.status = unfinished``. After ``export_timeout`` seconds, or
        at once when the endpoint is failing, what is left is dropped and
        counted (``span_guard.dropped``).
        """
        if self._closed:
            return
        self._closed = True
        timeout = self.options.export_timeout
        # One deadline for all of it: the writer's pending factory spans, then
        # the last batches (an export under way ends within ``timeout``).
        deadline = time.monotonic() + timeout
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
        if self._pending:
            self.writer.drain(timeout)
        with self._lock:
            left = [
                *self._factories.values(),
                *self._stages.values(),
                *self._runs.values(),
            ]
            self._factories.clear()
            self._stages.clear()
            self._runs.clear()
        for opened in left:
            opened.span.set_attribute("pysetl.status", "unfinished")
            self._release(opened)
            opened.span.end()
        self.span_guard.closing(deadline)
        if self.log_guard is not None:
            self.log_guard.closing(deadline)
        try:
            self.provider.shutdown()
            if self.log_provider is not None:
                self.log_provider.shutdown()
        finally:
            self.span_guard.release()
            if self.log_guard is not None:
                self.log_guard.release()
