"""Root fixtures: one SparkSession for the whole test session.

Spark-free tests never request ``spark`` and so never start a JVM. Any test
that uses the fixture is marked ``spark`` automatically, so
``pytest -m "not spark"`` runs the pure-Python suite alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local[1] SparkSession shared by every Spark test, stopped at the end."""
    from pyspark.sql import SparkSession

    work = tmp_path_factory.mktemp("spark")
    os.environ.setdefault("PYSPARK_PIN_THREAD", "true")
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("pysetl-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work}")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if POSTGRES_JDBC_JAR.exists():
        builder = builder.config("spark.jars", str(POSTGRES_JDBC_JAR))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
