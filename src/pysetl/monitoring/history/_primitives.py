"""``StorePrimitives``: what a run history store implements, and its error wrapper.

``BaseRunHistory`` is the API callers use: it checks the arguments, then
calls one primitive of this class through ``_call``, which wraps the
backend's errors (``foreign_errors``) once into ``RunHistoryError``. A new
store implements the abstract primitives below (see ``_base`` for the
steps); each gets already validated arguments and answers one page.

Added in 0.2 (in ``_base``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pysetl.errors import PySetlError, RunHistoryError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pysetl.monitoring.history._failures import FailureKey
    from pysetl.monitoring.history.ops import Op
    from pysetl.monitoring.history.records import (
        AttemptSummary,
        EventRecord,
        FactoryAttemptRecord,
        FailureRecord,
        LogRecord,
        MetricRecord,
        MetricTotal,
        Page,
        PipelineSummary,
        RunRecord,
        StageRecord,
    )

__all__ = ["StorePrimitives"]

_R = TypeVar("_R")


class StorePrimitives(ABC):
    """The primitives of a store; ``BaseRunHistory`` calls them, callers never do.

    Attributes:
        foreign_errors: The backend's exception types, wrapped into
            ``RunHistoryError`` by ``_call``.
        url: Where the store lives, with any password redacted.
    """

    foreign_errors: ClassVar[tuple[type[Exception], ...]] = ()
    url: str = ""

    @abstractmethod
    def _apply(self, ops: Sequence[Op]) -> None:
        """Write ``ops`` in one transaction."""

    def _write_batch(self, ops: Sequence[Op]) -> None:
        """Write a batch of the writer: ``_apply`` unless the store can salvage."""
        self._apply(ops)

    @abstractmethod
    def _get_run(self, run_id: str) -> RunRecord | None:
        """One run or ``None``."""

    @abstractmethod
    def _list_runs(
        self,
        *,
        pipeline: str | None,
        status: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        cursor: str | None,
        host: str | None = None,
    ) -> Page[RunRecord]:
        """Runs by ``run_id`` descending, those below ``cursor`` (of ``host``)."""

    @abstractmethod
    def _list_stage_runs(
        self, run_id: str, limit: int, after: int | None
    ) -> Page[StageRecord]:
        """Stages by ``stage_id``, those above ``after``."""

    @abstractmethod
    def _list_factory_attempts(
        self, run_id: str, factory: str | None, limit: int, after: int | None
    ) -> Page[FactoryAttemptRecord]:
        """Attempts by ``id``, those above ``after``."""

    @abstractmethod
    def _list_events(
        self,
        run_id: str,
        name: str | None,
        factory: str | None,
        limit: int,
        after: int | None,
    ) -> Page[EventRecord]:
        """Events by ``id``, those above ``after``."""

    @abstractmethod
    def _list_metrics(
        self, run_id: str, name: str | None, limit: int, after: int | None
    ) -> Page[MetricRecord]:
        """Metrics by ``id``, those above ``after``."""

    @abstractmethod
    def _search_logs(
        self,
        *,
        run_id: str | None,
        factory: str | None,
        level: int | None,
        text: str | None,
        limit: int,
        after: int | None,
    ) -> Page[LogRecord]:
        """Log lines by ``id``, those above ``after``, of ``level`` and up."""

    @abstractmethod
    def _list_pipelines(self, limit: int) -> list[PipelineSummary]:
        """Pipelines by name with their run count and latest run."""

    @abstractmethod
    def _latest_runs(
        self, pipeline: str, statuses: tuple[str | None, ...]
    ) -> dict[str | None, RunRecord]:
        """The highest-id run of ``pipeline`` of each status (``None``: any)."""

    @abstractmethod
    def _attempt_summaries(self, run_ids: tuple[str, ...]) -> list[AttemptSummary]:
        """The attempts of ``run_ids`` (not empty) by ``id``."""

    @abstractmethod
    def _metric_totals(
        self,
        run_ids: tuple[str, ...],
        names: tuple[str, ...] | None,
        factory: str | None,
    ) -> list[MetricTotal]:
        """Sum, max and count per run and metric name, by run then name."""

    def _factory_tallies(self, run_ids: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Per run, how many factories have each status (their latest attempt's).

        The latest attempt of a factory is its highest attempt number (the
        later started of equals). This default reads every attempt; SQL
        stores count in the database.
        """
        latest: dict[tuple[str, str], AttemptSummary] = {}
        for attempt in self._attempt_summaries(run_ids):
            key = (attempt.run_id, attempt.factory)
            known = latest.get(key)
            if known is None or attempt.attempt >= known.attempt:
                latest[key] = attempt
        tallies: dict[str, dict[str, int]] = {}
        for (rid, _), attempt in latest.items():
            tally = tallies.setdefault(rid, {})
            tally[attempt.status] = tally.get(attempt.status, 0) + 1
        return tallies

    @abstractmethod
    def _factory_totals(self, run_ids: tuple[str, ...]) -> dict[str, int]:
        """The ``factories`` count of each run's start event, where recorded."""

    @abstractmethod
    def _latest_events(
        self, run_ids: tuple[str, ...], name: str
    ) -> dict[str, EventRecord]:
        """The event ``name`` with the highest id of each run."""

    @abstractmethod
    def _list_failures(
        self,
        *,
        pipeline: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        after: FailureKey | None,
    ) -> Page[FailureRecord]:
        """Failures by ``failure_key`` descending, those below ``after``.

        The page's cursor is ``failure_cursor`` of its last failure.
        """

    @abstractmethod
    def _prune(self, cutoff: float) -> int:
        """Delete finished runs started before ``cutoff`` and all they own."""

    @abstractmethod
    def _schema_version(self) -> int:
        """The schema version."""

    # ---------------------------------------------------------------- helpers
    def _call(
        self, action: str, function: Callable[..., _R], *args: Any, **kwargs: Any
    ) -> _R:
        """Run ``function`` and wrap the backend's errors once into ours."""
        try:
            return function(*args, **kwargs)
        except PySetlError:
            raise
        except self.foreign_errors as exc:
            raise self._wrap(action, exc) from exc

    def _wrap(self, action: str, exc: Exception) -> RunHistoryError:
        """Our error for a backend error ``exc`` raised while doing ``action``."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = (
            f"Cannot {action} the run history {self.url!r}: "
            f"{type(exc).__name__}: {detail}"
        )
        return RunHistoryError(msg, hint=self._hint(exc))

    def _hint(self, exc: Exception) -> str:  # noqa: ARG002 - subclasses use it
        """What the user can do about ``exc``."""
        return (
            "check that the store is reachable and writable, or point "
            "PYSETL_HISTORY_URL (or --history) at another one"
        )
