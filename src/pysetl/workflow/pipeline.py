"""``Pipeline``: ordered stages, checked before they run, observed while they run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, final

from pysetl.errors import (
    CheckpointError,
    DependencyResolutionError,
    FactoryError,
    PipelineError,
)
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import (
    HasBenchmark,
    HasDiagram,
    HasLogger,
    IsIdentifiable,
)
from pysetl.utils.run_scope import RunScope, bind_scope, reset_scope
from pysetl.workflow import spark as _spark
from pysetl.workflow._default_hooks import default_hook_manager
from pysetl.workflow._execute import RunContext, run_planned
from pysetl.workflow._inject import Plan, resolve
from pysetl.workflow._lazy_stages import LazyStages, is_stage
from pysetl.workflow._replay import plan_replay, run_replay
from pysetl.workflow._run_id import new_run_id
from pysetl.workflow.checkpoint import CheckpointStore
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.dispatcher import Dispatcher
from pysetl.workflow.expected_deliverable import ExpectedDeliverable
from pysetl.workflow.inspector import Inspector
from pysetl.workflow.retry import as_policies
from pysetl.workflow.run_graph import RunGraph
from pysetl.workflow.stage import Stage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Self

    from pysetl.utils._benchmark import BenchmarkResult
    from pysetl.workflow._hook_manager import HookManager
    from pysetl.workflow.deliverable import Deliverable
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.retry import FactoryPolicies, FactoryPolicy, RetryPolicy
    from pysetl.workflow.stepper import Stepper

__all__ = ["Pipeline"]


class Pipeline(LazyStages, IsIdentifiable, HasBenchmark, HasDiagram, HasLogger):
    """Stages run in order; each factory's deliveries come from earlier stages.

    ``run()`` first resolves every delivery of every factory (the pre-flight
    check) and fails with one ``DependencyResolutionError`` listing every
    problem before anything runs. It then runs the stages, publishing
    lifecycle events (see ``pysetl.workflow.hooks``). It can be called again
    and gives the same result.

    Args:
        benchmark: Time every factory (``get_benchmarks()``).
        hooks: The hook manager of the observers; default: the process-wide
            manager with the ``pysetl.hooks`` entry points
            (``default_hook_manager()``).
        parallel: Run the factories of each stage concurrently, unless a
            stage says otherwise (``Stage(parallel=False)``).
        max_workers: Thread-pool size for parallel stages.
        name: The pipeline's name in events, errors and Spark job groups.
        spark: The SparkSession whose jobs get labelled; default: the
            running one, if any.
        retry: The retry policy of every factory without its own (added
            in 0.6; see ``pysetl.workflow.retry``).
        timeout: Seconds each attempt of every factory without its own
            timeout may take (added in 0.6).
        policies: Retry policies and timeouts by factory name
            (``{"Load": FactoryPolicy(retry=..., timeout=60)}``, or a
            ``RetryPolicy`` alone), or a ``FactoryPolicies`` (added in 0.6).
        checkpoint: Keep each stage's deliverables after it runs (``True``:
            in ``.pysetl/checkpoints`` of the working directory; or a
            ``CheckpointStore``); see ``pysetl.workflow.checkpoint``.
            Added in 0.6.

    Attributes:
        resumed_from: The run the last run resumed (``run(resume=...)``).

    Examples:
        >>> pipeline = (
        ...     Pipeline()
        ...     .set_input_from_deliverable(Deliverable[int](20, delivery_id="n"))
        ...     .add_stage_from_type(Doubler)
        ...     .run()
        ... )
        >>> pipeline.get_last_output()
        40
    """

    def __init__(
        self,
        benchmark: bool = False,
        *,
        hooks: HookManager | None = None,
        parallel: bool = False,
        max_workers: int | None = None,
        name: str = "pipeline",
        spark: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        policies: FactoryPolicies
        | Mapping[str, FactoryPolicy | RetryPolicy]
        | None = None,
        checkpoint: bool | CheckpointStore | None = None,
    ) -> None:
        """Create an empty pipeline."""
        super().__init__()
        self.benchmarked = benchmark
        self._hooks = hooks
        self.parallel = parallel
        self.max_workers = max_workers
        self.pipeline_name = name
        self.spark = spark
        self.policies = as_policies(policies, retry, timeout)
        self._dispatcher = Dispatcher()
        self._uncollected: list[int] = []  # positions of stages that ran
        self.inspector: Inspector | None = None
        self.run_id: str | None = None
        self.checkpoint = (
            CheckpointStore.default() if checkpoint is True else checkpoint or None
        )
        self.resumed_from: str | None = None
        self._inputs: list[Deliverable[Any]] = []
        self._benchmarks: list[BenchmarkResult] = []

    @property
    def hooks(self) -> HookManager:
        """The hook manager; the process-wide one (looked up at each use) by default.

        The default manager carries the default runtime, which records every
        run in the project's history (see ``pysetl.runtime``); it is only
        created when a pipeline first needs it, so building a pipeline
        opens nothing.
        """
        hooks = self._hooks
        return hooks if hooks is not None else default_hook_manager()

    @hooks.setter
    def hooks(self, hooks: HookManager) -> None:
        self._hooks = hooks

    @property
    def dispatcher(self) -> Dispatcher:
        """The inputs and, after a run, the outputs of every stage that ran."""
        pending, self._uncollected = self._uncollected, []
        if pending:
            stages = self.stages
            for position in pending:
                self._dispatcher.collect_stage_deliverables(stages[position])
        return self._dispatcher

    @dispatcher.setter
    def dispatcher(self, dispatcher: Dispatcher) -> None:
        self._uncollected = []
        self._dispatcher = dispatcher

    # ----------------------------------------------------------- composition
    @property
    def stages(self) -> list[Stage]:
        """The stages, in order."""
        return self.registered()

    def set_input_from_deliverable(self, deliverable: Deliverable[Any]) -> Self:
        """Offer an external input to the pipeline's factories.

        Raises:
            AlreadyRegisteredError: The same instance is already an input.
        """
        self.dispatcher.add_deliverable(deliverable)
        self._inputs.append(deliverable)
        return self

    def add_stage(self, stage: Stage) -> Self:
        """Append a stage.

        Raises:
            AlreadyRegisteredError: The stage is already in the pipeline.
        """
        entries = self._entries()  # stages and lone factories, as they are
        size = len(entries)
        lone = self._lone
        self.register(stage)  # raises if it is there already
        if size:
            if lone and not self._lone:  # registering made the lone ones stages
                entries = self._entries()
            self._clear_end(size - 1, entries[size - 1])
        stage.stage_id = size
        stage.end = True
        return self

    def add_stage_from_factory(self, factory: Factory[Any]) -> Self:
        """Append a new stage holding ``factory``.

        Changed in 0.2: the ``Stage`` is made when the stages are asked for
        (see ``pysetl.workflow._lazy_stages``).
        """
        if not self._add_lone(factory):
            self.add_stage(Stage().add_factory(factory))
        return self

    def add_stage_from_type(
        self, factory_type: type[Factory[Any]], *args: Any, **kwargs: Any
    ) -> Self:
        """Append a new stage holding ``factory_type(*args, **kwargs)``.

        Changed in 0.2: the ``Stage`` is made when the stages are asked for
        (see ``pysetl.workflow._lazy_stages``).
        """
        return self.add_stage_from_factory(factory_type(*args, **kwargs))

    def reset_end_stage(self) -> Self:
        """Mark only the last stage as the end stage."""
        stages = self.stages
        for stage in stages:
            stage.end = False
        if stages:
            stages[-1].end = True
        return self

    # ------------------------------------------------------------ checking
    def resolve(self) -> Plan:
        """Resolve every delivery without raising for bad wiring.

        Raises:
            PipelineError: One factory instance is in two stages.
        """
        return resolve(
            self._entry_factories(),  # one list at a time
            self._inputs,
            self.pipeline_name,
        )

    def validate(self) -> Self:
        """Run the pre-flight check alone.

        Raises:
            DependencyResolutionError: Listing every delivery that cannot be
                resolved (missing, ambiguous, cyclic, in the wrong order, or
                not meant for its consumer).
        """
        self.resolve().raise_for_problems()
        return self

    # -------------------------------------------------------------- running
    @final
    def run(
        self,
        *,
        only: str | None = None,
        from_stage: int | None = None,
        resume: str | None = None,
    ) -> Self:
        """Check every delivery, then run the stages in order.

        Args:
            only: Run this factory alone (its name in the run, or its
                class's); the stages before it are read back from the
                newest checkpoint that has them, nothing else runs.
            from_stage: Read stages ``0..from_stage-1`` back from the newest
                checkpoint that has them; run the others.
            resume: Read back the stages that this (failed) run completed,
                from its checkpoint; run the others.

        Raises:
            DependencyResolutionError: The pre-flight check failed; nothing ran.
            CheckpointError: Nothing to read back for ``only``,
                ``from_stage`` or ``resume`` (run once with checkpoints on);
                nothing ran.
            FactoryError: A factory failed; the factories that finished keep
                their state (``get_output`` works for them).

        Changed in 0.6: ``only``, ``from_stage``, ``resume``; checkpoints.
        """
        run_id = self.run_id = new_run_id()
        hooks = self.hooks
        observed = hooks.enabled
        common = {
            "run_id": run_id,
            "pipeline": self,
            "pipeline_name": self.pipeline_name,
        }
        start = time.perf_counter()
        try:
            plan = self.resolve()
            plan.raise_for_problems()
            replay = plan_replay(
                plan, self.checkpoint, only=only, from_stage=from_stage, resume=resume
            )
        except (DependencyResolutionError, PipelineError) as error:
            self._emit_failed(common, start, error)
            raise
        self.resumed_from = replay.resumed_from
        self.inspector = Inspector(self, plan=plan)
        self._uncollected = []
        self._dispatcher.reset(self._inputs)
        self._benchmarks = []
        context = RunContext(
            run_id=run_id,
            pipeline_name=self.pipeline_name,
            hooks=hooks,
            pipeline=self,
            plan=plan,
            benchmark=self.benchmarked,
            parallel=self.parallel,
            max_workers=self.max_workers,
            spark_context=self._spark_context(),
            spark_session=self._spark_session(),
        )
        if observed:
            hooks.emit(
                "before_pipeline_run",
                timestamp=time.time(),
                graph=RunGraph(plan),
                **common,
            )
        token = bind_scope(RunScope(run_id, self.pipeline_name))
        try:
            if replay.store is None and replay.source is None and replay.only is None:
                self._run_stages(list(self._entries()), context, plan)
            else:  # checkpoints to write, or stages to read back or skip
                run_replay(self, context, plan, replay)
        except (FactoryError, CheckpointError) as error:
            self._emit_failed(common, start, error)
            raise
        finally:
            reset_scope(token)
        if observed:
            hooks.emit_then_drain(
                "after_pipeline_run",
                timestamp=time.time(),
                duration=time.perf_counter() - start,
                **common,
            )
        return self

    def _emit_failed(
        self, common: dict[str, Any], start: float, error: Exception
    ) -> None:
        if self.hooks.enabled:
            self.hooks.emit_then_drain(
                "on_pipeline_run_failed",
                timestamp=time.time(),
                duration=time.perf_counter() - start,
                error=error,
                **common,
            )

    def _run_stages(self, entries: list[Any], context: RunContext, plan: Plan) -> None:
        """Run the stages (``entries``: stages and lone factories) in order.

        A plain ``Stage`` run with nothing observing or timing, one factory
        after another, is what its ``run()`` would do, done here: its
        factories run straight from the plan (``run_planned``), which keeps
        their outputs as the stage's records; a stage per factory (a chain)
        costs no call through ``Stage.run`` and ``Stage._run``. A lone
        factory (see ``_lazy_stages``) runs so without its ``Stage`` being
        made; when a run is observed, timed or parallel the stages are made.
        """
        uncollected = self._uncollected  # collected when the dispatcher is read
        benchmarks = self._benchmarks
        hooks, timed, parallel = context.hooks, context.benchmark, context.parallel
        made = self._made
        position = 0
        try:
            for position, entry in enumerate(entries):
                plain = not (timed or hooks.enabled)  # an observer may join mid-run
                stage = entry
                if type(entry) is not Stage and not is_stage(entry):  # lone
                    if plain and not parallel and made == self._made:
                        span = plan.stage_span(position)
                        run_planned(context, position, plan, span, write=True)
                        uncollected.append(position)
                        continue
                    if self._lone:
                        self._make_stages()
                    stage = self._entries()[position]
                if (
                    plain
                    and type(stage) is Stage
                    and not stage.benchmarked
                    and not (parallel if stage.parallel is None else stage.parallel)
                ):
                    sid = stage.stage_id
                    write = stage.is_writable
                    span = plan.stage_span(sid)
                    run_planned(context, sid, plan, span, write=write)
                    stage._use_plan(plan, sid)  # noqa: SLF001 - same package
                else:
                    stage.run(context=context)
                    benchmarks.extend(stage._last_benchmarks)  # noqa: SLF001
                uncollected.append(position)
        except BaseException:
            if self._lone:  # the lone factories that ran keep this run's records
                stages = self._entries()
                for done in self._make_stages():
                    if done < position:
                        stages[done]._use_plan(plan, done)  # noqa: SLF001
            raise
        self._ran = (plan, len(entries))

    def _spark_session(self) -> Any:
        if self.spark is not None:
            return self.spark
        return _spark.active_session()

    def _spark_context(self) -> Any:
        # A Spark Connect session has no SparkContext: its factories' jobs
        # are labelled through the session itself (operation tags).
        return _spark.labels_target(self.spark)

    def execute_stage(self, stage: Stage) -> list[BenchmarkResult]:
        """Dispatch the registered deliverables into ``stage`` and run it alone.

        Returns:
            The stage's benchmark results of this run.

        Raises:
            DependencyResolutionError: A delivery of the stage cannot be filled.
            FactoryError: A factory failed.
        """
        if self.dispatcher.size:
            for factory in stage.factories:
                self.dispatcher.dispatch(factory)
        context = RunContext(
            run_id=self.run_id or new_run_id(),
            pipeline_name=self.pipeline_name,
            hooks=self.hooks,
            pipeline=self,
            benchmark=self.benchmarked,
            parallel=self.parallel,
            max_workers=self.max_workers,
            spark_context=self._spark_context(),
            spark_session=self._spark_session(),
        )
        stage.run(context=context)
        self.dispatcher.collect_stage_deliverables(stage)
        return stage.last_benchmarks

    # ------------------------------------------------------------- results
    def get_last_output(self) -> Any:
        """``get()`` of the last factory of the last stage, or ``None``."""
        entries = self._entries()
        if not entries:
            return None
        last = entries[-1]
        if not is_stage(last):  # a lone factory
            return last.get()
        factories = last.factories
        return factories[-1].get() if factories else None

    def get_output(self, factory_type: type[Factory[Any]]) -> Any:
        """``get()`` of the first factory that is a ``factory_type``.

        Raises:
            PipelineError: No factory of that class is in the pipeline.
        """
        for factories in self._entry_factories():
            for factory in factories:
                if isinstance(factory, factory_type):
                    return factory.get()
        msg = f"There isn't any class {factory_type.__name__}"
        raise PipelineError(
            msg, hint=f"add a {factory_type.__name__} to a stage of this pipeline"
        )

    def get_deliverable(self, tp: Any) -> list[Deliverable[Any]]:
        """The inputs and outputs (of the last run) whose type matches ``tp``."""
        return self.dispatcher.find_deliverable_by_type(DeliveryType(tp))

    def get_benchmarks(self) -> list[BenchmarkResult]:
        """The benchmark results of the last run, in execution order."""
        return list(self._benchmarks)

    # ------------------------------------------------------------- reports
    def get_needed_deliverables(self) -> set[ExpectedDeliverable]:
        """One record per delivery of every factory."""
        return {
            ExpectedDeliverable(
                pretty(d.payload_type),
                d.delivery_id,
                pretty(d.producer),
                pretty(type(f)),
            )
            for stage in self.stages
            for f in stage.factories
            for d in type(f).expected_deliveries()
        }

    def get_pipeline_deliverables(self) -> set[ExpectedDeliverable]:
        """One record per external input and allowed consumer."""
        records: set[ExpectedDeliverable] = set()
        for d in self._inputs:
            tp, producer = pretty(d.payload_type.tp), pretty(d.producer)
            consumers: list[str | None] = [pretty(c) for c in d.consumers] or [None]
            records.update(
                ExpectedDeliverable(tp, d.delivery_id, producer, c) for c in consumers
            )
        return records

    def get_stages_deliverables(self) -> set[ExpectedDeliverable]:
        """One record per factory of every stage but the last."""
        return {
            ExpectedDeliverable(
                pretty(type(f).delivery_type().tp), f.delivery_id, pretty(type(f)), None
            )
            for stage in self.stages[:-1]
            for f in stage.factories
        }

    def describe(self) -> str:
        """A text summary of the factories and the flows between them."""
        self.inspector = Inspector(self)
        return str(self.inspector)

    def to_diagram(self) -> str:
        """A Mermaid ``classDiagram`` of the pipeline."""
        self.inspector = Inspector(self)
        return self.inspector.graph.to_diagram()

    def stepper(self) -> Stepper:
        """A ``Stepper`` that runs this pipeline one stage at a time (notebooks).

        Added in 0.5.
        """
        from pysetl.workflow.stepper import Stepper  # noqa: PLC0415 - imports us

        return Stepper(self)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        """The graph for Jupyter: HTML (an SVG by stage), Mermaid and text.

        Added in 0.5.
        """
        del include, exclude  # Jupyter's arguments: every format is cheap
        from pysetl.workflow import render  # noqa: PLC0415 - imports this module
        from pysetl.workflow.view import describe_pipeline  # noqa: PLC0415

        return render.mimebundle(describe_pipeline(self))

    def _repr_html_(self) -> str:
        """The graph as HTML (an SVG laid out by stage), for Jupyter.

        Added in 0.5.
        """
        return self._repr_mimebundle_()["text/html"]

    @property
    def diagram_id(self) -> str:
        """Not available: a pipeline is a whole diagram."""
        msg = "Pipeline doesn't have a diagram id"
        raise NotImplementedError(msg)
