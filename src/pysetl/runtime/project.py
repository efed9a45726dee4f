"""A pysetl project: where its config and pipelines are, and running one.

A project is the nearest folder, from the working directory up, whose
``pyproject.toml`` has a ``[tool.pysetl]`` table:

```toml
[tool.pysetl]
conf = "conf"                      # the config root (default: conf)
default = "flights"                # the pipeline `pysetl run` runs alone
[tool.pysetl.pipelines]
flights = "flights_etl:build"      # module:function, importable from the
                                   # project folder (or its src/ folder)
```

Installed packages can add pipelines through the entry-point group
``pysetl.pipelines`` (``name = "package.module:function"``); the project's
own table wins on a name clash.

A pipeline function builds (it does not run) the pipeline. It asks for what
it needs by parameter name, among:

* ``context``: a ``PySetl`` built from the config (Spark session from its
  ``spark`` section, connector configs from ``connectors``), observed by
  the session;
* ``session``: the ``pysetl.runtime.Session``;
* ``config``: the ``ResolvedConfig`` (``None`` without a ``conf`` folder);
* ``spark``: the ``SparkSession`` (built from the config when asked for);
* ``params``: the ``--param key=value`` pairs, as a ``dict[str, str]``.

``run_project()`` loads the config, builds the session (history, logs,
metrics, progress, config version), builds the pipeline, runs it and
returns a ``RunReport``; the ``pysetl run`` command prints it. For
debugging it can keep stage checkpoints, run part of the pipeline on them
(``only``, ``from_stage``, ``resume``), sample output rows and open ``pdb``
on a failure (see ``pysetl.runtime._debugging``).

Added in 0.4.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.errors import ConfigError, PipelineError, PySetlError
from pysetl.runtime import _debugging
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pysetl.config import ResolvedConfig
    from pysetl.runtime._session import Session
    from pysetl.workflow import Pipeline

__all__ = [
    "PIPELINES_GROUP",
    "FactoryLine",
    "Project",
    "RunReport",
    "find_project",
    "run_project",
]

PIPELINES_GROUP = "pysetl.pipelines"
_ARGUMENTS = ("context", "session", "config", "spark", "params")


@dataclass(frozen=True)
class Project:
    """A project's folder, config root and pipelines (``name -> module:function``)."""

    root: Path
    conf: Path
    pipelines: dict[str, str] = field(default_factory=dict)
    default: str | None = None

    def pick(self, name: str | None) -> str:
        """The pipeline to run: ``name``, else the default, else the only one.

        Raises:
            ConfigError: No such pipeline, or several and none chosen; the
                message lists the pipelines there are.
        """
        names = sorted(self.pipelines)
        if name is None:
            name = self.default or (names[0] if len(names) == 1 else None)
            if name is None:
                msg = (
                    f"Which pipeline? The project {str(self.root)!r} has "
                    f"{len(names)}: {', '.join(names) or 'none'}"
                )
                hint = (
                    "name one: pysetl run NAME, or set default in [tool.pysetl]"
                    if names
                    else "register one in [tool.pysetl.pipelines] of pyproject.toml "
                    '(name = "module:function")'
                )
                raise ConfigError(msg, hint=hint)
        if name not in self.pipelines:
            msg = f"No pipeline {name!r} in the project {str(self.root)!r}"
            raise ConfigError(
                msg,
                hint=f"choose one of: {', '.join(names)}"
                if names
                else "register it in [tool.pysetl.pipelines] of pyproject.toml",
            )
        return name

    def builder(self, name: str) -> Callable[..., Pipeline]:
        """Import the function that builds pipeline ``name``.

        Raises:
            ConfigError: The module or function cannot be imported.
        """
        target = self.pipelines[name]
        module_name, _, attribute = target.partition(":")
        for folder in (self.root / "src", self.root):
            if folder.is_dir() and str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        try:
            function: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                function = getattr(function, part)
        except (ImportError, AttributeError) as exc:
            msg = f"Pipeline {name!r} ({target!r}) cannot be imported: {exc}"
            raise ConfigError(
                msg,
                hint="write it as 'module:function', importable from the project "
                "folder or its src/ folder",
            ) from exc
        if not callable(function):
            msg = f"Pipeline {name!r} ({target!r}) is not a function"
            raise ConfigError(msg, hint="point it at a function that builds a Pipeline")
        return function  # type: ignore[no-any-return]


