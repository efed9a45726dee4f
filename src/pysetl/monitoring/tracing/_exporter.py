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

The SDK set-up (resource, providers, processors) is in ``_providers``, the
span helpers (start, parent, errors, phase spans) in ``_spans``.

Added in 0.5.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression

from pysetl._version import __version__
from pysetl.monitoring.metrics._spark import spark_status
from pysetl.monitoring.tracing._options import OpenTelemetryOptions, validate_options
from pysetl.monitoring.tracing._providers import (
    log_pipeline,
    resource_of,
    span_pipeline,
)
from pysetl.monitoring.tracing._spans import (
    Finish,
    Open,
    ns,
    phase_spans,
    record_error,
    release,
    run_parent,
    start,
)
from pysetl.utils.redaction import register_secret
from pysetl.utils.writer import shared_writer
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.spark import active_spark_context, job_group

if TYPE_CHECKING:
    from opentelemetry import context as otel_context
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    from pysetl.monitoring.tracing._export import ExportGuard
    from pysetl.monitoring.tracing._logs import OtlpLogHandler
    from pysetl.utils.writer import BackgroundWriter

__all__ = ["SPAN_ATTRIBUTES", "OpenTelemetryExporter"]

_LOGGER = logging.getLogger("pysetl.monitoring.tracing")
# How long a factory's span waits for Spark's listener bus before it lists
# the factory's jobs (the metrics collector waits for it too).
_SPARK_WAIT_SECONDS = 2.0

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
        self._runs: dict[str, Open] = {}
        self._stages: dict[tuple[str, int], Open] = {}
        self._factories: dict[tuple[str, int, str, int], Open] = {}
        self._pending = 0
        self._closed = False
        resource = resource_of(opts)
        compression = Compression(opts.compression)
        self.provider, self.span_guard = span_pipeline(
            opts, resource, headers, compression, span_exporter
        )
        self.tracer = self.provider.get_tracer("pysetl", __version__)
        self.log_provider: LoggerProvider | None = None
        self.log_guard: ExportGuard | None = None
        self._log_handler: OtlpLogHandler | None = None
        if opts.logs:
            self.log_provider, self.log_guard, self._log_handler = log_pipeline(
                opts, resource, headers, compression, log_exporter
            )
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

    # ------------------------------------------------------------------ run
    @hook_impl
    def before_pipeline_run(
        self, *, run_id: str, pipeline_name: str, timestamp: float
    ) -> None:
        """Start the run's span (the root of the run's tree)."""
        attributes = {"pysetl.run_id": run_id, "pysetl.pipeline": pipeline_name}
        opened = start(
            self.tracer,
            f"run {pipeline_name}",
            run_parent(self.options.traceparent),
            timestamp,
            attributes,
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
            opened = start(
                self.tracer,
                f"run {pipeline_name}",
                run_parent(self.options.traceparent),
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
            record_error(span, error)
        release(opened)
        span.end(end_time=ns(timestamp))

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
        opened = start(
            self.tracer,
            f"stage {stage_id}",
            self._parent_of_stage(run_id),
            timestamp,
            attributes,
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
            record_error(opened.span, error)
        release(opened)
        opened.span.end(end_time=ns(timestamp))

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
        opened = start(self.tracer, f"factory {factory_name}", parent, timestamp, None)
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
        release(opened)
        end = ns(timestamp)
        finish = Finish(
            span=opened.span,
            key=key,
            pipeline=pipeline_name,
            start=end - ns(duration),
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

    def _finish(self, finish: Finish) -> None:
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
                phase_spans(self.tracer, finish)
            span.set_attribute("pysetl.status", "failed" if error else "succeeded")
            if error is not None:
                span.set_attribute("pysetl.failed_phase", finish.failed_phase or "")
                record_error(span, error)
            if finish.spark_context is not None:
                group = job_group(run_id, finish.pipeline, factory_name, attempt)[0]
                self._add_job_ids(span, finish.spark_context, group, run_id)
        finally:
            span.end(end_time=finish.end)
            with self._lock:
                self._pending -= 1

    def _add_job_ids(
        self, span: trace.Span, spark_context: Any, group: str, run_id: str
    ) -> None:
        try:  # one Py4J call when pysetl's Spark listener saw the run
            ids = spark_status(spark_context).group_job_ids(
                group, run_id, _SPARK_WAIT_SECONDS
            )
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
            release(opened)
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
