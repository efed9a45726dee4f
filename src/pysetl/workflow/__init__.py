"""Factories, deliveries, stages and pipelines: the workflow engine."""

from __future__ import annotations

from pysetl.workflow import kpi
from pysetl.workflow.deliverable import Deliverable
from pysetl.workflow.delivery import Delivery
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.external import External
from pysetl.workflow.factory import Factory
from pysetl.workflow.hooks import HookManager, hook_impl
from pysetl.workflow.pipeline import Pipeline
from pysetl.workflow.stage import Stage

__all__ = [
    "Deliverable",
    "Delivery",
    "DeliveryType",
    "External",
    "Factory",
    "HookManager",
    "Pipeline",
    "Stage",
    "hook_impl",
    "kpi",
]
