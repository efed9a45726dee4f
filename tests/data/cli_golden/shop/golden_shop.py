"""The golden shop's pipeline: load, clean, then count and flag the orders.

``pysetl run orders --param fail=1`` makes ``CountOrders`` fail (a failed run
for the golden run history of ``tests/cli/test_golden_outputs.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage

LOGGER = logging.getLogger("golden_shop")
Rows = list[dict[str, Any]]


class LoadOrders(Factory[Rows]):
    """Reads the orders of the day."""

    def read(self) -> LoadOrders:
        """Nothing to read: the orders are made here."""
        return self

    def process(self) -> LoadOrders:
        """Three orders, one of them negative."""
        self.rows = [
            {"id": 1, "amount": 12.5},
            {"id": 2, "amount": -1.0},
            {"id": 3, "amount": 40.0},
        ]
        LOGGER.info("loaded %d orders", len(self.rows))
        return self

    def write(self) -> LoadOrders:
        """Nothing to write."""
        return self

    def get(self) -> Rows:
        """The orders."""
        return self.rows


class CleanOrders(Factory[Rows]):
    """Drops the orders with a negative amount."""

    orders = Delivery[Rows](producer=LoadOrders)

    def read(self) -> CleanOrders:
        """Nothing to read."""
        return self

    def process(self) -> CleanOrders:
        """Keep the orders with a non-negative amount."""
        self.rows = [r for r in self.orders.get() if r["amount"] >= 0]
        LOGGER.warning("dropped %d orders", len(self.orders.get()) - len(self.rows))
        return self

    def write(self) -> CleanOrders:
        """Nothing to write."""
        return self

    def get(self) -> Rows:
        """The clean orders."""
        return self.rows


class CountOrders(Factory[int]):
    """Counts the clean orders above the minimum amount."""

    orders = Delivery[Rows](producer=CleanOrders)
    minimum = Delivery[float](delivery_id="min_amount")
    fail = False

    def read(self) -> CountOrders:
        """Nothing to read."""
        return self

    def process(self) -> CountOrders:
        """Count, or fail when the run was asked to."""
        if self.fail:
            msg = "the orders file is truncated"
            raise ValueError(msg)
        minimum = self.minimum.get()
        self.count = sum(1 for r in self.orders.get() if r["amount"] >= minimum)
        return self

    def write(self) -> CountOrders:
        """Nothing to write."""
        return self

    def get(self) -> int:
        """How many orders."""
        return self.count


class FlagOrders(Factory[int]):
    """Flags the big orders for review."""

    orders = Delivery[Rows](producer=CleanOrders)

    def read(self) -> FlagOrders:
        """Nothing to read."""
        return self

    def process(self) -> FlagOrders:
        """Count the orders above 30."""
        self.flagged = sum(1 for r in self.orders.get() if r["amount"] > 30)
        return self

    def write(self) -> FlagOrders:
        """Nothing to write."""
        return self

    def get(self) -> int:
        """How many flagged orders."""
        return self.flagged


def build_orders(params: dict[str, str]) -> Pipeline:
    """The daily orders: load, clean, then count and flag side by side."""
    CountOrders.fail = params.get("fail") == "1"
    last = Stage().add_factory_from_type(CountOrders).add_factory_from_type(FlagOrders)
    return (
        Pipeline(name="orders")
        .set_input_from_deliverable(Deliverable[float](10.0, delivery_id="min_amount"))
        .add_stage_from_type(LoadOrders)
        .add_stage_from_type(CleanOrders)
        .add_stage(last)
    )
