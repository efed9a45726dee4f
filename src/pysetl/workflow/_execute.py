"""Running factories: injection, phases, timing, job groups, events, errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from pysetl.errors import FactoryError
from pysetl.utils._benchmark import BenchmarkResult
from pysetl.utils.redaction import redact_mapping, redact_text
from pysetl.utils.run_scope import RunScope, bind_scope, reset_scope
from pysetl.workflow import spark as _spark
from pysetl.workflow._error_context import explain
from pysetl.workflow._output import output_error
from pysetl.workflow.factory import Factory, class_record

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pysetl.workflow._attempts import RunPolicies
    from pysetl.workflow._hook_manager import HookManager
    from pysetl.workflow._inject import Plan, Source, Wire
    from pysetl.workflow.pipeline import Pipeline

__all__ = [
    "FactoryRun",
    "Job",
    "RunContext",
    "run_factories",
    "run_factory",
    "run_planned",
]

_perf = time.perf_counter
_NO_EVENT: dict[str, Any] = {}  # shared, never filled: no observer, no event


@dataclass(slots=True)
class RunContext:
    """What one run shares between its stages and factories."""

    run_id: str
    pipeline_name: str
    hooks: HookManager
    pipeline: Pipeline | None = None
    plan: Plan | None = None
    benchmark: bool = False
    parallel: bool = False
    max_workers: int | None = None
    spark_context: Any = None
    spark_session: Any = None
    # Retries and timeouts (``pysetl.workflow.retry``): made here, from the
    # pipeline's ``policies`` and the factory classes' keywords, when any
    # is set; ``None`` keeps every factory on the hot path.
    policies: RunPolicies | None = None

    def __post_init__(self) -> None:
        """Find the run's retry policies and timeouts, if it has any."""
        if self.policies is None:
            given = getattr(self.pipeline, "policies", None)
            if given is not None and given.empty:
                given = None
            if given is not None or Factory.policy_declared:
                from pysetl.workflow._attempts import (  # noqa: PLC0415 - a cycle
                    RunPolicies,
                )

                self.policies = RunPolicies(given)
                if given is not None and self.plan is not None:
                    plan = self.plan
                    self.policies.warn_unknown(plan.names[plan.first_factory :])


@dataclass(slots=True)
class FactoryRun:
    """What one factory did in one run.

    ``marks`` holds the clock readings at the start and after read, process,
    write (``None`` when writing is off) and get.
    """

    factory: Factory[Any]
    output: Any
    marks: tuple[float, float, float, float | None, float]

    @property
    def duration(self) -> float:
        """Seconds from injection to the end of ``get()``."""
        return self.marks[4] - self.marks[0]

    @property
    def phases(self) -> dict[str, float]:
        """Seconds per phase; ``write`` is absent when writing was off."""
        start, read, process, write, end = self.marks
        phases = {"read": read - start, "process": process - read}
        if write is None:
            phases["get"] = end - process
        else:
            phases["write"] = write - process
            phases["get"] = end - write
        return phases

    def benchmark(self) -> BenchmarkResult:
        """The phases as a ``BenchmarkResult``."""
        phases = self.phases
        read, process = phases["read"], phases["process"]
        write = phases.get("write", 0.0)
        return BenchmarkResult(
            type(self.factory).__name__, read, process, write, read + process + write
        )


@dataclass(slots=True)
class Job:
    """One factory to run: whether it writes, and its plan source.

    The plan source's ``inputs`` say what fills the factory's deliveries;
    ``wires`` serve a job made without a plan.
    """

    factory: Factory[Any]
    write: bool
    wires: Sequence[Wire] = ()
    source: Source | None = None


def inject(factory: Factory[Any], wires: Sequence[Wire]) -> None:
    """Fill the factory's deliveries from their sources' outputs.

    ``getattr`` returns the instance's slot, made on first access by the
    ``Delivery`` descriptor (``pysetl.workflow.delivery``).
    """
    for wire in wires:
        getattr(factory, wire.name).set(wire.source.output)


def _fill(factory: Factory[Any], job: Job) -> None:
    """``inject`` the job's wires, and its plan source's flat inputs."""
    source = job.source
    if source is not None:
        plan = source.plan
        flat, outputs = plan.inputs, plan.outputs  # (name, delivery, position)...
        at, end = plan.input_span(source.position)
        for i in range(at, end, 3):
            getattr(factory, flat[i]).set(outputs[flat[i + 2]])
    for wire in job.wires:
        getattr(factory, wire.name).set(wire.source.output)


