"""Spark job groups: every Spark job of a factory names pysetl, the run, the factory.

pyspark is never imported here: if the program has not imported it, no
SparkContext can be running and there is nothing to label.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = [
    "JOB_PROPERTIES",
    "activate",
    "active_session",
    "active_spark_context",
    "clear_job_group",
    "job_group",
    "set_job_group",
]

JOB_PROPERTIES = (
    "spark.jobGroup.id",
    "spark.job.description",
    "spark.job.interruptOnCancel",
    "pysetl.run_id",
    "pysetl.pipeline",
    "pysetl.factory",
)


def active_spark_context() -> Any | None:
    """The running classic SparkContext, or ``None`` (no JVM is ever started)."""
    if "pyspark" not in sys.modules:
        return None
    if _CONTEXT_CLASS:
        return _CONTEXT_CLASS[0]._active_spark_context  # noqa: SLF001 - no accessor
    from pyspark import SparkContext  # noqa: PLC0415 - only when already loaded

    _CONTEXT_CLASS.append(SparkContext)  # asked per factory: import once
    return SparkContext._active_spark_context  # noqa: SLF001 - no public accessor


_CONTEXT_CLASS: list[Any] = []


def active_session() -> Any | None:
    """The current thread's active SparkSession, or ``None`` (no JVM is started)."""
    if active_spark_context() is None:
        return None
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only when already loaded

    return SparkSession.getActiveSession()


def activate(session: Any) -> None:
    """Make ``session`` the active one of the current (pool) thread.

    Spark keeps the active session per JVM thread, and a pool thread has its
    own, so ``SparkSession.getActiveSession()`` would return ``None`` in a
    factory of a parallel stage. PySpark offers no public setter; this does
    what PySpark itself does when it creates a DataFrame.
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only when already loaded

    jvm_class = SparkSession._get_j_spark_session_class(session._jvm)  # noqa: SLF001
    jvm_class.setActiveSession(session._jsparkSession)  # noqa: SLF001


def job_group(
    run_id: str, pipeline: str, factory: str, attempt: int = 1
) -> tuple[str, str]:
    """The job group id and description of one factory attempt of one run.

    The first attempt's group is ``pysetl:<run id>:<factory>``; a retry's
    ends in ``@<attempt>``, so that each attempt's Spark jobs are its own
    (changed in 0.6).
    """
    if attempt == 1:
        return (
            f"pysetl:{run_id}:{factory}",
            f"pysetl / {pipeline} / {factory} / {run_id}",
        )
    return (
        f"pysetl:{run_id}:{factory}@{attempt}",
        f"pysetl / {pipeline} / {factory} (attempt {attempt}) / {run_id}",
    )


def set_job_group(
    spark_context: Any,
    run_id: str,
    pipeline: str,
    factory: str,
    attempt: int = 1,
    *,
    interrupt: bool = False,
) -> None:
    """Label the Spark jobs that the current thread triggers from now on.

    ``interrupt``: cancelling the group interrupts the tasks' threads
    (``interruptOnCancel``), as a factory's timeout asks.
    """
    group, description = job_group(run_id, pipeline, factory, attempt)
    spark_context.setJobGroup(group, description, interrupt)
    spark_context.setLocalProperty("pysetl.run_id", run_id)
    spark_context.setLocalProperty("pysetl.pipeline", pipeline)
    spark_context.setLocalProperty("pysetl.factory", factory)


def clear_job_group(spark_context: Any) -> None:
    """Remove the labels of the current thread (pool threads are reused)."""
    for key in JOB_PROPERTIES:
        spark_context.setLocalProperty(key, None)
