"""A sample pysetl project for the project view's tests: ``make_project(folder)``.

Three pipelines, registered in ``[tool.pysetl.pipelines]``, none needing
Spark to build or to run:

* ``orders``: ``LoadOrders`` (stage 0) feeds ``CleanOrders`` (stage 1),
  which feeds ``CountOrders`` and ``FlagOrders`` (stage 2, side by side);
  ``CountOrders`` also takes the external input ``min_amount``; ``FlagOrders``
  holds a config with a password; one docstring is an HTML payload. With
  ``--param fail=1`` ``CountOrders`` fails;
* ``reports``: a factory typed ``DataSet[OrderRow]`` (a typedspark schema)
  that reads a ``Summary`` dataclass;
* ``broken``: its function raises (a pipeline that cannot be built).

Each project gets its own module name, so several projects in one test
session never share an imported module.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

__all__ = ["DOC_PAYLOAD", "SECRET", "make_project"]

DOC_PAYLOAD = "<img src=x onerror='window.__pwned=1'>"
SECRET = "pw-4f8a1c-never-shown"  # noqa: S105 - a planted canary, not a secret
_NUMBERS = itertools.count()

MODULE = '''
"""The shop's pipelines (a sample project)."""

from dataclasses import dataclass

from pyspark.sql.types import DoubleType, LongType, StringType
from typedspark import Column, DataSet, Schema

from pysetl.config import CsvConfig
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage


class OrderRow(Schema):
    """One order."""

    id: Column[LongType]
    customer: Column[StringType]
    amount: Column[DoubleType]


@dataclass
class Summary:
    """How many orders, and their total."""

    orders: int
    total: float


class Base:
    def read(self):
        return self

    def write(self):
        return self


class LoadOrders(Base, Factory[list[dict]]):
    """Reads the orders of the day from the landing folder."""

    def process(self):
        self.rows = [{"id": 1, "amount": 12.5}, {"id": 2, "amount": -1.0},
                     {"id": 3, "amount": 40.0}]
        return self

    def get(self):
        return self.rows


class CleanOrders(Base, Factory[list[dict]]):
    """Drops the orders with a negative amount."""

    orders = Delivery[list[dict]](producer=LoadOrders)

    def process(self):
        self.rows = [r for r in self.orders.get() if r["amount"] >= 0]
        return self

    def get(self):
        return self.rows


class CountOrders(Base, Factory[Summary]):
    """Counts the clean orders DOC_PAYLOAD above the minimum amount."""

    orders = Delivery[list[dict]](producer=CleanOrders)
    minimum = Delivery[float](delivery_id="min_amount")
    fail = False

    def process(self):
        if self.fail:
            raise ValueError("the orders file is truncated")
        rows = [r for r in self.orders.get() if r["amount"] >= self.minimum.get()]
        self.summary = Summary(len(rows), sum(r["amount"] for r in rows))
        return self

    def get(self):
        return self.summary


class FlagOrders(Base, Factory[int]):
    """Flags the big orders for review."""

    orders = Delivery[list[dict]](producer=CleanOrders)

    def __init__(self):
        self.target = CsvConfig(path="/data/flags.csv", password="SECRET")

    def process(self):
        self.flagged = sum(1 for r in self.orders.get() if r["amount"] > 30)
        return self

    def get(self):
        return self.flagged


class Report(Base, Factory[DataSet[OrderRow]], check_output=False):
    """The orders as a typed Spark dataset."""

    summary = Delivery[Summary]()

    def process(self):
        return self

    def get(self):
        return None


def build_orders(params):
    """The daily orders: load, clean, then count and flag."""
    CountOrders.fail = params.get("fail") == "1"
    last = Stage().add_factory_from_type(CountOrders).add_factory_from_type(FlagOrders)
    return (
        Pipeline()
        .set_input_from_deliverable(Deliverable[float](10.0, delivery_id="min_amount"))
        .add_stage_from_type(LoadOrders)
        .add_stage_from_type(CleanOrders)
        .add_stage(last)
    )


def build_reports():
    """The typed reports (their summary comes from outside)."""
    return Pipeline(name="reports").add_stage_from_type(Report)


def build_broken():
    """A pipeline whose function fails."""
    raise RuntimeError("the catalog is missing")
'''


def make_project(folder: Path) -> tuple[Path, str]:
    """Write the sample project into ``folder``; its root and module name."""
    module = f"shop_etl_{next(_NUMBERS)}"
    folder.mkdir(parents=True, exist_ok=True)
    source = MODULE.replace("DOC_PAYLOAD", DOC_PAYLOAD)
    source = source.replace('"SECRET"', repr(SECRET))
    (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "shop"
            version = "0.1.0"

            [tool.pysetl]
            default = "orders"

            [tool.pysetl.pipelines]
            orders = "{module}:build_orders"
            reports = "{module}:build_reports"
            broken = "{module}:build_broken"
            """
        ),
        encoding="utf-8",
    )
    return folder, module
