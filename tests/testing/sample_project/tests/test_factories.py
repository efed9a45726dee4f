"""Each factory on its own: its inputs given, its output and its writes checked."""

from __future__ import annotations

from sample_etl.factories import DailyTotal, DailyTotals, LoadOrders, Order
from typedspark import DataSet

from pysetl.testing import (
    MemoryRepository,
    assert_dataset_equal,
    assert_frame_equal,
    run_factory,
)


def test_load_orders_drops_refunds(pysetl_spark, orders):
    output = run_factory(LoadOrders, inputs={"source": MemoryRepository[Order](orders)})
    expected = pysetl_spark.createDataFrame(
        [("2024-01-02", 0.1), ("2024-01-01", 2.5), ("2024-01-01", 10.0)],
        Order.get_structtype(),
    )
    assert_dataset_equal(output, DataSet[Order](expected))


def test_daily_totals_are_saved(pysetl_spark, orders):
    sink = MemoryRepository[DailyTotal]()
    kept = DataSet[Order](orders.filter("amount > 0"))
    output = run_factory(DailyTotals, inputs={"orders": kept, "sink": sink})
    expected = pysetl_spark.createDataFrame(
        [("2024-01-01", 12.5, 2), ("2024-01-02", 0.1, 1)],
        DailyTotal.get_structtype(),
    )
    assert_frame_equal(output, expected, rel_tol=1e-9)
    assert_frame_equal(sink.data, expected, rel_tol=1e-9)
