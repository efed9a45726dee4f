"""Fixtures of the cluster tests: a Spark standalone cluster, and a pipeline runner.

``spark_cluster`` starts a master and two workers (one core, 1 GB each) from
the installed pyspark, once per module, and stops them afterwards.
``run_pipelines`` runs ``_pipelines.py`` in a process of its own (this
process's JVM keeps its local SparkContext, the ``spark`` fixture's) and
returns what it printed as JSON. The run history is a fresh schema of the
session's PostgreSQL server (``pg_url``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
import pytest
from tests.cluster._standalone import spark_env, standalone_cluster

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.cluster._standalone import StandaloneCluster

SCRIPT = Path(__file__).with_name("_pipelines.py")
RUN_TIMEOUT = 1200  # a loaded machine; idle, the runs take a minute or two

# Small executors on a shared machine: one core and 512 MB each, the
# driver reachable on loopback only.
CLUSTER_SPARK = {
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.cores.max": "2",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
}


@pytest.fixture(scope="module")
def spark_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StandaloneCluster]:
    """A master and two workers on loopback, stopped at the end of the module."""
    with standalone_cluster(tmp_path_factory.mktemp("standalone")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pg_url_module(postgres: Any) -> Iterator[str]:
    """A PostgreSQL history URL on a fresh schema, dropped at the end of the module."""
    schema = f"c_{uuid.uuid4().hex[:12]}"
    admin = {
        "host": postgres.host,
        "port": postgres.port,
        "user": postgres.user,
        "password": postgres.password,
        "dbname": postgres.database,
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield (
        f"postgresql+psycopg://{postgres.user}:{quote(postgres.password)}"
        f"@{postgres.host}:{postgres.port}/{postgres.database}"
        f"?options=-csearch_path%3D{schema}"
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def run_pipelines_module(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., dict[str, Any]]:
    """``run_pipelines(modes, pipelines, history)``: the runner's JSON output."""
    tmp_path = tmp_path_factory.mktemp("pipelines")

    def run(
        modes: list[dict[str, str]],
        pipelines: list[str],
        history: str,
        spark: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        spec = {
            "modes": modes,
            "pipelines": pipelines,
            "history": history,
            "work": str(tmp_path / "work"),
            "spark": dict(CLUSTER_SPARK, **(spark or {})),
        }
        env = spark_env(tmp_path / "driver")
        env["PYSETL_OBSERVE"] = "1"
        env["PYSETL_SPARK_LOG_LEVEL"] = "ERROR"
        # The spec goes on stdin: the history URL holds a password.
        done = subprocess.run(  # noqa: S603 - our venv's Python, our script
            [sys.executable, str(SCRIPT)],
            input=json.dumps(spec),
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
            cwd=tmp_path,
        )
        if done.returncode != 0:
            pytest.fail(
                f"{SCRIPT.name} exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
            )
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    return run
