"""A real pysetl pipeline on local Spark, run in its own process by the browser tests.

``python live_pipeline.py HISTORY_DB CONTROL_DIR`` runs pipeline ``live`` once and
records it in the SQLite history ``HISTORY_DB``. The test drives it through files
in ``CONTROL_DIR`` so that every state change happens while a browser watches:

* stage 0 ``Extract`` waits for the file ``extract``, then counts rows in Spark;
* stage 1 ``Transform`` starts a Spark job whose tasks wait for ``transform``
  (the job's task progress is visible in the meantime), records two KPIs;
* stage 2, a factory named like a script-injection payload, fails with an error
  whose message is another payload and which has a hint;
* stage 3 ``Publish`` never runs (it stays pending).

The process writes ``ready`` when the run has started (Spark is up).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession
from typing_extensions import Self

from pysetl import PySetl
from pysetl.errors import PySetlError
from pysetl.monitoring import kpi
from pysetl.monitoring.history import (
    HistoryLogHandler,
    HistoryRecorder,
    SqliteRunHistory,
)
from pysetl.monitoring.metrics import MetricsCollector, SparkProgressSampler
from pysetl.workflow import Delivery, Factory, HookManager

NAME_PAYLOAD = '<img src=x onerror="window.__pwned=1">'
MESSAGE_PAYLOAD = "<script>window.__pwned=1</script>"
HINT = "Fix the input row; <b>bold</b> stays text"
TIMEOUT = 180.0

LOG = logging.getLogger("live.pipeline")


def wait_for(path: Path) -> None:
    """Block until ``path`` exists (the test creates it)."""
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            msg = f"{path} never appeared"
            raise TimeoutError(msg)
        time.sleep(0.02)


def main(history_path: str, control: Path) -> None:  # noqa: C901 - one script
    """Run pipeline ``live`` once, recorded in ``history_path``."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("pysetl-dashboard-live")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    gate = str(control / "transform")

    def task(x: int) -> int:  # runs in Spark's Python worker
        import time as _time
        from pathlib import Path as _Path

        while not _Path(gate).exists():
            _time.sleep(0.05)
        return x

    class Extract(Factory[int]):
        """Waits for the test, then counts rows in Spark."""

        def read(self) -> Self:
            LOG.info("waiting for the source to land")
            wait_for(control / "extract")
            return self

        def process(self) -> Self:
            self.rows = spark.range(0, 5000).count()
            LOG.info("extracted %d rows", self.rows)
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return self.rows

    class Transform(Factory[int]):
        """A Spark job whose tasks wait for the test."""

        rows = Delivery[int](producer=Extract)

        def read(self) -> Self:
            self.n = self.rows.get()
            return self

        def process(self) -> Self:
            LOG.info("transforming %d rows", self.n)
            self.total = spark.sparkContext.parallelize(range(8), 8).map(task).count()
            kpi.gauge("quality_score").set(0.97)
            kpi.counter("rows_rejected").inc(3)
            LOG.warning("suspicious value %s in row 7", MESSAGE_PAYLOAD)
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return self.total

    def explode(self: Factory[int]) -> Factory[int]:
        LOG.error("about to fail on %s", MESSAGE_PAYLOAD)
        msg = f"cannot parse row 7: {MESSAGE_PAYLOAD}"
        raise PySetlError(msg, hint=HINT)

    class IntFactory(Factory[int]):
        """The base of the payload-named factory (``type()`` needs a plain class)."""

        def read(self) -> Self:
            return self

        def process(self) -> Self:
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return 0

    payload = type(
        NAME_PAYLOAD,
        (IntFactory,),
        {
            "__module__": __name__,
            "source": Delivery[int](producer=Transform),
            "process": explode,
        },
    )

    class Publish(Factory[int]):
        """Never runs: the stage before it fails."""

        source = Delivery[int](producer=payload)

        def read(self) -> Self:
            return self

        def process(self) -> Self:
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return 1

    history = SqliteRunHistory(history_path)
    recorder = HistoryRecorder(history, heartbeat_interval=1.0)
    handler = HistoryLogHandler(recorder)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    observers: list[object] = [recorder, MetricsCollector(history=history)]
    observers.extend(spark_progress(history))
    hooks = HookManager(observers=observers)
    context = PySetl.builder().set_spark_session(spark).set_hooks(hooks).getOrCreate()
    pipeline = (
        context.new_pipeline(name="live")
        .add_stage_from_type(Extract)
        .add_stage_from_type(Transform)
        .add_stage_from_type(payload)
        .add_stage_from_type(Publish)
    )
    (control / "ready").write_text("1")
    try:
        pipeline.run()
    except PySetlError:
        LOG.info("failed as planned")
    finally:
        hooks.close()
        logging.getLogger().removeHandler(handler)
        recorder.close()
        history.close()
        spark.stop()


def spark_progress(history: SqliteRunHistory) -> list[object]:
    """The sampler that writes Spark's job progress into the history."""
    return [SparkProgressSampler(history, interval=0.25)]


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
