"""Data the sample project's tests share."""

from __future__ import annotations

import pytest
from sample_etl.factories import Order


@pytest.fixture
def orders(pysetl_spark):
    """Three orders over two days, and one refund."""
    return pysetl_spark.createDataFrame(
        [
            ("2024-01-01", 10.0),
            ("2024-01-01", 2.5),
            ("2024-01-02", 0.1),
            ("2024-01-02", -4.0),
        ],
        Order.get_structtype(),
    )
