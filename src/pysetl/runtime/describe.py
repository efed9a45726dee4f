"""``describe_project``: every pipeline of a project, from its code, and its last run.

It finds the project as ``pysetl run`` does (``pysetl.runtime.project``),
builds each registered pipeline with its function (which builds, and does
not run), and describes it (``pysetl.workflow.view``): stages, factories,
deliveries and outputs with their types and schemas, edges, docstrings and
the configs each factory uses. Given a run history, it adds the state of
each factory in the pipeline's last recorded run; the history is only read.

No factory runs and no Spark job starts. A pipeline function that asks for
``context`` or ``spark`` gets a local Spark session (``local[1]``, UI off)
to build its repositories with; ``session`` is ``None`` (nothing is
recorded), ``config`` the project config and ``params`` the ones given.
A pipeline that cannot be built is described by its error, and the others
still are.

``python -m pysetl.runtime.describe --project DIR --output FILE`` writes the
description as JSON: the dashboard runs it in a child process, so that the
project's code (and Spark, if its functions need it) never loads into the
server, and each visit sees the code as it is now.

Added in 0.5.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.errors import PySetlError
from pysetl.runtime.project import _arguments, find_project
from pysetl.utils.redaction import redact_text
from pysetl.workflow.spark import active_spark_context
from pysetl.workflow.view import (
    FactoryView,
    LastRun,
    PipelineView,
    describe_pipeline,
    own_doc,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.records import FactoryAttemptRecord, RunRecord

__all__ = [
    "ProjectView",
    "describe_project",
    "error_line",
    "last_run",
    "main",
    "with_last_run",
]

_ATTEMPT_PAGE = 500


@dataclass(frozen=True)
class ProjectView:
    """The pipelines of a project.

    Attributes:
        root: The project's folder.
        pipelines: Each pipeline, by its name in the project.
        default: The pipeline ``pysetl run`` runs alone, if set.
    """

    root: str
    pipelines: tuple[PipelineView, ...] = ()
    default: str | None = None

    def pipeline(self, name: str) -> PipelineView:
        """The pipeline called ``name`` (its project name or its own name).

        Raises:
            KeyError: No such pipeline (the message lists them).
        """
        for view in self.pipelines:
            if name in {view.project_name, view.name}:
                return view
        names = ", ".join(v.project_name or v.name for v in self.pipelines) or "none"
        msg = f"No pipeline {name!r} in the project {self.root!r}; it has: {names}"
        raise KeyError(msg)

    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready dicts and lists."""
        return dataclasses.asdict(self)


def describe_project(
    project_dir: str | Path | None = None,
    *,
    names: Sequence[str] | None = None,
    env: str | None = None,
    params: Mapping[str, str] | None = None,
    history: BaseRunHistory | None = None,
) -> ProjectView:
    """Describe the pipelines of the project of ``project_dir`` (nothing runs).

    Args:
        project_dir: Where to look for the project (default: the working dir).
        names: Only these pipelines (default: every one, by name).
        env: The config environment (default: ``PYSETL_ENV``; none: base only).
        params: What the pipeline functions get as ``params``.
        history: Where to read each pipeline's last run (only read); ``None``:
            no last-run state.

    Raises:
        ConfigError: The project or its config cannot be read, or a name is
            not one of its pipelines (the message lists them).
    """
    from pysetl.settings import settings  # noqa: PLC0415 - settings on demand

    project = find_project(project_dir)
    chosen = [project.pick(n) for n in names] if names else sorted(project.pipelines)
    config = None
    if project.conf.is_dir():
        from pysetl.config import load_config  # noqa: PLC0415 - the config extra

        config = load_config(project.conf, env or settings().env)
    builder = _Builder(config, dict(params or {}))
    views: list[PipelineView] = []
    try:
        for key in chosen:
            view = builder.describe(key, project.builder)
            if history is not None and view.error is None:
                view = with_last_run(view, history)
            views.append(view)
    finally:
        builder.close()
    return ProjectView(str(project.root), tuple(views), project.default)


