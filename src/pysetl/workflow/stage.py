"""``Stage``: factories that run together and do not depend on each other."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, final

from pysetl.utils.mixins import (
    HasBenchmark,
    HasLogger,
    HasRegistry,
    IsIdentifiable,
    IsWritable,
)
from pysetl.workflow import spark as _spark
from pysetl.workflow._default_hooks import default_hook_manager
from pysetl.workflow._execute import (
    FactoryRun,
    Job,
    RunContext,
    run_factories,
    run_factory,
    run_planned,
)
from pysetl.workflow._inject import Source, StageSources
from pysetl.workflow._run_id import new_run_id
from pysetl.workflow.node import Node

if TYPE_CHECKING:
    from typing_extensions import Self

    from pysetl.utils._benchmark import BenchmarkResult
    from pysetl.workflow._inject import Plan
    from pysetl.workflow.deliverable import Deliverable
    from pysetl.workflow.factory import Factory

__all__ = ["Stage"]

_EMPTY: list[Any] = []  # shared, never mutated: replaced, not appended to


class Stage(
    HasRegistry["Factory[Any]"], HasLogger, HasBenchmark, IsWritable, IsIdentifiable
):
    """An ordered group of factories that may run concurrently.

    Factories of one stage cannot consume each other's outputs; they consume
    the outputs of earlier stages and the pipeline's external inputs.

    Args:
        benchmark: Time this stage's factories even when the pipeline does
            not benchmark (changed in 0.2: the pipeline no longer overrides it).
        parallel: Run the factories on a thread pool. ``None`` (the default)
            follows the pipeline's ``parallel`` option.
        max_workers: Size of the thread pool (``None``: Python's default).

    Attributes:
        stage_id: The stage's index in its pipeline (set by the pipeline).
        end: Whether this is the last stage of its pipeline (set by the pipeline).

    How to customise execution: subclass and override ``_run(context)``;
    ``run()`` is the template that emits the events and records the results.
    """

    # Class defaults, and set in ``__init__`` all the same: CPython 3.11+
    # keeps an instance's attributes without a dict only for the names its
    # class's instances set early (each new instance shrinks the room for
    # more names). A name first set after a thousand stages exist (a run sets
    # ``_deliverables``) gave each stage a dict: one more object for the
    # garbage collector per stage.
    stage_id: int = 0
    end: bool = True
    _records: list[FactoryRun] = _EMPTY
    _plan: Plan | None = None  # when the records are the plan's sources
    _plan_stage: int = 0  # and this stage's place in it
    _deliverables: list[Deliverable[Any]] | None = None
    _benchmarks: list[BenchmarkResult] = _EMPTY  # replaced, never appended to
    _last_benchmarks: list[BenchmarkResult] = _EMPTY

    def __init__(
        self,
        benchmark: bool = False,
        *,
        parallel: bool | None = None,
        max_workers: int | None = None,
    ) -> None:
        """Create an empty, writable stage."""
        super().__init__()
        self._uuid = None
        self.benchmarked = benchmark
        self.parallel = parallel
        self.max_workers = max_workers
        self.stage_id = 0
        self.end = True
        self._records = _EMPTY
        self._plan = None
        self._plan_stage = 0
        self._deliverables = None
        self._benchmarks = _EMPTY
        self._last_benchmarks = _EMPTY

    # ----------------------------------------------------------- composition
    def add_factory(self, factory: Factory[Any]) -> Self:
        """Add a factory instance.

        Raises:
            AlreadyRegisteredError: The same instance is already in the stage.
        """
        return self.register(factory)

    def add_factory_from_type(
        self, factory_type: type[Factory[Any]], *args: Any, **kwargs: Any
    ) -> Self:
        """Instantiate ``factory_type(*args, **kwargs)`` and add it."""
        return self.add_factory(self.instantiate_factory(factory_type, *args, **kwargs))

    @staticmethod
    def instantiate_factory(
        factory_type: type[Factory[Any]], *args: Any, **kwargs: Any
    ) -> Factory[Any]:
        """Return ``factory_type(*args, **kwargs)``."""
        return factory_type(*args, **kwargs)

    @property
    def factories(self) -> list[Factory[Any]]:
        """The factories, in the order they were added."""
        return self.registered()

    @property
    def deliverable(self) -> list[Deliverable[Any]]:
        """The deliverables of the last run, one per factory."""
        if self._deliverables is None:
            self._deliverables = [
                r.factory.make_deliverable(r.output) for r in self._runs
            ]
        return self._deliverables

    @property
    def _runs(self) -> list[FactoryRun]:
        """The records of the last run, one per factory (factory and output)."""
        plan = self._plan
        if plan is None:
            return self._records
        return plan.sources_of(self._plan_stage)  # type: ignore[return-value]

    @property
    def start(self) -> bool:
        """Whether this is the first stage."""
        return self.stage_id == 0

    def should_write(self, factory: Factory[Any]) -> bool:
        """Whether ``factory.write()`` runs: both stage and factory are writable."""
        return self.is_writable and factory.is_writable

    # -------------------------------------------------------------- running
    @final
    def run(self, *, context: RunContext | None = None) -> Self:
        """Run every factory and record their deliverables and benchmarks.

        Args:
            context: The pipeline's run context; a stage run on its own gets
                a fresh run id and the default hook manager.

        Raises:
            FactoryError: A factory failed (the first in declaration order).
        """
        if context is None:
            context = RunContext(
                run_id=new_run_id(),
                pipeline_name="",
                hooks=default_hook_manager(),
                spark_context=_spark.labels_target(None),
                spark_session=_spark.active_session(),
            )
        hooks = context.hooks
        parallel = context.parallel if self.parallel is None else self.parallel
        if not hooks.enabled:  # nothing observes: no event, no clock
            self._record(context, self._run(context, parallel=parallel))
            return self
        common: dict[str, Any] = {
            "run_id": context.run_id,
            "pipeline": context.pipeline,
            "pipeline_name": context.pipeline_name,
            "stage": self,
            "stage_id": self.stage_id,
        }
        hooks.emit(
            "before_stage_run", timestamp=time.time(), parallel=parallel, **common
        )
        start = time.perf_counter()
        try:
            runs = self._run(context, parallel=parallel)
        except Exception as error:
            hooks.emit(
                "on_stage_run_failed",
                timestamp=time.time(),
                duration=time.perf_counter() - start,
                error=error,
                **common,
            )
            raise
        self._record(context, runs)
        hooks.emit(
            "after_stage_run",
            timestamp=time.time(),
            duration=time.perf_counter() - start,
            **common,
        )
        return self

    def _record(
        self, context: RunContext, runs: list[FactoryRun] | StageSources
    ) -> None:
        """Keep the runs; time them if this stage or the pipeline benchmarks."""
        if isinstance(runs, StageSources):  # a plain run: the plan has the records
            self._use_plan(runs.plan, runs.stage_id)
            return
        plan = context.plan
        first: Any = runs[0] if runs else None
        if plan is not None and type(first) is Source:
            # The plan's sources of this stage: read again from the plan
            # when asked, rather than kept in one more list per stage.
            self._plan, self._records = plan, _EMPTY
            self._plan_stage = self.stage_id
        else:
            self._plan, self._records = None, runs
        self._deliverables = None  # built on first use
        if self.benchmarked or context.benchmark:
            self._last_benchmarks = [r.benchmark() for r in runs]
            self._benchmarks = [*self._benchmarks, *self._last_benchmarks]
        else:
            self._last_benchmarks = _EMPTY

    def _use_plan(self, plan: Plan, stage_id: int) -> None:
        """Take the plan's sources of stage ``stage_id`` as the last run's records.

        After a run with nothing observing or timing: read again from the
        plan when asked, rather than kept in one more list per stage.
        """
        self._plan, self._records = plan, _EMPTY
        self._plan_stage = stage_id
        self._deliverables = None
        self._last_benchmarks = _EMPTY

    def _run(self, context: RunContext, *, parallel: bool) -> list[FactoryRun]:
        """Run the factories; results in declaration order."""
        stage_write = self.is_writable
        sid = self.stage_id
        plan = context.plan
        if plan is None:
            jobs = [Job(f, stage_write and f.is_writable) for f in self.registered()]
        elif not parallel:  # what run_factories does, with no list of jobs:
            # each job is made as its factory starts and gone when it ends.
            # Unless timed or observed, the plan's sources are the records:
            # no ``FactoryRun`` per factory, nor a list of them per stage.
            if not (self.benchmarked or context.benchmark or context.hooks.enabled):
                span = plan.stage_span(sid)
                run_planned(context, sid, plan, span, write=stage_write)
                return StageSources(plan, sid)  # type: ignore[return-value]
            if self.benchmarked or context.benchmark:  # timed: keep the marks
                return [
                    run_factory(
                        context,
                        sid,
                        Job(s.origin, stage_write and s.origin.is_writable, (), s),
                    )
                    for s in plan.sources_of(sid)
                ]
            # Observed: a view of each source while its factory runs, none
            # kept (10,000 views held to the stage's end were promoted to
            # the collector's oldest generation: one more full collection).
            source = plan.source
            for position in range(*plan.stage_span(sid)):
                s = source(position)
                run_factory(
                    context,
                    sid,
                    Job(s.origin, stage_write and s.origin.is_writable, (), s),
                    record=False,
                )
            return StageSources(plan, sid)  # type: ignore[return-value]
        else:
            jobs = [
                Job(s.origin, stage_write and s.origin.is_writable, (), s)
                for s in plan.sources_of(sid)
            ]
        return run_factories(
            context,
            sid,
            jobs,
            parallel=parallel,
            max_workers=self.max_workers or context.max_workers,
        )

    # ----------------------------------------------------------- reporting
    def get_benchmarks(self) -> list[BenchmarkResult]:
        """The benchmark results of every benchmarked run so far."""
        return list(self._benchmarks)

    @property
    def last_benchmarks(self) -> list[BenchmarkResult]:
        """The benchmark results of the last run (empty if not benchmarked)."""
        return list(self._last_benchmarks)

    def create_nodes(self) -> list[Node]:
        """One DAG node per factory."""
        return [Node.from_factory(f, self.stage_id, self.end) for f in self.factories]

    def __str__(self) -> str:
        """The factories, one per line."""
        return "\n".join(str(f) for f in self.factories)

    __repr__ = __str__
