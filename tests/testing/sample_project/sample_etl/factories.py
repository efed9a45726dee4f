"""The factories of the sample project, and the pipeline that chains them."""

from __future__ import annotations

from pyspark.sql import functions as F  # noqa: N812 - the usual Spark spelling
from pyspark.sql.types import DoubleType, LongType, StringType
from typedspark import Column, DataSet, Schema
from typing_extensions import Self

from pysetl.storage.repository import SparkRepository
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline


class Order(Schema):
    day: Column[StringType]
    amount: Column[DoubleType]


class DailyTotal(Schema):
    day: Column[StringType]
    total: Column[DoubleType]
    orders: Column[LongType]


class LoadOrders(Factory[DataSet[Order]]):
    """Reads the orders and drops refunds (amount <= 0)."""

    source = Delivery[SparkRepository[Order]](delivery_id="orders")

    def read(self) -> Self:
        self.orders = self.source.get().load()
        return self

    def process(self) -> Self:
        self.orders = DataSet[Order](self.orders.filter(F.col("amount") > 0))
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataSet[Order]:
        return self.orders


class DailyTotals(Factory[DataSet[DailyTotal]]):
    """Sums the orders of each day and saves the totals."""

    orders = Delivery[DataSet[Order]](producer=LoadOrders)
    sink = Delivery[SparkRepository[DailyTotal]](delivery_id="totals")

    def read(self) -> Self:
        self.data = self.orders.get()
        return self

    def process(self) -> Self:
        totals = self.data.groupBy("day").agg(
            F.sum("amount").alias("total"), F.count("*").alias("orders")
        )
        self.totals = DataSet[DailyTotal](totals)
        return self

    def write(self) -> Self:
        self.sink.get().save(self.totals)
        return self

    def get(self) -> DataSet[DailyTotal]:
        return self.totals


def build_pipeline(
    source: SparkRepository[Order], sink: SparkRepository[DailyTotal]
) -> Pipeline:
    """The sales pipeline, reading ``source`` and saving into ``sink``."""
    return (
        Pipeline(name="sales")
        .set_input_from_deliverable(
            Deliverable[SparkRepository[Order]](source, delivery_id="orders")
        )
        .set_input_from_deliverable(
            Deliverable[SparkRepository[DailyTotal]](sink, delivery_id="totals")
        )
        .add_stage_from_type(LoadOrders)
        .add_stage_from_type(DailyTotals)
    )