def run_factory(  # noqa: C901, PLR0915 - the hot path of a factory, in one frame
    context: RunContext, stage_id: int, job: Job, *, record: bool = True
) -> FactoryRun:
    """Run one factory: inject, read, process, write (if ``write``), get.

    With ``record=False`` (a planned job: the output is kept in its plan
    source) and nothing observing, no ``FactoryRun`` is made: the job's
    source is returned in its place, with ``factory`` and ``output``.

    Raises:
        FactoryError: The factory raised; the original is chained as ``__cause__``.
    """
    factory = job.factory
    hooks = context.hooks
    observed = hooks.enabled
    source = job.source
    name = source.name if source is not None else type(factory).name()
    policies = context.policies
    if policies is not None:  # a retry policy or a timeout: see _attempts
        policy = policies.of(factory, name)
        if policy is not None:
            return policies.run(context, stage_id, job, name, policy, record=record)  # type: ignore[return-value]
    sc = context.spark_context
    common: dict[str, Any] = _NO_EVENT
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
    phase = "read"  # filling the deliveries is part of reading
    # ``emit``: users' KPIs reach the observers (pysetl.monitoring.kpi).
    scope = RunScope(
        context.run_id, context.pipeline_name, stage_id, name, 1, phase, hooks.emit
    )
    token = bind_scope(scope)
    start = _perf()
    read = process = written = None
    try:
        if sc is not None:
            _spark.set_job_group(sc, context.run_id, context.pipeline_name, name)
        _fill(factory, job)
        factory.read()
        read = _perf()
        phase = scope.phase = "process"
        factory.process()
        process = _perf()
        if job.write:
            phase = scope.phase = "write"
            factory.write()
            written = _perf()
        phase = scope.phase = "get"
        output = factory.get()
        end = _perf()
        check = class_record(type(factory))[3]  # the output check, made once
        if check is not None and not isinstance(output, check):
            _wrong_output(context, stage_id, name, factory, output)
    except Exception as exc:
        failed_at = _perf()
        duration = failed_at - start
        error = _wrap(exc, context, stage_id, name, phase, factory)
        if observed:
            hooks.emit(
                "on_factory_run_failed",
                timestamp=time.time(),
                duration=duration,
                phases=_partial(start, read, process, written, failed_at),
                phase=phase,
                error=error,
                **common,
            )
        if error is exc:  # ours already (a wrong output): no cause to chain
            raise
        raise error from exc
    finally:
        reset_scope(token)
        if sc is not None:
            _spark.clear_job_group(sc)
    marks = (start, read, process, written, end)
    return _succeeded(  # type: ignore[return-value]  # a Source: factory and output
        hooks, job, output, marks, common, record=record, observed=observed
    )


def _succeeded(
    hooks: HookManager,
    job: Job,
    output: Any,
    marks: tuple[float, float | None, float | None, float | None, float | None],
    common: dict[str, Any],
    *,
    record: bool,
    observed: bool,
) -> FactoryRun | Source:
    """What follows an attempt that succeeded (``run_factory``, ``_attempts``).

    The output is kept in the job's plan source; with ``record=False`` and
    nothing observing, that source is returned (its ``factory`` and
    ``output``) and no ``FactoryRun`` is made. Otherwise the ``FactoryRun``
    is returned (``marks``: the clock readings at the start and after each
    phase), and ``after_factory_run`` is emitted with ``common`` (the
    attempt's event arguments) when ``observed``.
    """
    source = job.source
    if source is not None:
        source.output = output
        if not (record or observed):
            return source
    result = FactoryRun(job.factory, output, marks)  # type: ignore[arg-type]  # all set once get() returned
    if observed:
        hooks.emit(
            "after_factory_run",
            timestamp=time.time(),
            duration=result.duration,
            phases=result.phases,
            output=output,
            **common,
        )
    return result