def _read_table(pyproject: Path) -> dict[str, Any] | None:
    try:  # tomllib is Python 3.11+; tomli has the same API on 3.10
        tomllib: Any = importlib.import_module("tomllib")
    except ImportError:  # pragma: no cover - Python 3.10
        tomllib = importlib.import_module("tomli")
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{str(pyproject)!r} cannot be read: {exc}"
        raise ConfigError(msg, hint="fix the TOML syntax of the file") from exc
    table = data.get("tool", {}).get("pysetl")
    return table if isinstance(table, dict) else None


def find_project(start: str | Path | None = None) -> Project:
    """The project of ``start`` (default: the working directory), searched upward.

    Without a ``[tool.pysetl]`` table anywhere up, the project is ``start``
    itself, with the pipelines of the ``pysetl.pipelines`` entry points.

    Raises:
        ConfigError: ``pyproject.toml`` cannot be read, or the table is
            malformed (the message names the key).
    """
    here = (Path.cwd() if start is None else Path(start)).resolve()
    table: dict[str, Any] = {}
    root = here
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            found = _read_table(candidate)
            if found is not None:
                table, root = found, folder
                break
    pipelines = _entry_point_pipelines()
    declared = table.get("pipelines", {})
    if not isinstance(declared, dict) or not all(
        isinstance(v, str) for v in declared.values()
    ):
        msg = (
            f"[tool.pysetl.pipelines] of {str(root / 'pyproject.toml')!r} is malformed"
        )
        raise ConfigError(msg, hint='write each as name = "module:function"')
    pipelines.update(declared)
    conf = table.get("conf", "conf")
    default = table.get("default")
    if not isinstance(conf, str) or not (default is None or isinstance(default, str)):
        where = str(root / "pyproject.toml")
        msg = f"[tool.pysetl] of {where!r}: conf and default must be text"
        raise ConfigError(msg, hint='write conf = "conf" and default = "name"')
    return Project(root=root, conf=root / conf, pipelines=pipelines, default=default)


def _entry_point_pipelines() -> dict[str, str]:
    from importlib.metadata import entry_points  # noqa: PLC0415 - lazy

    return {ep.name: ep.value for ep in entry_points(group=PIPELINES_GROUP)}


# ------------------------------------------------------------------- running
@dataclass(frozen=True)
class FactoryLine:
    """One factory attempt of a finished run, for the summary."""

    name: str
    stage: int
    status: str
    seconds: float
    rows_in: int | None = None
    rows_out: int | None = None


@dataclass(frozen=True)
class RunReport:
    """What ``run_project()`` ran and how it went.

    Attributes:
        pipeline: The pipeline's name.
        run_id: The run id (``None`` when the pre-flight check failed first).
        status: ``succeeded`` or ``failed``.
        seconds: The run's duration as recorded (what ``pysetl runs list``
            shows), else the wall time of ``Pipeline.run()``.
        factories: Each factory attempt, in the order they finished.
        error: The error of a failed run.
        history_url: Where the run was recorded (``None``: not recorded).
        env: The config environment.
    """

    pipeline: str
    run_id: str | None
    status: str
    seconds: float
    factories: tuple[FactoryLine, ...] = ()
    error: PySetlError | None = None
    history_url: str | None = None
    env: str | None = None

    def slowest(self, count: int = 3) -> list[FactoryLine]:
        """The ``count`` slowest factory attempts, slowest first."""
        return sorted(self.factories, key=lambda f: -f.seconds)[:count]

    @property
    def rows_read(self) -> int:
        """The rows the factories read, in all (0 when none was counted).

        Added in 0.7.
        """
        return sum(line.rows_in or 0 for line in self.factories)

    @property
    def rows_written(self) -> int:
        """The rows the factories wrote, in all (0 when none was counted).

        Added in 0.7.
        """
        return sum(line.rows_out or 0 for line in self.factories)


