"""Run the demo pipelines on each Spark master given; print what they wrote as JSON.

Run by the cluster and Spark Connect tests with our venv's Python, in a
process of its own: a JVM holds one SparkContext, and the test session's own
local one (the ``spark`` fixture) must not be replaced.

    python tests/cluster/_pipelines.py < SPEC_JSON

The spec comes on stdin (the history URL holds a password: never on the
command line, where ``ps`` and error messages show it). It holds ``modes``
(``{"name": ..., "master": ...}`` or ``{"name": ..., "remote": "sc://..."}``),
``pipelines`` (names of the project's pipelines: ``flights``, ``tpch``),
``history`` (the run history's URL), ``work`` (a temporary folder) and
``spark`` (extra Spark settings). The pipeline name ``timeout`` is no project
pipeline: it runs ``SlowJob`` (a Spark job whose one task sleeps for
minutes) under a timeout of ``TIMEOUT`` seconds and reports the
``FactoryTimeoutError`` it failed with.

For each mode the script starts one SparkSession, runs each pipeline through
``pysetl.runtime.project.run_project`` (what ``pysetl run`` does: the whole
observability stack, recorded in ``history``), stops the session, and reads
the Parquet reports the run wrote with pyarrow (sorted rows, every value as
text). The last line of its output is
``{"modes": {name: {pipeline: {"run_id", "status", "error", "outputs"}}},
"work": folder}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# The reports each pipeline writes (folder names under PYSETL_DEMO_OUTPUT).
REPORTS = {
    "flights": ("carrier_delays", "route_traffic"),
    "tpch": ("tpch/segment_revenue", "tpch/region_revenue"),
}

TIMEOUT = 5.0
GRACE = 2.0
SLEEP_MS = 300_000  # the task SlowJob's job would run for, if not cancelled


def run_timeout(session: Any, history: str) -> dict[str, Any]:
    """Run ``SlowJob`` under its timeout; what its ``FactoryTimeoutError`` says."""
    from pysetl.errors import FactoryTimeoutError
    from pysetl.runtime import Session
    from pysetl.workflow import Factory
    from pysetl.workflow.retry import FactoryPolicy

    class SlowJob(Factory[int]):
        """One Spark job whose one task sleeps (``Thread.sleep``) for minutes."""

        def read(self) -> SlowJob:
            return self

        def process(self) -> SlowJob:
            sleep = f"reflect('java.lang.Thread', 'sleep', cast({SLEEP_MS} as bigint))"
            self.rows = session.range(1, numPartitions=1).selectExpr(sleep).collect()
            return self

        def write(self) -> SlowJob:
            return self

        def get(self) -> int:
            return len(self.rows)

    # the first parse and job take seconds on a busy host: not in the timeout
    assert session.range(1).selectExpr("reflect('java.lang.Math', 'abs', -2)").first()
    policies = {"SlowJob": FactoryPolicy(timeout=TIMEOUT, grace=GRACE)}
    started = time.perf_counter()
    with Session(history=history, observe=True, spark=session) as observed:
        pipeline = observed.pipeline("timeout", policies=policies)
        pipeline.add_stage_from_type(SlowJob)
        try:
            pipeline.run()
        except FactoryTimeoutError as error:
            failed: FactoryTimeoutError | None = error
        else:
            failed = None
    return {
        "run_id": pipeline.run_id,
        "seconds": time.perf_counter() - started,
        "timeout": TIMEOUT,
        "grace": GRACE,
        "sleep_seconds": SLEEP_MS / 1000,
        "error": None
        if failed is None
        else {
            "type": type(failed).__name__,
            "message": str(failed),
            "hint": failed.hint,
            "abandoned": failed.abandoned,
            "elapsed": failed.elapsed,
            "causes": causes_of(failed),
        },
    }


def causes_of(error: BaseException) -> list[str]:
    """``Type: message`` of each error that ``error`` was raised from."""
    found: list[str] = []
    cause = error.__cause__
    while cause is not None and len(found) < 5:
        found.append(f"{type(cause).__name__}: {str(cause)[:500]}")
        cause = cause.__cause__
    return found


def rows_of(folder: Path) -> list[list[str]]:
    """A Parquet folder's rows, every value as text, sorted."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    rows = [[str(value) for value in row] for row in zip(*columns, strict=True)]
    return [table.column_names, *sorted(rows)]


def session_for(mode: dict[str, Any], extra: dict[str, str]) -> Any:
    """The mode's SparkSession: on a master (classic) or a Connect server."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"pysetl-{mode['name']}")
    if "remote" in mode:
        return builder.remote(mode["remote"]).getOrCreate()
    builder = builder.master(mode["master"])
    for key, value in extra.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main() -> int:
    """Run every pipeline in every mode; print the outputs as JSON."""
    spec = json.loads(sys.stdin.read())
    sys.path.insert(0, str(ROOT))
    from pysetl.runtime.project import run_project

    work = Path(spec["work"])
    os.environ["PYSETL_DEMO_RAW"] = str(work / "raw")
    os.environ["PYSETL_TPCH_DATA"] = str(work / "tpch-data")
    found: dict[str, Any] = {}
    for mode in spec["modes"]:
        out = work / mode["name"]
        os.environ["PYSETL_DEMO_OUTPUT"] = str(out)
        started = time.perf_counter()
        session = session_for(mode, spec.get("spark", {}))
        results: dict[str, Any] = {"session_seconds": time.perf_counter() - started}
        try:
            for name in spec["pipelines"]:
                if name == "timeout":
                    results[name] = run_timeout(session, spec["history"])
                    continue
                started = time.perf_counter()
                report = run_project(
                    name,
                    env="dev",
                    project_dir=ROOT,
                    history=spec["history"],
                    observe=True,
                )
                error = report.error
                results[name] = {
                    "run_id": report.run_id,
                    "status": report.status,
                    "seconds": time.perf_counter() - started,
                    "error": None
                    if error is None
                    else f"{type(error).__name__}: {error}",
                    "outputs": {
                        report_name: rows_of(out / report_name)
                        for report_name in REPORTS[name]
                        if report.status == "succeeded"
                    },
                }
        finally:
            session.stop()
        found[mode["name"]] = results
    print(json.dumps({"modes": found, "work": str(work)}))  # noqa: T201 - the result, for the test
    return 0


if __name__ == "__main__":
    sys.exit(main())
