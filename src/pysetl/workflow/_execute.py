"""Running factories: injection, phases, timing, job groups, events, errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.errors import FactoryError
from pysetl.utils._benchmark import BenchmarkResult
from pysetl.utils._pretty import pretty
from pysetl.workflow import _spark
from pysetl.workflow.delivery import Delivery

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.workflow._hook_manager import HookManager
    from pysetl.workflow._inject import Wire
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.pipeline import Pipeline

__all__ = ["FactoryRun", "RunContext", "run_factories", "run_factory"]

_perf = time.perf_counter


@dataclass(slots=True)
class RunContext:
    """What one run shares between its stages and factories."""

    run_id: str
    pipeline_name: str
    hooks: HookManager
    pipeline: Pipeline | None = None
    wires: dict[int, list[Wire]] | None = None
    outputs: dict[int, Any] = field(default_factory=dict)
    benchmark: bool = False
    parallel: bool = False
    max_workers: int | None = None
    spark_context: Any = None


@dataclass(slots=True)
class FactoryRun:
    """What one factory did in one run."""

    factory: Factory[Any]
    output: Any
    phases: dict[str, float]
    duration: float

    def benchmark(self) -> BenchmarkResult:
        """The phases as a ``BenchmarkResult``."""
        phases = self.phases
        read = phases.get("read", 0.0)
        process = phases.get("process", 0.0)
        write = phases.get("write", 0.0)
        return BenchmarkResult(
            type(self.factory).__name__, read, process, write, read + process + write
        )


def inject(context: RunContext, factory: Factory[Any]) -> None:
    """Fill the factory's deliveries from the plan of the run."""
    if context.wires is None:
        return
    outputs = context.outputs
    slots = factory.__dict__
    for wire in context.wires.get(id(factory), ()):
        source = wire.source
        value = source.origin.payload if source.external else outputs[id(source.origin)]
        slot = slots.get(wire.name)
        if not isinstance(slot, Delivery):
            slot = getattr(factory, wire.name)
        slot.set(value)


def run_factory(
    context: RunContext, stage_id: int, factory: Factory[Any], *, write: bool
) -> FactoryRun:
    """Run one factory: inject, read, process, write (if ``write``), get.

    Raises:
        FactoryError: The factory raised; the original is chained as ``__cause__``.
    """
    hooks = context.hooks
    observed = hooks.enabled
    name = pretty(type(factory))
    sc = context.spark_context
    common: dict[str, Any] = {}
    if observed:
        common = {
            "run_id": context.run_id,
            "pipeline": context.pipeline,
            "pipeline_name": context.pipeline_name,
            "stage_id": stage_id,
            "factory": factory,
            "factory_name": name,
            "attempt": 1,
        }
        hooks.emit("before_factory_run", timestamp=time.time(), **common)
    phases: dict[str, float] = {}
    phase = "read"  # filling the deliveries is part of reading
    start = mark = _perf()
    try:
        if sc is not None:
            _spark.set_job_group(sc, context.run_id, context.pipeline_name, name)
        inject(context, factory)
        factory.read()
        now = _perf()
        phases["read"] = now - mark
        phase, mark = "process", now
        factory.process()
        now = _perf()
        phases["process"] = now - mark
        if write:
            phase, mark = "write", now
            factory.write()
            now = _perf()
            phases["write"] = now - mark
        phase, mark = "get", now
        output = factory.get()
        end = _perf()
        phases["get"] = end - mark
    except Exception as exc:
        duration = _perf() - start
        error = _wrap(exc, context, stage_id, name, phase)
        if observed:
            hooks.emit(
                "on_factory_run_failed",
                timestamp=time.time(),
                duration=duration,
                phases=phases,
                phase=phase,
                error=error,
                **common,
            )
        raise error from exc
    finally:
        if sc is not None:
            _spark.clear_job_group(sc)
    context.outputs[id(factory)] = output
    result = FactoryRun(factory, output, phases, end - start)
    if observed:
        hooks.emit(
            "after_factory_run",
            timestamp=time.time(),
            duration=result.duration,
            phases=phases,
            output=output,
            **common,
        )
    return result


def _wrap(
    exc: Exception, context: RunContext, stage_id: int, name: str, phase: str
) -> FactoryError:
    if isinstance(exc, FactoryError):
        return exc
    msg = (
        f"Factory {name!r} failed in {phase!r} (stage {stage_id} of pipeline "
        f"{context.pipeline_name!r}, run {context.run_id}): "
        f"{type(exc).__name__}: {exc}"
    )
    return FactoryError(
        msg,
        hint=f"see the chained exception for the cause in {name}.{phase}()",
        run_id=context.run_id,
        pipeline=context.pipeline_name,
        stage=stage_id,
        factory=name,
        attempt=1,
        phase=phase,
    )


def run_factories(
    context: RunContext,
    stage_id: int,
    factories: Sequence[tuple[Factory[Any], bool]],
    *,
    parallel: bool,
    max_workers: int | None,
) -> list[FactoryRun]:
    """Run ``(factory, write)`` pairs, in order or on a thread pool.

    Either way the results come back in declaration order and, when
    factories fail, the error raised is the first failure in declaration
    order. A sequential run stops at the first failure; a parallel run lets
    the factories already started finish.

    Raises:
        FactoryError: A factory failed.
    """
    if not parallel or len(factories) < 2:  # noqa: PLR2004 - one factory: no pool
        return [run_factory(context, stage_id, f, write=w) for f, w in factories]
    with ThreadPoolExecutor(
        max_workers=max_workers, thread_name_prefix=f"pysetl-stage{stage_id}"
    ) as pool:
        futures = [
            pool.submit(run_factory, context, stage_id, f, write=w)
            for f, w in factories
        ]
    results: list[FactoryRun] = []
    first: FactoryError | None = None
    for future in futures:
        error = future.exception()
        if error is None:
            results.append(future.result())
        elif isinstance(error, FactoryError):
            first = first or error
        else:  # not an Exception the factory wrapper catches (KeyboardInterrupt)
            raise error
    if first is not None:
        raise first
    return results
