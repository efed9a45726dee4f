"""``ExpectedDeliverable``: a delivery described by names, for reports."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExpectedDeliverable"]


@dataclass(frozen=True)
class ExpectedDeliverable:
    """A delivery needed or offered, with its type, producer and consumer as names.

    Changed in 0.2: the pre-flight check no longer uses these records (it
    compares real types, see ``pysetl.workflow._inject``); they remain for the
    ``Pipeline.get_*_deliverables()`` reports.
    """

    deliverable_type: str
    delivery_id: str
    producer: str
    consumer: str | None