class _Progress:
    """The observer behind ``on_event``: factory starts and ends, in order."""

    def __init__(self, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.on_event = on_event
        self.finished: list[FactoryLine] = []

    @hook_impl
    def before_factory_run(
        self, *, stage_id: int, factory_name: str, attempt: int
    ) -> None:
        data = {"factory": factory_name, "stage": stage_id, "attempt": attempt}
        self.on_event("started", data)

    @hook_impl
    def after_factory_run(
        self, *, stage_id: int, factory_name: str, attempt: int, duration: float
    ) -> None:
        self._done(factory_name, stage_id, attempt, "succeeded", duration)

    @hook_impl
    def on_factory_run_failed(
        self, *, stage_id: int, factory_name: str, attempt: int, duration: float
    ) -> None:
        self._done(factory_name, stage_id, attempt, "failed", duration)

    def _done(
        self, name: str, stage: int, attempt: int, status: str, seconds: float
    ) -> None:
        if attempt > 1:  # a retry: the factory's line is its last attempt's
            self.finished = [line for line in self.finished if line.name != name]
        self.finished.append(FactoryLine(name, stage, status, seconds))
        data = {"factory": name, "stage": stage, "seconds": seconds}
        self.on_event(status, data | {"attempt": attempt})


def _arguments(
    function: Callable[..., Any], available: Mapping[str, Callable[[], Any]]
) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters
    unknown = [p for p in parameters if p not in available]
    if unknown:
        msg = (
            f"The pipeline function {function.__qualname__!r} asks for "
            f"{unknown!r}, which pysetl run cannot give"
        )
        raise ConfigError(msg, hint=f"ask only for some of: {', '.join(available)}")
    return {name: available[name]() for name in parameters}


def run_project(  # noqa: C901 - one run assembled in order, each step one branch
    name: str | None = None,
    *,
    env: str | None = None,
    params: Mapping[str, str] | None = None,
    project_dir: str | Path | None = None,
    history: str | None = None,
    observe: bool | None = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    spark_log_level: str | None = None,
    checkpoint: bool | None = None,
    only: str | None = None,
    from_stage: int | None = None,
    resume: str | None = None,
    sample: int | None = None,
    pdb: bool = False,
) -> RunReport:
    """Run pipeline ``name`` of the project with the whole observability stack.

    Args:
        name: The pipeline (default: the project's default or only one).
        env: The config environment (default: ``PYSETL_ENV``; none: base only).
        params: Values for the pipeline function's ``params``.
        project_dir: Where to look for the project (default: the working dir).
        history: The run history's URL (default: the config's or the project's).
        observe: Record the run (default: ``PYSETL_OBSERVE``, then the config).
        on_event: Called with ``("started" | "succeeded" | "failed", data)``
            as factories start and end (on the observers' thread).
        spark_log_level: Spark's log4j level if pysetl starts Spark
            (default: ``PYSETL_SPARK_LOG_LEVEL``, else ``WARN``; ``pysetl
            --verbose`` passes ``INFO``). Added in 0.4.
        checkpoint: Keep each stage's deliverables in the project's
            ``.pysetl/checkpoints`` (default: ``checkpoints.enabled``).
        only: Run this factory alone, on the last checkpoint.
        from_stage: Run from this stage on, on the last checkpoint.
        resume: Resume this failed run: its completed stages are read back.
        sample: Rows of each factory's output to sample (redacted, recorded
            as ``factory_sample`` events); default: ``debug.sample_rows``
            in debug mode, else none.
        pdb: On a factory failure, open ``pdb`` in the factory's frame
            before the Spark session and the history are closed.

    Returns:
        The report; a failed run is a report with ``status == "failed"``.

    Raises:
        ConfigError: The project, its config or the pipeline cannot be loaded.
        PySetlError: The pipeline cannot be built.
    """
    from pysetl.context import PySetl  # noqa: PLC0415 - pyspark only when asked
    from pysetl.runtime._session import Session  # noqa: PLC0415
    from pysetl.settings import settings  # noqa: PLC0415

    project = find_project(project_dir)
    chosen = project.pick(name)
    function = project.builder(chosen)
    env = env or settings().env
    config: ResolvedConfig | None = None
    if project.conf.is_dir():
        from pysetl.config import load_config  # noqa: PLC0415 - the config extra

        config = load_config(project.conf, env)
    session = Session(
        config=config, history=history, observe=observe, project_dir=project.root
    )
    progress = _Progress(on_event or (lambda _kind, _data: None))
    session.hooks.register(progress, name="pysetl-run-progress")
    _debugging.add_sampler(session, config, sample)
    context_cache: list[Any] = []

    def context() -> Any:
        if not context_cache:
            builder = (
                PySetl.builder()
                .set_hooks(session.hooks)
                .set_spark_log_level(spark_log_level)
            )
            if config is not None:
                builder = builder.set_resolved_config(config)
            context_cache.append(builder.getOrCreate())
        return context_cache[0]

    available: dict[str, Callable[[], Any]] = {
        "context": context,
        "session": lambda: session,
        "config": lambda: config,
        "spark": lambda: context().spark,
        "params": lambda: dict(params or {}),
    }
    try:
        pipeline = _build(chosen, function, _arguments(function, available))
        if not hasattr(pipeline, "run"):
            msg = (
                f"The pipeline function of {chosen!r} returned "
                f"{type(pipeline).__name__}, not a Pipeline"
            )
            raise PipelineError(msg, hint="return the pipeline built (not run)")
        pipeline.hooks = session.hooks
        session.apply_policies(pipeline)  # the config's retries and timeouts
        if pipeline.pipeline_name == "pipeline":  # left unnamed: use its project name
            pipeline.pipeline_name = chosen
        replays = (only, from_stage, resume) != (None, None, None)
        _debugging.use_checkpoints(
            pipeline, config, project.root, enabled=checkpoint, reads=replays
        )
        started = time.perf_counter()
        error: PySetlError | None = None
        try:
            pipeline.run(only=only, from_stage=from_stage, resume=resume)
        except PySetlError as exc:
            error = exc
            if pdb:  # while Spark and the history are still open
                _debugging.post_mortem(exc)
        seconds = time.perf_counter() - started
        session.writer.drain()
        return RunReport(
            pipeline=pipeline.pipeline_name,
            run_id=pipeline.run_id,
            status="failed" if error is not None else "succeeded",
            seconds=_recorded_duration(session, pipeline.run_id) or seconds,
            factories=tuple(_with_rows(progress.finished, session, pipeline.run_id)),
            error=error,
            history_url=getattr(session.history, "url", None),
            env=config.env if config is not None else env,
        )
    finally:
        session.close()
        for built in context_cache:
            if getattr(built, "owns_session", False):
                built.stop()


def _build(name: str, function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """Call the pipeline function; what it raises becomes a ``PipelineError``."""
    try:
        return function(**arguments)
    except PySetlError:
        raise
    except Exception as exc:
        msg = (
            f"The pipeline function of {name!r} ({function.__qualname__}) raised "
            f"{type(exc).__name__}: {exc}"
        )
        raise PipelineError(
            msg, hint="fix the function that builds the pipeline (see --debug)"
        ) from exc


def _recorded_duration(session: Session, run_id: str | None) -> float | None:
    """The run's duration as the history has it (what ``runs list`` shows)."""
    history = session.history
    if history is None or run_id is None:
        return None
    run = history.find_run(run_id)
    return run.duration if run is not None else None


def _with_rows(
    lines: list[FactoryLine], session: Session, run_id: str | None
) -> list[FactoryLine]:
    """The factory lines with their rows read and written (from the history)."""
    history = session.history
    if history is None or run_id is None:
        return lines
    names = (
        "pysetl_factory_spark_input_records",
        "pysetl_factory_spark_output_records",
    )
    rows: dict[tuple[str, str], int] = {}
    for line in {line.name for line in lines}:
        for total in history.metric_totals([run_id], names=names, factory=line):
            rows[line, total.name] = int(total.total)
    return [
        FactoryLine(
            line.name,
            line.stage,
            line.status,
            line.seconds,
            rows.get((line.name, names[0])),
            rows.get((line.name, names[1])),
        )
        for line in lines
    ]
