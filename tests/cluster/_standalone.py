"""A Spark standalone cluster (one master, N workers) from the installed pyspark.

``standalone_cluster`` starts the deploy ``Master`` and ``Worker`` classes
with ``$SPARK_HOME/bin/spark-class`` on free loopback ports (one core and 1 GB
per worker), waits until the master's web UI (``/json``) lists every worker
as ``ALIVE``, and stops every JVM however the block ends. Logs, work and
config folders live in the given temporary folder, never in the repository.

pyspark's ``spark-class`` ends in ``exec java ...``, so each process started
here is the JVM itself; each runs in its own session so that a stop reaches
whatever it forked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.servers import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def spark_home() -> Path:
    """The installed pyspark's folder (it has ``bin/spark-class`` and ``jars``)."""
    import pyspark

    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-class").is_file():
        pytest.fail(f"{home}/bin/spark-class is missing: reinstall pyspark")
    return home


def spark_env(base: Path) -> dict[str, str]:
    """The environment of a JVM we start: loopback only, config and logs in ``base``."""
    conf = base / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOCAL_HOSTNAME="127.0.0.1",
        SPARK_CONF_DIR=str(conf),  # empty: nothing of the machine's is picked up
        SPARK_LOG_DIR=str(base / "logs"),
        SPARK_PID_DIR=str(base / "pids"),
        SPARK_NO_DAEMONIZE="1",
        # The JVMs are small: the machine is shared.
        SPARK_DAEMON_MEMORY="512m",
        # No REST submission server (a fixed port, 6066): we submit nothing.
        SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",
    )
    env.pop("SPARK_REMOTE", None)
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    return env


@dataclass(frozen=True)
class StandaloneCluster:
    """A running standalone cluster.

    Attributes:
        master_url: ``spark://127.0.0.1:PORT``, for ``spark.master``.
        web_url: The master's web UI (``/json`` lists the workers).
        workers: How many workers registered.
        base: The temporary folder of its logs and work dirs.
    """

    master_url: str
    web_url: str
    workers: int
    base: Path

    def state(self) -> dict[str, object]:
        """The master's status as its web UI's ``/json`` reports it."""
        return _master_json(self.web_url) or {}


def _master_json(web_url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"{web_url}/json", timeout=2) as response:  # noqa: S310 - our own loopback URL
            return json.loads(response.read())  # type: ignore[no-any-return]
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _alive_workers(web_url: str) -> int:
    state = _master_json(web_url)
    if not state:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")  # type: ignore[union-attr]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - pyspark's own launcher, our arguments
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,  # whatever a JVM writes where it runs stays in tmp
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


@contextlib.contextmanager
def standalone_cluster(
    base: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g"
) -> Iterator[StandaloneCluster]:
    """Run a master and ``workers`` workers until the block ends.

    Fails the test (with the end of the JVM's log) when a process exits early
    or the workers do not register within ``READY_TIMEOUT`` seconds.
    """
    env = spark_env(base)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, web_port = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    web_url = f"http://127.0.0.1:{web_port}"
    logs = base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        log = logs / "master.log"
        master = _start(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(web_port),
            ],
            env,
            log,
        )
        processes.append((master, log))
        _wait(lambda: _master_json(web_url) is not None, processes, "the master")
        for k in range(workers):
            work = base / f"work-{k}"
            work.mkdir(parents=True, exist_ok=True)
            log = logs / f"worker-{k}.log"
            worker = _start(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--webui-port",
                    str(free_port()),
                    "--cores",
                    str(cores),
                    "--memory",
                    memory,
                    "--work-dir",
                    str(work),
                    master_url,
                ],
                env,
                log,
            )
            processes.append((worker, log))
        _wait(
            lambda: _alive_workers(web_url) >= workers,
            processes,
            f"{workers} workers registering",
        )
        yield StandaloneCluster(master_url, web_url, workers, base)
    finally:
        for process, _ in reversed(processes):
            _stop(process)


def _wait(
    ready: object,
    processes: list[tuple[subprocess.Popen[bytes], Path]],
    what: str,
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():  # type: ignore[operator]
        for process, log in processes:
            if process.poll() is not None:
                pytest.fail(f"{log.stem} exited ({process.returncode}): {_tail(log)}")
        if time.monotonic() > deadline:
            tails = "\n".join(f"{log.stem}: {_tail(log)}" for _, log in processes)
            pytest.fail(f"waited {READY_TIMEOUT}s for {what}:\n{tails}")
        time.sleep(0.2)


@dataclass(frozen=True)
class ConnectServer:
    """A running Spark Connect server.

    Attributes:
        remote: ``sc://127.0.0.1:PORT``, for ``SparkSession.builder.remote``.
        ui_url: Its driver's web UI (the REST API under ``/api/v1``).
        log: The server's log file.
    """

    remote: str
    ui_url: str
    log: Path


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def connect_server(base: Path, *, master: str = "local[1]") -> Iterator[ConnectServer]:
    """Run a Spark Connect server from the installed pyspark until the block ends.

    ``spark-submit`` runs ``SparkConnectServer`` in the foreground (what
    ``sbin/start-connect-server.sh --wait`` does) on a free loopback port,
    with its web UI on another (the metrics collector reads its REST API).
    pyspark 4 ships the server in its jars (``spark-connect_2.13-*.jar``).
    """
    env = spark_env(base)
    port, ui_port = free_port(), free_port()
    log = base / "logs" / "connect.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = _start(
        [
            str(spark_home() / "bin" / "spark-submit"),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name",
            "Spark Connect server",
            "--master",
            master,
            "--driver-memory",
            "1g",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--conf",
            f"spark.ui.port={ui_port}",
            "--conf",
            "spark.ui.showConsoleProgress=false",
            "--conf",
            "spark.sql.shuffle.partitions=4",
            "--conf",
            f"spark.local.dir={base}",
        ],
        env,
        log,
    )
    processes = [(server, log)]
    try:
        _wait(lambda: _listening(port), processes, "the Spark Connect server")
        yield ConnectServer(
            f"sc://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", log
        )
    finally:
        _stop(server)
