"""The whole pipeline, recorded in a run history as a real run is."""

from __future__ import annotations

import pytest
from sample_etl.factories import DailyTotal, Order, build_pipeline

from pysetl.testing import MemoryRepository, record_run


@pytest.mark.parametrize("pysetl_history", ["memory", "sqlite"], indirect=True)
def test_a_run_is_recorded(pysetl_spark, pysetl_history, orders):
    sink = MemoryRepository[DailyTotal]()
    pipeline = build_pipeline(MemoryRepository[Order](orders), sink)
    run_id = record_run(pipeline, pysetl_history, spark=pysetl_spark)
    assert pysetl_history.get_run(run_id).status == "succeeded"
    attempts = pysetl_history.list_factory_attempts(run_id).items
    assert [a.factory for a in attempts] == ["LoadOrders", "DailyTotals"]
    assert sink.data.count() == 2
