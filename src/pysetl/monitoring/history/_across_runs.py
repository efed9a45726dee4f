"""The run history's queries across runs: pipelines, totals, counts, failures.

The dashboard's overview, the alert rules, error analytics and the
Prometheus collector read many runs at once. These queries take one page
of run ids (at most ``MAX_LIMIT``) or page on their own, and each is one
call of a store primitive, so their cost does not grow with the history.

Added in 0.3 (in ``BaseRunHistory``, which inherits them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, final

from pysetl.monitoring.history._checks import MAX_LIMIT, check_limit, check_run_ids
from pysetl.monitoring.history._failures import check_failure_cursor
from pysetl.monitoring.history._primitives import StorePrimitives
from pysetl.monitoring.history.records import FactoryCounts, RunStatus
from pysetl.utils.paging import DEFAULT_LIMIT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.history.records import (
        AttemptSummary,
        EventRecord,
        FailureRecord,
        MetricTotal,
        Page,
        PipelineSummary,
        RunRecord,
    )

__all__ = ["AcrossRunsQueries"]


class AcrossRunsQueries(StorePrimitives):
    """The queries over many runs of ``BaseRunHistory`` (it inherits them)."""

    @final
    def list_pipelines(self, *, limit: int = MAX_LIMIT) -> list[PipelineSummary]:
        """The pipelines of the history by name, each with its run count and last run.

        Added in 0.3.
        """
        return self._call("read from", self._list_pipelines, check_limit(limit))

    @final
    def attempt_summaries(self, run_ids: Sequence[str]) -> list[AttemptSummary]:
        """Every factory attempt of the runs ``run_ids``, in the order they started.

        Args:
            run_ids: At most ``MAX_LIMIT`` run ids (one page of runs).

        Added in 0.3.
        """
        ids = check_run_ids(run_ids)
        return self._call("read from", self._attempt_summaries, ids) if ids else []

    @final
    def metric_totals(
        self,
        run_ids: Sequence[str],
        *,
        names: Sequence[str] | None = None,
        factory: str | None = None,
    ) -> list[MetricTotal]:
        """Each metric of the runs ``run_ids`` summed over the run (and its peak).

        Args:
            run_ids: At most ``MAX_LIMIT`` run ids.
            names: Only these metrics (default: every metric).
            factory: Only the values of this factory (default: all).

        Added in 0.3.
        """
        ids = check_run_ids(run_ids)
        if not ids or (names is not None and not names):
            return []
        wanted = None if names is None else tuple(dict.fromkeys(names))
        return self._call("read from", self._metric_totals, ids, wanted, factory)

    @final
    def latest_events(
        self, run_ids: Sequence[str], name: str
    ) -> dict[str, EventRecord]:
        """The last event called ``name`` of each of the runs ``run_ids`` that has one.

        Added in 0.3.
        """
        ids = check_run_ids(run_ids)
        return self._call("read from", self._latest_events, ids, name) if ids else {}

    @final
    def latest_event(self, run_id: str, name: str) -> EventRecord | None:
        """The last event called ``name`` of the run ``run_id``, if any.

        Added in 0.3.
        """
        return self.latest_events([run_id], name).get(run_id)

    @final
    def latest_runs(
        self, pipeline: str, statuses: Sequence[str | None]
    ) -> dict[str | None, RunRecord | None]:
        """The newest run of ``pipeline`` in each of ``statuses``, in one read.

        ``None`` among ``statuses`` stands for any status. The newest run is
        the one with the highest id, as ``list_runs`` orders them (run ids
        are ULIDs: they sort by start). A status with no run maps to
        ``None``.

        Examples:
            ``history.latest_runs("daily", [None, "succeeded"])`` is the
            pipeline's newest run and its newest successful one.

        Added in 0.9.
        """
        wanted = tuple(dict.fromkeys(statuses))
        found = (
            self._call("read from", self._latest_runs, pipeline, wanted)
            if wanted
            else {}
        )
        return {status: found.get(status) for status in wanted}

    @final
    def factory_counts(self, run_ids: Sequence[str]) -> dict[str, FactoryCounts]:
        """How many factories each run has, and how many succeeded, failed, run.

        A factory counts once, with the status of its latest attempt; the
        total is the pipeline's factory count recorded at run start (the
        ``factories`` of the ``RUN_START_EVENT``) when it is known.

        Added in 0.3. Changed in 0.6: counted by the store (a SQL store
        aggregates in the database: a page of 500 runs reads their counts,
        not their 2,500 attempts).
        """
        ids = check_run_ids(run_ids)
        found = self._call("read from", self._factory_tallies, ids) if ids else {}
        tallies = {rid: found.get(rid, {}) for rid in run_ids}
        totals = self._call("read from", self._factory_totals, ids) if ids else {}
        return {
            rid: FactoryCounts(
                total=max(totals.get(rid, 0), sum(tally.values())),
                succeeded=tally.get(RunStatus.SUCCEEDED, 0),
                failed=tally.get(RunStatus.FAILED, 0) + tally.get(RunStatus.CRASHED, 0),
                running=tally.get(RunStatus.RUNNING, 0),
            )
            for rid, tally in tallies.items()
        }

    @final
    def list_failures(
        self,
        *,
        pipeline: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[FailureRecord]:
        """Failures, latest run start first: what error analytics groups.

        A failure is a failed factory attempt (retried or not), or a failed
        or crashed run that has no failed attempt (a pre-flight error, a
        process that died). Runs started at the same time come by run id,
        descending; within a run, attempts come newest first.

        Args:
            pipeline: Only failures of runs of this pipeline.
            since: Only failures of runs started at or after this time.
            until: Only failures of runs started before this time.
            limit: Page size.
            cursor: ``next_cursor`` of the previous page.

        Added in 0.5.
        """
        return self._call(
            "read from",
            self._list_failures,
            pipeline=pipeline,
            since=since,
            until=until,
            limit=check_limit(limit),
            after=check_failure_cursor(cursor),
        )
