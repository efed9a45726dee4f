"""OpenLineage run events of pysetl runs and factory attempts (client objects).

* The pipeline run is one OpenLineage job, ``<pipeline>``, whose run id is
  the pysetl run id (a ULID is 128 bits, like a UUID: the same bits, written
  as a UUID, so the id sorts by time as a UUIDv7 does);
* each factory attempt is a job ``<pipeline>.<factory>`` with a ``parent``
  facet naming the pipeline's run, and a run id derived from the run's
  (``uuid5`` of stage, factory and attempt: the same attempt gives the same
  id, so its START and COMPLETE events meet);
* every job has a ``jobType`` facet (``BATCH``, integration ``PYSETL``,
  ``PIPELINE`` or ``FACTORY``); a FAIL event has an ``errorMessage`` facet
  (the error, redacted); datasets of typed repositories have a ``schema``
  facet.

Added in 0.4.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from openlineage.client import event_v2
from openlineage.client.facet_v2 import (
    error_message_run,
    job_type_job,
    parent_run,
    schema_dataset,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from openlineage.client.generated.base import DatasetFacet, JobFacet, RunFacet

    from pysetl.monitoring.lineage._datasets import LineageDataset

__all__ = ["INTEGRATION", "EventBuilder", "run_uuid"]

INTEGRATION = "PYSETL"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_DIGITS = {c: i for i, c in enumerate(_CROCKFORD)}
_ULID_LENGTH = 26
# Facets are built once and shared by the events that carry them: each facet
# object checks its producer and schema URLs when it is made (two URL parses).
_MAX_KEPT = 256


@functools.lru_cache(maxsize=256)  # a run's id is turned at each of its events
def run_uuid(run_id: str) -> str:
    """The pysetl run id as a UUID: a ULID's own 128 bits, else a ``uuid5`` of it."""
    value = 0
    if len(run_id) == _ULID_LENGTH:
        for char in run_id.upper():
            digit = _ULID_DIGITS.get(char)
            if digit is None:
                break
            value = value * 32 + digit
        else:
            if value < 1 << 128:
                return str(uuid.UUID(int=value))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pysetl:run:{run_id}"))


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


class EventBuilder:
    """Builds the client's ``RunEvent`` objects for one namespace and producer."""

    def __init__(self, namespace: str, producer: str) -> None:
        """Remember the jobs' namespace and the events' producer URI."""
        self.namespace = namespace
        self.producer = producer
        self._schemas: dict[LineageDataset, dict[str, DatasetFacet]] = {}
        self._job_types: dict[str, job_type_job.JobTypeJobFacet] = {}
        self._parent: tuple[tuple[str, str], parent_run.ParentRunFacet] | None = None

    def factory_run_id(
        self, run_id: str, stage_id: int, factory: str, attempt: int
    ) -> str:
        """The run id of one factory attempt (stable for the attempt)."""
        parent = uuid.UUID(run_uuid(run_id))
        return str(uuid.uuid5(parent, f"{stage_id}:{factory}:{attempt}"))

    def pipeline_event(
        self,
        state: event_v2.RunState,
        *,
        run_id: str,
        pipeline: str,
        timestamp: float,
        error: BaseException | str | None = None,
        inputs: Iterable[LineageDataset] = (),
        outputs: Iterable[LineageDataset] = (),
    ) -> event_v2.RunEvent:
        """A START, COMPLETE or FAIL event of the pipeline's own job."""
        return self._event(
            state,
            run=run_uuid(run_id),
            job=pipeline,
            job_type="PIPELINE",
            timestamp=timestamp,
            error=error,
            inputs=inputs,
            outputs=outputs,
        )

    def factory_event(
        self,
        state: event_v2.RunState,
        *,
        run_id: str,
        pipeline: str,
        stage_id: int,
        factory: str,
        attempt: int,
        timestamp: float,
        error: BaseException | str | None = None,
        inputs: Iterable[LineageDataset] = (),
        outputs: Iterable[LineageDataset] = (),
    ) -> event_v2.RunEvent:
        """A START, COMPLETE or FAIL event of one factory attempt."""
        return self._event(
            state,
            run=self.factory_run_id(run_id, stage_id, factory, attempt),
            job=f"{pipeline}.{factory}",
            job_type="FACTORY",
            timestamp=timestamp,
            error=error,
            inputs=inputs,
            outputs=outputs,
            parent=self._parent_facet(run_id, pipeline),
        )

    def _parent_facet(self, run_id: str, pipeline: str) -> parent_run.ParentRunFacet:
        """The ``parent`` facet of a run's factories (the last run's is kept)."""
        if self._parent is not None and self._parent[0] == (run_id, pipeline):
            return self._parent[1]
        facet = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_uuid(run_id)),
            job=parent_run.Job(namespace=self.namespace, name=pipeline),
            producer=self.producer,
        )
        self._parent = ((run_id, pipeline), facet)
        return facet

    def _event(
        self,
        state: event_v2.RunState,
        *,
        run: str,
        job: str,
        job_type: str,
        timestamp: float,
        error: BaseException | str | None,
        inputs: Iterable[LineageDataset],
        outputs: Iterable[LineageDataset],
        parent: parent_run.ParentRunFacet | None = None,
    ) -> event_v2.RunEvent:
        run_facets: dict[str, RunFacet] = {}
        if parent is not None:
            run_facets["parent"] = parent
        if error is not None:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=str(error),
                programmingLanguage="PYTHON",
                producer=self.producer,
            )
        job_kind = self._job_types.get(job_type)
        if job_kind is None:
            job_kind = self._job_types[job_type] = job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration=INTEGRATION,
                jobType=job_type,
                producer=self.producer,
            )
        job_facets: dict[str, JobFacet] = {"jobType": job_kind}
        return event_v2.RunEvent(
            eventType=state,
            eventTime=_time(timestamp),
            run=event_v2.Run(runId=run, facets=run_facets),
            job=event_v2.Job(namespace=self.namespace, name=job, facets=job_facets),
            inputs=[
                event_v2.InputDataset(d.namespace, d.name, facets=self._facets(d))
                for d in inputs
            ],
            outputs=[
                event_v2.OutputDataset(d.namespace, d.name, facets=self._facets(d))
                for d in outputs
            ],
            producer=self.producer,
        )

    def _facets(self, dataset: LineageDataset) -> dict[str, DatasetFacet]:
        if dataset.fields is None:
            return {}
        facets = self._schemas.get(dataset)
        if facets is None:
            fields = [
                schema_dataset.SchemaDatasetFacetFields(name=name, type=kind)
                for name, kind in dataset.fields
            ]
            schema = schema_dataset.SchemaDatasetFacet(
                fields=fields, producer=self.producer
            )
            if len(self._schemas) >= _MAX_KEPT:
                self._schemas.clear()
            facets = self._schemas[dataset] = {"schema": schema}
        return dict(facets)  # the event's own dict; the facet is shared
