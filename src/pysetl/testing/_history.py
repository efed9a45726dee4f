"""Run histories for tests, built from real recorded runs.

``record_run`` runs a pipeline under a recording ``Session``, exactly as
``pysetl run`` does, so a test of anything that reads the history (the
dashboard, an exporter, a report) starts from the rows a real run writes
instead of rows written by hand. ``temporary_history`` opens a store of
either local kind for a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.errors import PySetlError
from pysetl.monitoring.history import InMemoryRunHistory, SqliteRunHistory
from pysetl.runtime import Session

if TYPE_CHECKING:
    from pathlib import Path

    from pysetl.config import ResolvedConfig
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.workflow import Pipeline

__all__ = ["HISTORY_KINDS", "record_run", "temporary_history"]

HISTORY_KINDS = ("memory", "sqlite")
"""The kinds ``temporary_history`` opens (and ``pysetl_history`` is parametrized by)."""


def temporary_history(
    kind: str = "memory", directory: Path | None = None
) -> BaseRunHistory:
    """A new, empty run history of ``kind``.

    Args:
        kind: ``"memory"`` (an ``InMemoryRunHistory``) or ``"sqlite"`` (a
            ``SqliteRunHistory`` in ``directory``).
        directory: Where the SQLite file goes (a test's ``tmp_path``).

    Raises:
        ValueError: An unknown kind, or ``"sqlite"`` without a directory.

    Added in 0.5.
    """
    if kind == "memory":
        return InMemoryRunHistory()
    if kind == "sqlite" and directory is not None:
        return SqliteRunHistory(directory / "history.db")
    if kind == "sqlite":
        msg = "a 'sqlite' history needs a directory (pass the test's tmp_path)"
        raise ValueError(msg)
    msg = f"unknown history kind {kind!r}; expected one of {HISTORY_KINDS}"
    raise ValueError(msg)


def record_run(
    pipeline: Pipeline,
    history: BaseRunHistory,
    *,
    check: bool = True,
    config: ResolvedConfig | None = None,
    spark: Any = None,
) -> str:
    """Run ``pipeline`` recorded into ``history``; return the run id.

    The run is observed by a ``Session(history=history, observe=True)``, so
    it records what a real run records (runs, stages, attempts, events,
    metrics, the run's log lines), and the history is complete when this
    returns. The pipeline keeps the session's hook manager, whose recording
    observers are gone once the session is closed.

    Args:
        pipeline: The pipeline to run.
        history: Where the run is recorded (it stays open).
        check: Raise the run's error when it fails (the default); off, a
            failed run is recorded and its id returned all the same.
        config: A resolved project config: its version is recorded with the run.
        spark: The SparkSession the run labels its jobs on.

    Returns:
        The run id (``pipeline.run_id``).

    Raises:
        PySetlError: The run failed and ``check`` is on.

    Examples:
        >>> run_id = record_run(pipeline, InMemoryRunHistory())

    Added in 0.5.
    """
    with Session(history=history, observe=True, config=config, spark=spark) as session:
        pipeline.hooks = session.hooks
        if spark is not None:
            pipeline.spark = spark
        try:
            pipeline.run()
        except PySetlError:
            if check:
                raise
    run_id = pipeline.run_id
    if run_id is None:  # pragma: no cover - run() always sets it first
        msg = "the pipeline did not start a run"
        raise RuntimeError(msg)
    return run_id
