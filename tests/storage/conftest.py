"""Fixtures of the storage tests: a real PostgreSQL server, sample data, schemas.

The PostgreSQL server is started once per test session from the Debian
packages ``postgresql`` (server binaries) and ``libpostgresql-jdbc-java``
(the JDBC jar on the Spark classpath). When they are missing the fixture
fails, naming the packages: CI installs them, and a silent skip would hide
that the JDBC connector went untested.
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

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType
from typedspark import Column, Schema

POSTGRES_JAR = Path("/usr/share/java/postgresql.jar")
PACKAGES_HINT = (
    "install the Debian packages 'postgresql' and 'libpostgresql-jdbc-java' "
    "(apt-get install -y postgresql libpostgresql-jdbc-java) before running the tests"
)


class Person(Schema):
    id: Column[LongType]
    name: Column[StringType]
    country: Column[StringType]


PEOPLE = [(1, "Ada", "UK"), (2, "Grace", "US"), (3, "Alan", "UK")]


@pytest.fixture
def people(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(PEOPLE, "id long, name string, country string")


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
    if not POSTGRES_JAR.exists():
        pytest.fail(
            f"The PostgreSQL JDBC jar {POSTGRES_JAR} is missing: {PACKAGES_HINT}"
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
