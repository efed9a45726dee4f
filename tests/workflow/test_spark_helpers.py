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


class _Calls:
    """Records the cancel calls made on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def cancelJobGroup(self, group: str) -> None:
        self.calls.append(("cancelJobGroup", group))

    def interruptTag(self, tag: str) -> list[str]:
        self.calls.append(("interruptTag", tag))
        return []


class _ConnectSession(_Calls):
    """Looks like a Spark Connect session to ``is_connect``."""


_ConnectSession.__module__ = "pyspark.sql.connect.session"


class TestCancelJobGroup:
    def test_a_spark_context_cancels_the_job_group(self):
        context = _Calls()
        _spark.cancel_job_group(context, "pysetl:01RUN:Load")
        assert context.calls == [("cancelJobGroup", "pysetl:01RUN:Load")]

    def test_a_connect_session_interrupts_the_group_s_operation_tag(self):
        session = _ConnectSession()
        _spark.cancel_job_group(session, "pysetl:01RUN:Load,Copy@2")
        assert session.calls == [("interruptTag", "pysetl:01RUN:Load_Copy@2")]
