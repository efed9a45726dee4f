"""Debugging a project's run: checkpoints, output samples and post-mortems.

Two optional sections of the project config, both off by default:

```yaml
checkpoints:
  enabled: false      # keep each stage's deliverables (pysetl run --checkpoint)
  keep: 3             # runs kept per pipeline; older ones are removed
  path: .pysetl/checkpoints   # relative to the project folder
debug:
  sample_rows: 0      # in debug mode (--debug, PYSETL_DEBUG=1): rows
                      # sampled per factory (pysetl run --sample N)
```

``checkpoint_store`` makes the ``CheckpointStore`` a run writes to (or only
reads from, for ``--only``/``--from-stage``/``--resume`` without
``--checkpoint``); ``sampler`` the ``OutputSampler`` whose samples go to the
history as ``factory_sample`` events; ``post_mortem`` opens ``pdb`` in the
failing factory's frame (``pysetl run --pdb``).

Added in 0.6.
"""

from __future__ import annotations

import pdb  # noqa: T100 - pysetl run --pdb is a debugger, on purpose
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, ConfigDict, Field

from pysetl.logs import debug_enabled
from pysetl.monitoring.runs import SAMPLE_EVENT
from pysetl.workflow._sample import MAX_SAMPLE_ROWS, OutputSampler
from pysetl.workflow.checkpoint import CHECKPOINTS_DIR, CheckpointStore
from pysetl.workflow.factory import Factory

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType, TracebackType

    from pysetl.config import ResolvedConfig
    from pysetl.monitoring.history import HistoryRecorder
    from pysetl.runtime._session import Session
    from pysetl.workflow import Pipeline

__all__ = [
    "CHECKPOINTS_SECTION",
    "DEBUG_SECTION",
    "CheckpointsSection",
    "DebugSection",
    "FactoryPdb",
    "add_sampler",
    "checkpoint_store",
    "failing_factory_frame",
    "post_mortem",
    "sample_size",
    "sampler",
    "use_checkpoints",
]

CHECKPOINTS_SECTION = "checkpoints"
DEBUG_SECTION = "debug"
_FROZEN = ConfigDict(extra="forbid", frozen=True)


class CheckpointsSection(BaseModel):
    """The ``checkpoints:`` section (see the module docstring)."""

    model_config = _FROZEN

    enabled: bool = False
    keep: int = Field(default=3, ge=1)
    path: str = CHECKPOINTS_DIR


class DebugSection(BaseModel):
    """The ``debug:`` section (see the module docstring)."""

    model_config = _FROZEN

    sample_rows: int = Field(default=0, ge=0, le=MAX_SAMPLE_ROWS)


def _section(config: ResolvedConfig | None, name: str, model: type[Any]) -> Any:
    if config is None or config.get(name) is None:
        return model()
    return config.section(name, model)


def checkpoint_store(
    config: ResolvedConfig | None,
    project_root: Path,
    *,
    enabled: bool | None = None,
    reads: bool = False,
) -> CheckpointStore | None:
    """The store of a run: writing when enabled, only reading when it ``reads``.

    Args:
        config: The project config (its ``checkpoints`` section).
        project_root: The project folder (``path`` is relative to it).
        enabled: ``--checkpoint/--no-checkpoint``; default: the config.
        reads: The run reads stages back (``--only``, ``--from-stage``,
            ``--resume``).

    Raises:
        ConfigError: The section is malformed (the message names the key).
    """
    section: CheckpointsSection = _section(
        config, CHECKPOINTS_SECTION, CheckpointsSection
    )
    write = section.enabled if enabled is None else enabled
    if not (write or reads):
        return None
    return CheckpointStore(project_root / section.path, keep=section.keep, write=write)


def use_checkpoints(
    pipeline: Pipeline,
    config: ResolvedConfig | None,
    project_root: Path,
    *,
    enabled: bool | None,
    reads: bool,
) -> None:
    """Give ``pipeline`` the run's checkpoint store (see ``checkpoint_store``).

    ``enabled=False`` (``--no-checkpoint``) turns off the checkpoints the
    pipeline function asked for; ``None`` keeps them.

    Raises:
        ConfigError: The ``checkpoints`` section is malformed.
    """
    store = checkpoint_store(config, project_root, enabled=enabled, reads=reads)
    if store is not None or enabled is False:
        pipeline.checkpoint = store


