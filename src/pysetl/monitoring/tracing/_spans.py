"""The spans of an exporter: starting one, its parent, errors, phases.

Plain functions over the SDK, shared by the events of a run, a stage and a
factory attempt (``_exporter``), and the two records they pass around: a
span that runs (``Open``) and what ending a factory's span needs
(``Finish``), handed to the writer thread.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pysetl.utils.redaction import redact_text

__all__ = [
    "Finish",
    "Open",
    "ns",
    "phase_spans",
    "record_error",
    "release",
    "run_parent",
    "start",
]

_PHASES = ("read", "process", "write", "get")


def ns(timestamp: float) -> int:
    """``timestamp`` (seconds) in nanoseconds, as the SDK takes times."""
    return int(timestamp * 1e9)


@dataclass(frozen=True, slots=True)
class Finish:
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
class Open:
    """A span that is running, and how to make it current no longer."""

    span: trace.Span
    token: object | None
    thread: int


def start(
    tracer: trace.Tracer,
    name: str,
    parent: otel_context.Context | None,
    timestamp: float,
    attributes: dict[str, Any] | None,
) -> Open:
    """Start a span under ``parent`` and make it current in this thread."""
    span = tracer.start_span(
        name,
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        start_time=ns(timestamp),
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    return Open(span, token, threading.get_ident())


def release(opened: Open) -> None:
    """Make the span current no longer (only where it was made current)."""
    if opened.token is not None and opened.thread == threading.get_ident():
        otel_context.detach(opened.token)  # type: ignore[arg-type]
        opened.token = None


def run_parent(traceparent: bool) -> otel_context.Context | None:
    """The parent of a run's span: the current span, ``TRACEPARENT``, or none.

    ``None`` means the current context (an instrumented caller's span); an
    empty context starts a new trace. The environment's ``TRACEPARENT`` and
    ``TRACESTATE`` are read only when ``traceparent`` is true.
    """
    current = trace.get_current_span().get_span_context()
    if current.is_valid:
        return None  # the current context: the caller's span is the parent
    if not traceparent:
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


def record_error(span: trace.Span, error: BaseException) -> None:
    """Status ``ERROR`` and an ``exception`` event, message and stack masked."""
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


def phase_spans(tracer: trace.Tracer, finish: Finish) -> None:
    """One span per phase of a factory attempt, from the phase times it carries."""
    run_id, stage_id, factory_name, attempt = finish.key
    phases, failed_phase = finish.phases, finish.failed_phase
    parent = trace.set_span_in_context(finish.span)
    names = [name for name in _PHASES if name in phases]
    if "failed" in phases and failed_phase is not None:
        names.append("failed")
    at = finish.start
    for name in names:
        phase = failed_phase if name == "failed" else name
        end = at + ns(phases[name])
        span = tracer.start_span(
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
            record_error(span, finish.error)
        span.end(end_time=end)
        at = end
