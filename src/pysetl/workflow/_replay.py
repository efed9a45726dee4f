"""Runs that skip stages: their deliverables read back from a checkpoint.

``Pipeline.run()`` takes three ways to run part of a pipeline:

* ``from_stage=N``: stages ``0..N-1`` are read back from the newest
  checkpoint of the pipeline that has them all; stages ``N`` on run;
* ``only="Factory"``: the stages before that factory's are read back so, the
  factory runs alone, and nothing else runs (the other factories of its
  stage and every later stage are skipped);
* ``resume=RUN_ID``: the stages that run ``RUN_ID`` completed (those its
  checkpoint holds) are read back from its checkpoint; the rest run. The new
  run records ``resumed_from``.

Reading back starts no Spark job (Parquet is read with its recorded schema);
a factory read back or left out is never called: no event of its own but
``on_factory_skipped`` (``reason`` says which), no Spark job.

``plan_replay`` decides before anything runs and fails with a
``CheckpointError`` that says what to do when there is nothing to read back;
``run_replay`` runs the stages.

Added in 0.6.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysetl.errors import CheckpointError
from pysetl.utils._pretty import pretty
from pysetl.workflow._execute import Job, run_factory
from pysetl.workflow.checkpoint import CheckpointStore

if TYPE_CHECKING:
    from pysetl.workflow._execute import RunContext
    from pysetl.workflow._inject import Plan
    from pysetl.workflow.pipeline import Pipeline
    from pysetl.workflow.stage import Stage

__all__ = ["Replay", "plan_replay", "run_replay"]

_WITH_CHECKPOINT = "run the pipeline once with checkpoints on: pysetl run --checkpoint"


@dataclass(frozen=True, slots=True)
class Replay:
    """What a run reads back, what it runs, and where it saves.

    Attributes:
        store: Where checkpoints are read from and (``store.write``) written.
        source: The run whose checkpoint is read back (``None``: none).
        restore: The stages read back.
        only: The plan position of the one factory to run (``only=``).
        resumed_from: The failed run this one resumes.
    """

    store: CheckpointStore | None
    source: str | None = None
    restore: frozenset[int] = frozenset()
    only: int | None = None
    resumed_from: str | None = None


def _find_factory(plan: Plan, name: str) -> int:
    """The plan position of the factory ``name`` (its run name, or its class's)."""
    first, names = plan.first_factory, plan.names
    exact = [k for k in range(first, len(names)) if names[k] == name]
    if not exact:
        exact = [
            k
            for k in range(first, len(names))
            if type(plan.origins[k]).__name__ == name
            or type(plan.origins[k]).__qualname__ == name
        ]
    if len(exact) == 1:
        return exact[0]
    listed = ", ".join(names[first:]) or "none"
    if exact:
        msg = f"Several factories of pipeline {plan.pipeline!r} are named {name!r}"
        hint = f"name one as the run does: {', '.join(names[k] for k in exact)}"
    else:
        msg = f"Pipeline {plan.pipeline!r} has no factory {name!r}"
        hint = f"choose one of: {listed}"
    raise CheckpointError(msg, hint=hint)


def plan_replay(  # noqa: C901 - one branch per way of skipping
    plan: Plan,
    store: CheckpointStore | None,
    *,
    only: str | None = None,
    from_stage: int | None = None,
    resume: str | None = None,
) -> Replay:
    """Decide what a run reads back and runs; check the checkpoints are there.

    Raises:
        CheckpointError: Options that do not go together, a stage or factory
            that does not exist, or no checkpoint to read back (the message
            says to run once with ``--checkpoint``).
    """
    chosen = [o for o in (only, from_stage, resume) if o is not None]
    if len(chosen) > 1:
        msg = "Choose one of only, from_stage and resume"
        raise CheckpointError(
            msg, hint="run with one of --only, --from-stage, --resume"
        )
    if not chosen:
        return Replay(store)
    reader = store or CheckpointStore.default(write=False)
    pipeline = plan.pipeline
    count = len(plan.stage_starts)
    if resume is not None:
        run = reader.run(resume)
        if run is None:
            msg = f"Run {resume!r} has no checkpoint in {str(reader.root)!r}"
            raise CheckpointError(
                msg,
                hint="only a run made with checkpoints on can be resumed "
                "(pysetl run --checkpoint); check the run id with pysetl runs list",
            )
        if run.pipeline != pipeline:
            msg = f"Run {resume!r} is of pipeline {run.pipeline!r}, not {pipeline!r}"
            raise CheckpointError(msg, hint=f"pysetl run {run.pipeline} --resume ...")
        done = 0
        while done in run.stages:
            done += 1
        if done >= count:
            msg = (
                f"Run {resume!r} completed every stage of {pipeline!r}: "
                "nothing to resume"
            )
            raise CheckpointError(msg, hint="run the pipeline again, without --resume")
        _check(reader, resume, plan, range(done))
        return Replay(store, resume, frozenset(range(done)), resumed_from=resume)
    if from_stage is not None:
        if isinstance(from_stage, bool) or not 0 <= from_stage < count:
            msg = f"Pipeline {pipeline!r} has no stage {from_stage!r}"
            raise CheckpointError(msg, hint=f"give a stage from 0 to {count - 1}")
        upstream = range(from_stage)
        only_position = None
    else:
        only_position = _find_factory(plan, str(only))
        upstream = range(plan.stages[only_position])
    if not upstream:
        return Replay(store, only=only_position)
    source = reader.latest(pipeline, upstream)
    if source is None:
        what = f"stages 0 to {upstream[-1]}" if len(upstream) > 1 else "stage 0"
        msg = (
            f"No checkpoint of pipeline {pipeline!r} has {what} in {str(reader.root)!r}"
        )
        raise CheckpointError(msg, hint=_WITH_CHECKPOINT)
    _check(reader, source.run_id, plan, upstream)
    return Replay(store, source.run_id, frozenset(upstream), only_position)


def _check(reader: CheckpointStore, source: str, plan: Plan, stages: range) -> None:
    """Fail before anything runs when the checkpoint cannot fill ``stages``.

    Every factory of those stages needs an entry of its name and type, kept
    in a format that can be read back.

    Raises:
        CheckpointError: The first factory the checkpoint cannot fill.
    """
    for stage_id in stages:
        manifest = reader.manifest(source, stage_id)
        for k in range(*plan.stage_span(stage_id)):
            name = plan.names[k]
            entry = manifest.entry(name)
            wanted = pretty(plan.types[k].tp)
            if entry is not None and entry.type == wanted:
                if entry.format != "unsupported":
                    continue
                msg = (
                    f"Factory {name!r} (stage {stage_id}) made a {entry.type} that "
                    f"run {source!r} could not checkpoint: {entry.reason}"
                )
                hint = (
                    f"run stage {stage_id} again (--from-stage {stage_id}), or make "
                    "the factory return a DataFrame or a JSON-able value"
                )
                raise CheckpointError(msg, hint=hint)
            found = "nothing" if entry is None else f"a {entry.type}"
            msg = (
                f"The checkpoint of run {source!r} has {found} for factory "
                f"{name!r} of stage {stage_id}, which makes a {wanted}"
            )
            raise CheckpointError(
                msg,
                hint="the pipeline changed since that run: run it whole, "
                "with --checkpoint",
            )


def _skipped(
    context: RunContext, plan: Plan, span: tuple[int, int], reason: str
) -> None:
    """``on_factory_skipped`` for each factory of ``span`` (when observed)."""
    hooks = context.hooks
    if not hooks.enabled:
        return
    for k in range(*span):
        hooks.emit(
            "on_factory_skipped",
            run_id=context.run_id,
            pipeline=context.pipeline,
            pipeline_name=context.pipeline_name,
            timestamp=time.time(),
            stage_id=plan.stages[k],
            factory=plan.origins[k],
            factory_name=plan.names[k],
            reason=reason,
        )


def _restore(replay: Replay, context: RunContext, plan: Plan, stage_id: int) -> None:
    """Read stage ``stage_id``'s deliverables back into the plan."""
    store, source = replay.store, str(replay.source)
    reader = store or CheckpointStore.default(write=False)
    spark = context.spark_session
    span = plan.stage_span(stage_id)
    for k in range(*span):
        plan.outputs[k] = reader.load(
            source,
            stage_id,
            plan.names[k],
            spark=spark,
            declared=plan.types[k].tp,
        )
    _skipped(context, plan, span, f"restored from the checkpoint of run {source}")
    if store is not None and store.write:
        store.copy_stage(source, context.run_id, plan.pipeline, stage_id)


def _save(replay: Replay, context: RunContext, plan: Plan, stage_id: int) -> None:
    store = replay.store
    if store is None or not store.write:
        return
    first, last = plan.stage_span(stage_id)
    items = [
        (plan.names[k], plan.origins[k], plan.outputs[k]) for k in range(first, last)
    ]
    store.save_stage(context.run_id, plan.pipeline, stage_id, items)


def _run_one(context: RunContext, stage: Stage, plan: Plan, position: int) -> None:
    """Run the factory at ``position`` alone, between its stage's events."""
    hooks, sid = context.hooks, stage.stage_id
    common: dict[str, Any] = {
        "run_id": context.run_id,
        "pipeline": context.pipeline,
        "pipeline_name": context.pipeline_name,
        "stage": stage,
        "stage_id": sid,
    }
    observed = hooks.enabled
    if observed:
        hooks.emit("before_stage_run", timestamp=time.time(), parallel=False, **common)
    start = time.perf_counter()
    factory = plan.origins[position]
    job = Job(
        factory, stage.is_writable and factory.is_writable, (), plan.source(position)
    )
    try:
        run_factory(context, sid, job, record=False)
    except Exception as error:
        if observed:
            hooks.emit(
                "on_stage_run_failed",
                timestamp=time.time(),
                duration=time.perf_counter() - start,
                error=error,
                **common,
            )
        raise
    if observed:
        hooks.emit(
            "after_stage_run",
            timestamp=time.time(),
            duration=time.perf_counter() - start,
            **common,
        )


def run_replay(
    pipeline: Pipeline, context: RunContext, plan: Plan, replay: Replay
) -> None:
    """Run the stages as ``replay`` says: read back, run (and save), or skip.

    Raises:
        FactoryError: A factory failed.
        CheckpointError: A checkpoint cannot be read back or written.
    """
    store = replay.store
    if store is not None and store.write:
        store.begin(context.run_id, plan.pipeline, resumed_from=replay.resumed_from)
    if pipeline._lone:  # noqa: SLF001 - same package: stages are needed here
        pipeline._make_stages()  # noqa: SLF001
    stages: list[Stage] = pipeline._entries()  # noqa: SLF001
    done = pipeline._uncollected  # noqa: SLF001 - collected when the dispatcher is read
    only = replay.only
    only_stage = None if only is None else plan.stages[only]
    for sid, stage in enumerate(stages):
        if sid in replay.restore:
            _restore(replay, context, plan, sid)
            stage._use_plan(plan, sid)  # noqa: SLF001 - same package
            done.append(sid)
        elif only is None:
            stage.run(context=context)
            pipeline._benchmarks.extend(stage._last_benchmarks)  # noqa: SLF001
            done.append(sid)
            _save(replay, context, plan, sid)
        elif sid == only_stage:
            first, last = plan.stage_span(sid)
            reason = f"not selected (only {plan.names[only]!r} runs)"
            _skipped(context, plan, (first, only), reason)
            _run_one(context, stage, plan, only)
            _skipped(context, plan, (only + 1, last), reason)
            stage._use_plan(plan, sid)  # noqa: SLF001
            # Its output, and not its stage's others (they did not run).
            factory = plan.origins[only]
            made = factory.make_deliverable(plan.outputs[only])
            pipeline.dispatcher.add_deliverable(made)
        else:
            reason = f"not selected (only {plan.names[only]!r} runs)"
            _skipped(context, plan, plan.stage_span(sid), reason)
    pipeline._ran = (plan, len(stages))  # noqa: SLF001