def run_planned(
    context: RunContext,
    stage_id: int,
    plan: Plan,
    span: tuple[int, int],
    *,
    write: bool,
) -> None:
    """Run a stage's planned factories in order, with nothing observing or timing.

    What ``run_factory(..., record=False)`` does for each source of the
    plan in ``range(*span)``, less what only an observer or a clock would
    read: no event, no clock reading, no ``Job`` nor ``Source``; each output
    is kept in the plan. ``write`` says whether the stage writes; each
    factory's own switch is read before it starts, as ``Job.write`` is.

    Raises:
        FactoryError: A factory raised; the original is chained as ``__cause__``.
    """
    run_id, pipeline_name = context.run_id, context.pipeline_name
    emit = context.hooks.emit
    sc = context.spark_context
    origins, names, outputs = plan.origins, plan.names, plan.outputs
    flat, ends, plain = plan.inputs, plan.input_ends, plan.plain_writable
    checks = plan.output_checks
    policies = context.policies
    first, last = span
    at = ends[first - 1] if first else 0
    for k in range(first, last):
        factory = origins[k]
        name = names[k]
        # ``is_writable``, read from ``_write`` when it is IsWritable's own.
        writes = write and (factory._write if plain[k] else factory.is_writable)  # noqa: SLF001
        if policies is not None and (policy := policies.of(factory, name)):
            at = ends[k]  # a retry policy or a timeout: see _attempts
            job = Job(factory, writes, (), plan.source(k))
            policies.run(context, stage_id, job, name, policy, record=False)
            continue
        scope = RunScope(run_id, pipeline_name, stage_id, name, 1, "read", emit)
        token = bind_scope(scope)
        try:
            if sc is not None:
                _spark.set_job_group(sc, run_id, pipeline_name, name)
            end = ends[k]  # (name, delivery, position) after one another
            for i in range(at, end, 3):
                getattr(factory, flat[i]).set(outputs[flat[i + 2]])
            at = end
            factory.read()
            scope.phase = "process"
            factory.process()
            if writes:
                scope.phase = "write"
                factory.write()
            scope.phase = "get"
            output = factory.get()
            check = checks[k]
            if check is not None and not isinstance(output, check):
                _wrong_output(context, stage_id, name, factory, output)
            outputs[k] = output
        except Exception as exc:
            phase = scope.phase or "read"
            error = _wrap(exc, context, stage_id, name, phase, factory)
            if error is exc:  # ours already (a wrong output): no cause to chain
                raise
            raise error from exc
        finally:
            reset_scope(token)
            if sc is not None:
                _spark.clear_job_group(sc)


def _wrong_output(
    context: RunContext, stage_id: int, name: str, factory: Factory[Any], output: Any
) -> NoReturn:
    """Fail a factory whose output is not of its declared type.

    Raises:
        FactoryOutputError: Always.
    """
    run_id, pipeline_name = context.run_id, context.pipeline_name
    raise output_error(factory, output, name, stage_id, pipeline_name, run_id)


def _partial(
    start: float,
    read: float | None,
    process: float | None,
    written: float | None,
    failed_at: float,
) -> dict[str, float]:
    """Seconds of the phases that finished, and of the one that failed."""
    phases: dict[str, float] = {}
    previous = start
    for name, mark in (("read", read), ("process", process), ("write", written)):
        if mark is None:
            break
        phases[name] = mark - previous
        previous = mark
    return phases | {"failed": failed_at - previous}


def _wrap(  # noqa: PLR0917 - the error path: everything the error carries
    exc: Exception,
    context: RunContext,
    stage_id: int,
    name: str,
    phase: str,
    factory: Factory[Any] | None = None,
) -> FactoryError:
    """The ``FactoryError`` for ``exc``: context, Spark details, hint, no secret."""
    if isinstance(exc, FactoryError):
        return exc
    error_class, params, hint = explain(exc, factory, phase)
    msg = redact_text(
        f"Factory {name!r} failed in {phase!r} (stage {stage_id} of pipeline "
        f"{context.pipeline_name!r}, run {context.run_id}): "
        f"{type(exc).__name__}: {exc}"
    )
    error = FactoryError(
        msg,
        hint=redact_text(hint)
        if hint
        else f"see the chained exception for the cause in {name}.{phase}()",
        run_id=context.run_id,
        pipeline=context.pipeline_name,
        stage=stage_id,
        factory=name,
        attempt=1,
        phase=phase,
        error_class=error_class,
        message_parameters=redact_mapping(params),
    )
    # Chained now, as ``raise ... from exc`` will: observers delivered inline,
    # before the raise, see the cause and its traceback.
    error.__cause__ = exc
    return error


def _run_in_pool(context: RunContext, stage_id: int, job: Job) -> FactoryRun:
    if context.spark_session is not None:
        _spark.activate(context.spark_session)
    return run_factory(context, stage_id, job)


def run_factories(
    context: RunContext,
    stage_id: int,
    jobs: Iterable[Job],
    *,
    parallel: bool,
    max_workers: int | None,
) -> list[FactoryRun]:
    """Run the jobs, in order or on a thread pool.

    Either way the results come back in declaration order and, when
    factories fail, the error raised is the first failure in declaration
    order. A sequential run stops at the first failure; a parallel run lets
    the factories already started finish.

    Raises:
        FactoryError: A factory failed.
    """
    if not parallel:
        return [run_factory(context, stage_id, job) for job in jobs]
    jobs = list(jobs)
    if len(jobs) < 2:  # noqa: PLR2004 - one factory: no pool
        return [run_factory(context, stage_id, job) for job in jobs]
    with ThreadPoolExecutor(
        max_workers=max_workers, thread_name_prefix=f"pysetl-stage{stage_id}"
    ) as pool:
        futures = [pool.submit(_run_in_pool, context, stage_id, job) for job in jobs]
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
