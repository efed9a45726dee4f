"""Debug mode: a tracer that logs every lifecycle step with timings and shapes.

``DebugTracer`` is an observer (``@hook_impl``) delivered inline, in the
run's thread, so it sees the run context and the factory's inputs as they
are. It logs on the ``pysetl.debug`` logger at ``DEBUG``, with fixed
snake_case event names and key-value data (``extra=``):

* ``pipeline_started`` / ``pipeline_finished`` / ``pipeline_failed``;
* ``stage_started`` (factories, parallel) / ``stage_finished`` / ``stage_failed``;
* ``factory_started`` (inputs) / ``factory_finished`` (phases in ms, inputs,
  output) / ``factory_failed`` (phase, error type, Spark error class).

Every record carries the run context fields (``run_id``, ``pipeline``,
``stage``, ``factory``, ``attempt``) explicitly, since some events come
before or after the engine binds the factory's scope.

An input or output is described by its *shape* only (``describe_shape``):
its type, its length for collections, the schema and number of partitions
for a Spark DataFrame. Never a value: no ``collect``, ``count`` or ``show``,
so debug mode neither leaks data nor starts Spark jobs.

Debug mode is on with ``PYSETL_DEBUG=1``, ``pysetl --debug`` or
``configure_logging(debug=True)``: then ``default_hook_manager()`` registers
a tracer. Elsewhere, register one yourself:
``HookManager(observers=[DebugTracer()])``.

Added in 0.2.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pysetl.workflow._hook_specs import hook_impl

if TYPE_CHECKING:
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.stage import Stage

__all__ = ["DebugTracer", "describe_shape"]

_MAX_COLUMNS_TEXT = 2000


def describe_shape(value: Any) -> dict[str, Any]:
    """The shape of ``value``, never its content.

    Args:
        value: A payload: a DataFrame, a collection, anything.

    Returns:
        ``{"type": ...}`` plus ``len`` for sized collections, and ``schema``
        and ``partitions`` for Spark DataFrames (read from the plan: no job).
    """
    kind = type(value)
    shape: dict[str, Any] = {"type": f"{kind.__module__}.{kind.__qualname__}"}
    schema = getattr(value, "schema", None)
    simple = getattr(schema, "simpleString", None)
    if callable(simple) and hasattr(value, "columns"):
        try:
            text = str(simple())
            shape["schema"] = (
                text if len(text) <= _MAX_COLUMNS_TEXT else text[:_MAX_COLUMNS_TEXT]
            )
            shape["partitions"] = int(value.rdd.getNumPartitions())
        except Exception:  # noqa: BLE001 - a shape is best effort (Spark Connect has no rdd)
            shape.setdefault("schema", None)
        return shape
    if isinstance(value, list | tuple | set | frozenset | dict):
        shape["len"] = len(value)
    return shape


def _inputs(factory: Factory[Any]) -> dict[str, dict[str, Any]]:
    inputs: dict[str, dict[str, Any]] = {}
    for name, _ in type(factory).declared_deliveries():
        delivery = factory.__dict__.get(name) or getattr(factory, name, None)
        try:
            inputs[name] = describe_shape(delivery.get())  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - not delivered yet
            inputs[name] = {"type": None}
    return inputs


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class DebugTracer:
    """Logs every lifecycle step, with timings and input shapes (debug mode).

    Args:
        logger: Where to log; default: the ``pysetl.debug`` logger.

    Attributes:
        pysetl_inline: Tells the ``HookManager`` to deliver this observer's
            events in the run's thread.
    """

    pysetl_inline = True

    def __init__(self, logger: logging.Logger | None = None) -> None:
        """Create the tracer."""
        self.logger = logger or logging.getLogger("pysetl.debug")

    def _log(self, event: str, **data: Any) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(event, extra=data)

    @hook_impl
    def before_pipeline_run(self, *, run_id: str, pipeline_name: str) -> None:
        """Log ``pipeline_started``."""
        self._log("pipeline_started", run_id=run_id, pipeline=pipeline_name)

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, pipeline_name: str, duration: float
    ) -> None:
        """Log ``pipeline_finished`` with its duration."""
        self._log(
            "pipeline_finished",
            run_id=run_id,
            pipeline=pipeline_name,
            duration_ms=_ms(duration),
        )

    @hook_impl
    def on_pipeline_run_failed(
        self, *, run_id: str, pipeline_name: str, duration: float, error: Exception
    ) -> None:
        """Log ``pipeline_failed`` with the error's type."""
        self._log(
            "pipeline_failed",
            run_id=run_id,
            pipeline=pipeline_name,
            duration_ms=_ms(duration),
            error_type=type(error).__name__,
        )

    @hook_impl
    def before_stage_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage: Stage,
        stage_id: int,
        parallel: bool,
    ) -> None:
        """Log ``stage_started`` with its factories."""
        self._log(
            "stage_started",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            parallel=parallel,
            factories=[type(f).__name__ for f in stage.factories],
        )

    @hook_impl
    def after_stage_run(
        self, *, run_id: str, pipeline_name: str, stage_id: int, duration: float
    ) -> None:
        """Log ``stage_finished`` with its duration."""
        self._log(
            "stage_finished",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            duration_ms=_ms(duration),
        )

    @hook_impl
    def on_stage_run_failed(
        self, *, run_id: str, pipeline_name: str, stage_id: int, duration: float
    ) -> None:
        """Log ``stage_failed`` with its duration."""
        self._log(
            "stage_failed",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            duration_ms=_ms(duration),
        )

    @hook_impl
    def before_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
    ) -> None:
        """Log ``factory_started`` with the shapes of the inputs set so far."""
        self._log(
            "factory_started",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            factory=factory_name,
            attempt=attempt,
            inputs=_inputs(factory),
        )

    @hook_impl
    def after_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
        output: Any,
    ) -> None:
        """Log ``factory_finished``: phases, input and output shapes."""
        self._log(
            "factory_finished",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            factory=factory_name,
            attempt=attempt,
            duration_ms=_ms(duration),
            phases_ms={name: _ms(value) for name, value in phases.items()},
            inputs=_inputs(factory),
            output=describe_shape(output),
        )

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
        phase: str,
        error: Exception,
    ) -> None:
        """Log ``factory_failed``: the phase, timings, inputs and error class."""
        self._log(
            "factory_failed",
            run_id=run_id,
            pipeline=pipeline_name,
            stage=stage_id,
            factory=factory_name,
            attempt=attempt,
            phase=phase,
            duration_ms=_ms(duration),
            phases_ms={name: _ms(value) for name, value in phases.items()},
            inputs=_inputs(factory),
            error_type=type(error).__name__,
            error_class=getattr(error, "error_class", None),
        )
