"""``local_spark_session``: a SparkSession tuned for fast, quiet tests.

pyspark is imported when the function is called, not when the module is.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

__all__ = ["TEST_SPARK_CONF", "local_spark_session"]

TEST_SPARK_CONF: dict[str, str] = {
    # One core and one partition: test data is tiny, and each extra task or
    # shuffle partition costs milliseconds of scheduling for nothing.
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
}
"""The settings ``local_spark_session`` applies before the caller's own."""


def local_spark_session(
    *,
    app_name: str = "pysetl-tests",
    work_dir: Path | None = None,
    conf: dict[str, str] | None = None,
    log_level: str = "ERROR",
) -> SparkSession:
    """A ``local[1]`` SparkSession: one core, no UI, one shuffle partition, quiet.

    It reuses a session already running in the process (``getOrCreate``),
    as Spark allows only one per JVM.

    Args:
        app_name: The application name.
        work_dir: Where the Spark warehouse and the Derby metastore go (a
            temporary folder), so tests never write into the project.
        conf: More settings, applied after ``TEST_SPARK_CONF``.
        log_level: Spark's log level (``"ERROR"``: only errors are printed).

    Raises:
        ImportError: pyspark is not installed (with the extra to install).

    Added in 0.5.
    """
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415 - only when asked for
    except ImportError as exc:
        msg = "a Spark session needs pyspark: pip install 'pysetl[spark]'"
        raise ImportError(msg) from exc
    # One Python thread per JVM thread, so job groups set by a factory stay
    # with its own jobs.
    os.environ.setdefault("PYSPARK_PIN_THREAD", "true")
    settings = dict(TEST_SPARK_CONF)
    if work_dir is not None:
        settings["spark.sql.warehouse.dir"] = str(work_dir / "warehouse")
        settings["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={work_dir}"
    settings.update(conf or {})
    builder = SparkSession.builder.master("local[1]").appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(log_level)
    return session
