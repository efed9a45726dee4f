"""Spark job groups: every Spark job of a factory names pysetl, the run, the factory.

A Spark Connect session has no SparkContext on the client: there the group's
text is an operation tag instead (``SparkSession.addTag``, per thread too),
which the server puts on every Spark job of the thread's operations (as the
job tag ``SparkConnect_SessionTag_..._Tag_<group>``).

pyspark is never imported here: if the program has not imported it, no
SparkContext can be running and there is nothing to label.

Monitoring (metrics, progress, tracing) and the session builder read the same
job groups, so this module is public.

Changed in 0.7: public (it was ``pysetl.workflow._spark``).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = [
    "JOB_PROPERTIES",
    "activate",
    "active_connect_session",
    "active_session",
    "active_spark_context",
    "cancel_job_group",
    "clear_job_group",
    "is_connect",
    "job_group",
    "labels_target",
    "operation_tag",
    "set_job_group",
]

_CONNECT_MODULE = "pyspark.sql.connect"
_TAG_PREFIX = "pysetl:"

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
    """The current thread's active SparkSession, or ``None`` (no JVM is started).

    A Spark Connect session counts (it needs no JVM here).
    """
    if active_spark_context() is None:
        return active_connect_session()
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only when already loaded

    return SparkSession.getActiveSession()


def is_connect(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect session (no SparkContext here)."""
    return type(session).__module__.startswith(_CONNECT_MODULE)


def active_connect_session() -> Any | None:
    """The thread's Spark Connect session, else the process's default one, or ``None``.

    Nothing is imported for it: without ``pyspark.sql.connect`` loaded there
    is no Connect session.
    """
    module = sys.modules.get(f"{_CONNECT_MODULE}.session")
    if module is None:
        return None
    try:
        return module.SparkSession.active()
    except Exception:  # noqa: BLE001 - pyspark's NO_ACTIVE_OR_DEFAULT_SESSION
        return None


def labels_target(session: Any) -> Any | None:
    """What factories' jobs are labelled through: a SparkContext, a Connect session.

    Args:
        session: The run's SparkSession, or ``None`` (then the running
            SparkContext, else the active Connect session).
    """
    if session is None:
        return active_spark_context() or active_connect_session()
    if is_connect(session):
        return session
    try:
        return session.sparkContext
    except Exception:  # noqa: BLE001 - a session object without one
        return None


def activate(session: Any) -> None:
    """Make ``session`` the active one of the current (pool) thread.

    Spark keeps the active session per JVM thread, and a pool thread has its
    own, so ``SparkSession.getActiveSession()`` would return ``None`` in a
    factory of a parallel stage. PySpark offers no public setter; this does
    what PySpark itself does when it creates a DataFrame. A Spark Connect
    session needs nothing: pyspark falls back to its default session in a
    thread that has no active one.
    """
    if is_connect(session):
        return
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


def operation_tag(group: str) -> str:
    """The Spark Connect operation tag of a job group (tags cannot hold commas)."""
    return group.replace(",", "_")


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
    (``interruptOnCancel``), as a factory's timeout asks. ``spark_context``
    may be a Spark Connect session: then the thread's operations are tagged
    with the group's text (``operation_tag``; added in 0.6).
    """
    group, description = job_group(run_id, pipeline, factory, attempt)
    if is_connect(spark_context):
        spark_context.addTag(operation_tag(group))
        return
    spark_context.setJobGroup(group, description, interrupt)
    spark_context.setLocalProperty("pysetl.run_id", run_id)
    spark_context.setLocalProperty("pysetl.pipeline", pipeline)
    spark_context.setLocalProperty("pysetl.factory", factory)


def cancel_job_group(spark_context: Any, group: str) -> None:
    """Cancel the Spark jobs of ``group``, as a factory's timeout asks.

    On a classic SparkContext, ``cancelJobGroup(group)``; on a Spark Connect
    session, ``interruptTag(operation_tag(group))``: the server interrupts
    the operations tagged with the group, of every thread of the session
    (added in 0.7).

    Args:
        spark_context: A SparkContext or a Spark Connect session (what
            ``labels_target`` returns).
        group: The job group's id (``job_group(...)[0]``).
    """
    if is_connect(spark_context):
        spark_context.interruptTag(operation_tag(group))
        return
    spark_context.cancelJobGroup(group)


def clear_job_group(spark_context: Any) -> None:
    """Remove the labels of the current thread (pool threads are reused)."""
    if is_connect(spark_context):  # our tags only: the user's stay
        for tag in list(spark_context.getTags()):
            if tag.startswith(_TAG_PREFIX):
                spark_context.removeTag(tag)
        return
    for key in JOB_PROPERTIES:
        spark_context.setLocalProperty(key, None)
