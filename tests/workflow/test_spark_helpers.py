"""The Spark helpers of the engine, without a JVM."""

from __future__ import annotations

import sys

from pysetl.workflow import spark as _spark


class TestWithoutSpark:
    def test_no_context_when_pyspark_is_not_loaded(self, monkeypatch):
        monkeypatch.delitem(sys.modules, "pyspark", raising=False)
        assert _spark.active_spark_context() is None

    def test_no_session_without_a_context(self, monkeypatch):
        monkeypatch.setattr(_spark, "active_spark_context", lambda: None)
        assert _spark.active_session() is None

    def test_job_group_names_pysetl_run_and_factory(self):
        assert _spark.job_group("01RUN", "daily", "Load") == (
            "pysetl:01RUN:Load",
            "pysetl / daily / Load / 01RUN",
        )