class _Builder:
    """Calls pipeline functions with what they ask for, Spark only on demand."""

    def __init__(self, config: Any, params: dict[str, str]) -> None:
        self.config = config
        self.params = params
        self.context: Any = None
        self.started = False

    def _context(self) -> Any:
        if self.context is None:
            from pysetl.context import PySetl  # noqa: PLC0415 - pyspark on demand
            from pysetl.workflow import HookManager  # noqa: PLC0415

            spark, self.started = _local_spark()
            builder = PySetl.builder().set_hooks(HookManager()).set_spark_session(spark)
            if self.config is not None:
                builder = builder.set_resolved_config(self.config)
            self.context = builder.getOrCreate()
        return self.context

    def describe(self, key: str, find: Callable[[str], Any]) -> PipelineView:
        """The view of pipeline ``key``; its error when it cannot be built."""
        function: Any = None
        try:
            function = find(key)
            available: dict[str, Callable[[], Any]] = {
                "context": self._context,
                "spark": lambda: self._context().spark,
                "config": lambda: self.config,
                "session": lambda: None,
                "params": lambda: dict(self.params),
            }
            pipeline = function(**_arguments(function, available))
            if not hasattr(pipeline, "stages"):
                msg = f"returned {type(pipeline).__name__}, not a Pipeline"
                raise TypeError(msg)  # noqa: TRY301 - reported below like the rest
            names: dict[int, str] = {}
            if self.context is not None:
                names = {id(d): k for k, d in self.context.external_inputs.items()}
            view = describe_pipeline(pipeline, input_names=names)
        except Exception as exc:  # noqa: BLE001 - one broken pipeline, not all
            message = exc.message if isinstance(exc, PySetlError) else str(exc)
            error = redact_text(f"{type(exc).__name__}: {message}")
            doc = own_doc(function) if function is not None else ""
            return PipelineView(key, doc=doc, error=error, project_name=key)
        name = view.name if view.name != "pipeline" else key
        return dataclasses.replace(
            view, name=name, doc=own_doc(function), project_name=key
        )

    def close(self) -> None:
        """Stop the Spark session this started, if any."""
        if self.context is not None and self.started:
            self.context.spark.stop()


def _local_spark() -> tuple[Any, bool]:
    """A local Spark session to build repositories with, and whether it is new."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only when asked for

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    # A session running in another thread is not this thread's active one,
    # yet getOrCreate() returns it: it is not ours to stop.
    running = active_spark_context() is not None
    return (
        SparkSession.builder.master("local[1]")
        .appName("pysetl-describe")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    ), not running


# ---------------------------------------------------------------- last run
def error_line(error: Mapping[str, Any] | None) -> str | None:
    """One line about a recorded error: its innermost cause, redacted."""
    if not error:
        return None
    causes = error.get("causes") or []
    root = causes[-1] if causes else error
    kind = root.get("error_type") or error.get("error_type") or "Error"
    message = str(root.get("message") or "").split("\n", 1)[0]
    return redact_text(f"{kind}: {message}")


def last_run(
    history: BaseRunHistory, pipeline: str
) -> tuple[LastRun, dict[str, LastRun]] | None:
    """The last recorded run of ``pipeline`` and the state of each factory in it.

    A factory's state is its last attempt's; ``None`` when the pipeline has
    never run.
    """
    runs = history.list_runs(pipeline=pipeline, limit=1).items
    if not runs:
        return None
    run: RunRecord = runs[0]
    attempts: dict[str, FactoryAttemptRecord] = {}
    cursor: str | None = None
    while True:
        page = history.list_factory_attempts(
            run.run_id, limit=_ATTEMPT_PAGE, cursor=cursor
        )
        for attempt in page.items:
            attempts[attempt.factory] = attempt  # later attempts win
        cursor = page.next_cursor
        if cursor is None:
            break
    factories = {
        name: LastRun(
            a.status, run.run_id, a.started_at, a.duration, error_line(a.error)
        )
        for name, a in attempts.items()
    }
    state = LastRun(
        run.status, run.run_id, run.started_at, run.duration, error_line(run.error)
    )
    return state, factories


def with_last_run(view: PipelineView, history: BaseRunHistory) -> PipelineView:
    """``view`` with its last recorded run, and each factory's state in it.

    A factory the last run did not reach is ``not run``.
    """
    found = last_run(history, view.name)
    if found is None:
        return view
    state, factories = found
    missing = LastRun("not run", state.run_id)
    updated: list[FactoryView] = [
        dataclasses.replace(f, last_run=factories.get(f.name, missing))
        for f in view.factories
    ]
    return dataclasses.replace(view, last_run=state, factories=tuple(updated))


# -------------------------------------------------------------- child mode
def main(argv: Sequence[str] | None = None) -> int:
    """Write the project's description as JSON (``--output``, else stdout).

    The exit code is 0 with ``{"project": ...}``, or 1 with
    ``{"error": ..., "hint": ...}`` when the project cannot be read.
    """
    parser = argparse.ArgumentParser(prog="python -m pysetl.runtime.describe")
    parser.add_argument("--project", default=None)
    parser.add_argument("--env", default=None)
    parser.add_argument("--output", default=None)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    code = 0
    try:
        view = describe_project(args.project, names=args.names or None, env=args.env)
        body: dict[str, Any] = {"project": view.to_dict()}
    except PySetlError as exc:
        body = {"error": redact_text(exc.message), "hint": exc.hint}
        code = 1
    text = json.dumps(body)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return code


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