def add_sampler(
    session: Session, config: ResolvedConfig | None, rows: int | None
) -> None:
    """Register an ``OutputSampler`` on the session when sampling is asked for.

    Raises:
        ConfigError: The ``debug`` section is malformed.
    """
    size = sample_size(config, rows)
    if size:
        session.hooks.register(sampler(size, session.recorder), name="pysetl-sampler")


def sample_size(config: ResolvedConfig | None, rows: int | None) -> int:
    """Rows to sample per factory: ``--sample``, else the config in debug mode.

    Raises:
        ConfigError: The ``debug`` section is malformed.
    """
    if rows is not None:
        return rows
    section: DebugSection = _section(config, DEBUG_SECTION, DebugSection)
    return section.sample_rows if debug_enabled() else 0


def sampler(rows: int, recorder: HistoryRecorder | None) -> OutputSampler:
    """An ``OutputSampler`` whose samples the ``recorder`` keeps as events."""
    if recorder is None:
        return OutputSampler(rows)
    from pysetl.monitoring.history import AddEvent  # noqa: PLC0415 - monitoring extra

    def record(
        *, run_id: str, stage_id: int, factory_name: str, rows: list[Any]
    ) -> None:
        data = {"rows": rows, "count": len(rows)}
        recorder.submit(
            AddEvent(
                run_id, time.time(), SAMPLE_EVENT, stage_id, factory_name, data=data
            )
        )

    return OutputSampler(rows, sink=record)


# ------------------------------------------------------------- post-mortem
def failing_factory_frame(error: BaseException) -> tuple[TracebackType, int] | None:
    """The traceback of a factory's failure, and the index of the factory's frame.

    The frame is the deepest one whose ``self`` is a ``Factory`` (the
    ``read``/``process``/``write``/``get`` that raised, or a helper method
    it called); its index counts the traceback's entries from the outermost.
    """
    cause: BaseException | None = error
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    tb = None if cause is None else cause.__traceback__
    if tb is None:
        return None
    found = None
    index = 0
    walk: TracebackType | None = tb
    while walk is not None:
        if isinstance(walk.tb_frame.f_locals.get("self"), Factory):
            found = index
        walk = walk.tb_next
        index += 1
    return (tb, found) if found is not None else (tb, index - 1)


class FactoryPdb(pdb.Pdb):
    """``pdb`` that starts in a chosen frame of the traceback, not the deepest one."""

    def __init__(self, frame_index: int, **kwargs: Any) -> None:
        """``frame_index``: counted from the traceback's outermost entry."""
        super().__init__(**kwargs)
        self._frame_index = frame_index

    def setup(self, f: FrameType | None, tb: TracebackType | None) -> Any:
        """Set up as pdb does, then move to the factory's frame."""
        result = super().setup(f, tb)
        # ``stack`` holds the frames above the traceback too: the traceback's
        # own entries are its last ones.
        depth = 0
        walk = tb
        while walk is not None:
            depth += 1
            walk = walk.tb_next
        target = len(self.stack) - depth + self._frame_index
        if 0 <= target < len(self.stack):
            self.curindex = target
            self.curframe = self.stack[target][0]
            self.curframe_locals = self.curframe.f_locals
        return result


def post_mortem(
    error: BaseException, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> bool:
    """Open ``pdb`` in the failing factory's frame; ``False`` if there is none.

    In that frame ``self`` is the factory; its inputs are its deliveries
    (``self.orders.get()``). ``q`` ends the session.
    """
    found = failing_factory_frame(error)
    if found is None:
        return False
    tb, index = found
    out = stdout or sys.stdout
    frame = _entry(tb, index).tb_frame
    factory = frame.f_locals.get("self")
    where = f"{type(factory).__name__}.{frame.f_code.co_name}()"
    names = (
        [name for name, _ in type(factory).declared_deliveries()]
        if isinstance(factory, Factory)
        else []
    )
    out.write(f"pysetl --pdb: post-mortem in {where}\n")
    if names:
        inputs = ", ".join(f"self.{n}.get()" for n in names)
        out.write(f"  self is the factory; its inputs: {inputs}\n")
    out.flush()
    debugger = FactoryPdb(index, stdin=stdin, stdout=stdout)
    debugger.reset()
    # Quitting pdb clears the thread's trace function: give back the one that
    # was there (a coverage tool's, an IDE's debugger), which must go on.
    tracer = sys.gettrace()
    try:
        debugger.interaction(None, tb)
    finally:
        sys.settrace(tracer)
    return True


def _entry(tb: TracebackType, index: int) -> TracebackType:
    for _ in range(index):
        if tb.tb_next is None:
            break
        tb = tb.tb_next
    return tb
