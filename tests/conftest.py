"""Root fixtures: one SparkSession for the whole test session.

The PostgreSQL server fixture (``postgres``) starts a throw-away cluster from
Debian's packages once per session, for the JDBC and run-history tests.

Spark-free tests never request ``spark`` and so never start a JVM. Any test
that uses the fixture is marked ``spark`` automatically, so
``pytest -m "not spark"`` runs the pure-Python suite alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from pysetl.testing import reset_state

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Runs are recorded by default (into the project's .pysetl/history.db). The
# suite runs in the repository, which it must not write to: tests of the
# default runtime switch it back on, with a history in a temporary folder.
os.environ["PYSETL_OBSERVE"] = "0"

POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")
PACKAGES_HINT = (
    "install the Debian packages 'postgresql' and 'libpostgresql-jdbc-java' "
    "(apt-get install -y postgresql libpostgresql-jdbc-java) before running the tests"
)


# The suite shares two cores between two workers, Spark and browsers: data
# generation is slow now and then, which says nothing about the code tested.
settings.register_profile(
    "pysetl", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
settings.load_profile("pysetl")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Every test starts from pysetl's import-time state, and leaves it so.

    One reset (``pysetl._state``) for every piece: the default hook manager
    and its runtime, the connector registry, the redactor, the logging that
    ``configure_logging`` set up, the dataset-access listeners, and the
    ``PYSETL_*`` settings (read anew: monkeypatch may set them).
    """
    reset_state()
    yield
    reset_state()


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local[1] SparkSession shared by every Spark test, stopped at the end.

    Built as the plugin's ``pysetl_spark`` is (``local_spark_session``: one
    core, one shuffle partition, no UI, quiet), plus the PostgreSQL JDBC jar.
    """
    from pysetl.testing import local_spark_session

    jars = {"spark.jars": str(POSTGRES_JDBC_JAR)} if POSTGRES_JDBC_JAR.exists() else {}
    session = local_spark_session(work_dir=tmp_path_factory.mktemp("spark"), conf=jars)
    yield session
    session.stop()


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    database: str
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries (initdb) not found: {PACKAGES_HINT}")
    if not POSTGRES_JDBC_JAR.exists():
        pytest.fail(
            f"The PostgreSQL JDBC jar {POSTGRES_JDBC_JAR} is missing: {PACKAGES_HINT}"
        )
    return Path(found[-1]).parent


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster on a free 127.0.0.1 port, with a user and db."""
    bindir = _server_bin()
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    # Not under pytest's tmp dir: that one is private to root (0700), and the
    # server must run as the 'postgres' user when we are root.
    base = Path(tempfile.mkdtemp(prefix="pysetl-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    admin_password = f"admin-{uuid.uuid4().hex}"
    pwfile = base / "pwfile"
    pwfile.write_text(admin_password)
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(pwfile, "postgres")

    def run(*args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            [*run_as, *args], check=True, capture_output=True, timeout=120
        )

    port = _free_port()
    server = PostgresServer(
        host="127.0.0.1",
        port=port,
        database="pysetl",
        user="pysetl",
        password=f"canary-{uuid.uuid4().hex}",
    )
    run(
        str(bindir / "initdb"),
        "-D", str(data),
        "-U", "admin",
        f"--pwfile={pwfile}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E", "UTF8",
    )  # fmt: skip
    run(
        str(bindir / "pg_ctl"),
        "-D", str(data),
        "-l", str(base / "server.log"),
        "-w",
        "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
        "start",
    )  # fmt: skip
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="admin",
            password=admin_password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE USER pysetl PASSWORD {}").format(
                    psycopg.sql.Literal(server.password)
                )
            )
            conn.execute("CREATE DATABASE pysetl OWNER pysetl")
        yield server
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
