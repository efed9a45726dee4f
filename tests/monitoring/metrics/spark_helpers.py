"""Helpers of the tests that read Spark's figures: job groups and counted calls."""

from __future__ import annotations

from typing import Any


class Counting:
    """Wraps a JVM object (a Py4J proxy) and notes the names asked of it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.target, name)


def run_in_group(spark: Any, group: str, *queries: Any) -> None:
    """Run each of ``queries`` (callables) under the Spark job group ``group``."""
    sc = spark.sparkContext
    sc.setJobGroup(group, "a test's jobs")
    try:
        for query in queries:
            query()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
