"""Hook markers and specifications (public names live in ``hooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pysetl.errors import FactoryError
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.pipeline import Pipeline
    from pysetl.workflow.run_graph import RunGraph
    from pysetl.workflow.stage import Stage

__all__ = [
    "ENTRY_POINT_GROUP",
    "EVENTS",
    "PROJECT_NAME",
    "SPEC_CLASSES",
    "FactorySpecs",
    "MetricSpecs",
    "PipelineSpecs",
    "StageSpecs",
    "hook_impl",
    "hook_spec",
]

PROJECT_NAME = "pysetl"
ENTRY_POINT_GROUP = "pysetl.hooks"

hook_spec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a method of a spec class as a hook specification."""

hook_impl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks an observer's method as the implementation of the hook of that name."""


class PipelineSpecs:
    """Events of a whole pipeline run.

    Arguments common to every event of every spec class:

    * ``run_id`` (str): the run's time-sortable correlation id (a ULID);
    * ``pipeline`` (Pipeline): the pipeline object;
    * ``pipeline_name`` (str): its name;
    * ``timestamp`` (float): when the event happened (``time.time()``).
    """

    @hook_spec
    def before_pipeline_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline,
        pipeline_name: str,
        timestamp: float,
        graph: RunGraph,
    ) -> None:
        """The run passed its pre-flight check and is about to run stage 0.

        ``graph`` is the run's factories and the deliveries between them
        (``RunGraph``; built when an observer first calls ``to_dict()``).

        Changed in 0.7: ``graph``.
        """

    @hook_spec
    def after_pipeline_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline,
        pipeline_name: str,
        timestamp: float,
        duration: float,
    ) -> None:
        """Every stage finished; ``duration`` is the run's wall time in seconds."""

    @hook_spec
    def on_pipeline_run_failed(
        self,
        *,
        run_id: str,
        pipeline: Pipeline,
        pipeline_name: str,
        timestamp: float,
        duration: float,
        error: Exception,
    ) -> None:
        """The run failed; ``error`` is what ``run()`` raises.

        It is a ``DependencyResolutionError`` when the pre-flight check failed
        (no ``before_pipeline_run`` was emitted then), else a ``FactoryError``.
        """


class StageSpecs:
    """Events of one stage; ``stage`` is the Stage and ``stage_id`` its index."""

    @hook_spec
    def before_stage_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage: Stage,
        stage_id: int,
        parallel: bool,
    ) -> None:
        """The stage's inputs are injected and its factories are about to run."""

    @hook_spec
    def after_stage_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage: Stage,
        stage_id: int,
        duration: float,
    ) -> None:
        """Every factory of the stage finished."""

    @hook_spec
    def on_stage_run_failed(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage: Stage,
        stage_id: int,
        duration: float,
        error: FactoryError,
    ) -> None:
        """A factory failed; ``error`` is the first failure in declaration order."""


class FactorySpecs:
    """Events of one factory attempt.

    Arguments common to the factory events: ``stage_id`` (int), ``factory``
    (the Factory instance), ``factory_name`` (str) and ``attempt`` (int,
    starting at 1).
    """

    @hook_spec
    def before_factory_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
    ) -> None:
        """The factory starts: its deliveries are filled next, then ``read()`` runs."""

    @hook_spec
    def after_factory_run(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
        output: Any,
    ) -> None:
        """The factory finished.

        ``phases`` maps ``read``/``process``/``write``/``get`` to seconds
        (``write`` is absent when writing is off); ``output`` is ``get()``'s value.
        """

    @hook_spec
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
        phase: str,
        error: FactoryError,
    ) -> None:
        """The factory raised in ``phase``; ``error.__cause__`` is the original."""

    @hook_spec
    def on_factory_retried(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        attempt: int,
        error: FactoryError,
        delay: float,
        next_attempt: int,
    ) -> None:
        """Attempt ``attempt`` failed with ``error`` and will be retried.

        Its retry policy (``pysetl.workflow.retry``) runs attempt
        ``next_attempt`` after ``delay`` seconds. It comes after the
        attempt's ``on_factory_run_failed``.

        Changed in 0.6: emitted (it was reserved), with ``delay`` and
        ``next_attempt``.
        """

    @hook_spec
    def on_factory_skipped(
        self,
        *,
        run_id: str,
        pipeline: Pipeline | None,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory: Factory[Any],
        factory_name: str,
        reason: str,
    ) -> None:
        """A factory will not run in this run; ``reason`` says why.

        Changed in 0.6: recorded in the run history (an event named
        ``on_factory_skipped`` with the factory and the reason).
        """


class MetricSpecs:
    """Values that code running inside a factory records (users' KPIs).

    Added in 0.2.
    """

    @hook_spec
    def on_metric_recorded(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int | None,
        factory_name: str | None,
        attempt: int | None,
        timestamp: float,
        name: str,
        kind: str,
        value: float,
        labels: dict[str, str],
    ) -> None:
        """A custom metric was recorded (``pysetl.monitoring.kpi``).

        ``kind`` is ``counter`` (``value`` is the increment), ``gauge`` (the
        value set) or ``histogram`` (one observation); ``labels`` are the
        user's labels, as given. ``stage_id``, ``factory_name`` and
        ``attempt`` say where it was recorded.
        """


SPEC_CLASSES: tuple[type, ...] = (PipelineSpecs, StageSpecs, FactorySpecs, MetricSpecs)

EVENTS: tuple[str, ...] = tuple(
    name
    for spec in SPEC_CLASSES
    for name, value in vars(spec).items()
    if callable(value) and not name.startswith("_")
)
"""The name of every event, in lifecycle order."""
