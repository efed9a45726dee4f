"""``pysetl run`` for debugging: checkpoints, --resume, --only, --sample, --pdb."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import app
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime.project import run_project
from pysetl.utils.redaction import MASK
from pysetl.workflow.spark import job_group

_NAMES = itertools.count()

SPARK_PIPELINE = """
from pyspark.sql import DataFrame, SparkSession, functions as F
from pysetl.workflow import Delivery, Factory, Pipeline


class Orders(Factory[DataFrame]):
    def read(self):
        return self

    def process(self):
        spark = SparkSession.getActiveSession()
        self.df = spark.range(60).withColumn("amount", F.col("id") * 2)
        self.df = self.df.withColumn("password", F.lit("hunter2-secret"))
        return self

    def write(self):
        self.count = self.df.count()  # a Spark job of its own
        return self

    def get(self):
        return self.df


class Totals(Factory[DataFrame]):
    orders = Delivery[DataFrame](producer=Orders)

    def read(self):
        return self

    def process(self):
        grouped = self.orders.get().groupBy((F.col("id") % 3).alias("k"))
        self.df = grouped.agg(F.sum("amount").alias("total")).orderBy("k")
        return self

    def write(self):
        self.count = self.df.count()
        return self

    def get(self):
        return self.df


class Report(Factory[int]):
    totals = Delivery[DataFrame](producer=Totals)

    def read(self):
        return self

    def process(self):
        if FAIL:
            raise RuntimeError("the report's printer is out of paper")
        self.n = sum(row.total for row in self.totals.get().collect())
        return self

    def write(self):
        return self

    def get(self):
        return self.n


FAIL = False


def build(spark, params):
    global FAIL
    FAIL = params.get("fail") == "1"
    return (
        Pipeline(name="sales")
        .add_stage_from_type(Orders)
        .add_stage_from_type(Totals)
        .add_stage_from_type(Report)
    )
"""

PURE_PIPELINE = """
from pysetl.workflow import Delivery, Factory, Pipeline


class Numbers(Factory[list]):
    def read(self):
        return self

    def process(self):
        self.out = [4, 8, 15, 16, 23, 42]
        return self

    def write(self):
        return self

    def get(self):
        return self.out


class Average(Factory[float]):
    numbers = Delivery[list]()

    def read(self):
        self.values = self.numbers.get()
        return self

    def process(self):
        self.out = sum(self.values) / (len(self.values) - 6)
        return self

    def write(self):
        return self

    def get(self):
        return self.out


def build():
    return Pipeline().add_stage_from_type(Numbers).add_stage_from_type(Average)
"""


def _project(tmp_path: Path, source: str, target: str) -> str:
    module = f"debug_etl_{next(_NAMES)}"
    (tmp_path / f"{module}.py").write_text(source)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.pysetl]\n[tool.pysetl.pipelines]\nmain = "{module}:{target}"\n'
    )
    return module


@pytest.fixture
def spark_project(tmp_path, monkeypatch, spark):
    _project(tmp_path, SPARK_PIPELINE, "build")
    # The proofs read Spark's status tracker: no metrics to wait for.
    conf = tmp_path / "conf" / "base"
    conf.mkdir(parents=True)
    (conf / "monitoring.yaml").write_text(
        "monitoring:\n  metrics: {enabled: false}\n  progress: {enabled: false}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path


def _jobs(spark, run_id: str, factory: str) -> list[int]:
    tracker = spark.sparkContext.statusTracker()
    return list(tracker.getJobIdsForGroup(job_group(run_id, "sales", factory)[0]))


class TestResume:
    def test_a_resumed_run_reads_completed_stages_back_and_runs_no_job_for_them(
        self, spark_project, spark
    ):
        failed = run_project(params={"fail": "1"}, checkpoint=True)
        assert failed.status == "failed"
        assert "out of paper" in str(failed.error), failed.error
        assert failed.run_id is not None
        assert _jobs(spark, failed.run_id, "Orders")
        assert _jobs(spark, failed.run_id, "Totals")
        checkpoint = spark_project / ".pysetl" / "checkpoints" / failed.run_id
        assert sorted(p.name for p in checkpoint.glob("stage-*")) == [
            "stage-0",
            "stage-1",
        ]

        resumed = run_project(resume=failed.run_id)
        assert resumed.status == "succeeded", resumed.error
        assert resumed.run_id is not None
        # The completed stages ran no Spark job: not their factories' own,
        # nor one to read them back (Parquet read with its recorded schema).
        assert _jobs(spark, resumed.run_id, "Orders") == []
        assert _jobs(spark, resumed.run_id, "Totals") == []
        assert _jobs(spark, resumed.run_id, "Report")
        assert [line.name for line in resumed.factories] == ["Report"]

        history = SqliteRunHistory(spark_project / ".pysetl" / "history.db")
        try:
            run = history.get_run(resumed.run_id)
            assert run.resumed_from == failed.run_id
            attempts = history.list_factory_attempts(resumed.run_id).items
            assert [a.factory for a in attempts] == ["Report"]
            console = Console(record=True, width=200)
            commands.show_run(history, resumed.run_id, console=console)
            text = console.export_text()
            assert f"resumed from    {failed.run_id}" in text
            assert "Skipped factories" in text
            restored = f"restored from the checkpoint of run {failed.run_id}"
            assert text.count(restored) == 2  # Orders and Totals
        finally:
            history.close()

    def test_sampling_records_redacted_rows_and_costs_no_job_when_off(
        self, spark_project, spark
    ):
        plain = run_project()
        assert plain.run_id is not None
        tracker = spark.sparkContext.statusTracker()
        group = f"pysetl-sample:{plain.run_id}:Orders"
        assert list(tracker.getJobIdsForGroup(group)) == []

        sampled = run_project(sample=2)
        assert sampled.run_id is not None
        group = f"pysetl-sample:{sampled.run_id}:Orders"
        assert len(list(tracker.getJobIdsForGroup(group))) == 1
        history = SqliteRunHistory(spark_project / ".pysetl" / "history.db")
        try:
            events = history.list_events(sampled.run_id, name="factory_sample").items
            by_factory = {e.factory: e.data for e in events}
            orders = by_factory["Orders"]
            assert orders["count"] == 2
            assert orders["rows"][0]["id"] == 0
            assert orders["rows"][0]["amount"] == 0
            assert orders["rows"][0]["password"] == MASK
            assert [r["k"] for r in by_factory["Totals"]["rows"]] == [0, 1]
            assert "hunter2-secret" not in str(events)
            logs = history.search_logs(sampled.run_id, factory="Orders").items
            assert any("sample of Orders (2 rows)" in line.message for line in logs)
            assert not any("hunter2-secret" in line.message for line in logs)
            console = Console(record=True, width=200)
            commands.show_run(history, sampled.run_id, console=console)
            assert "Output samples" in console.export_text()
        finally:
            history.close()


class TestOptions:
    def test_only_without_a_checkpoint_says_to_make_one(self, tmp_path, monkeypatch):
        _project(tmp_path, PURE_PIPELINE, "build")
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(app, ["run", "--only", "Average"])
        assert result.exit_code != 0
        assert "No checkpoint of pipeline 'main' has stage 0" in result.output
        assert "pysetl run --checkpoint" in result.output

    def test_they_are_in_the_help(self):
        result = CliRunner().invoke(app, ["run", "--help"])
        for option in ("--checkpoint", "--only", "--from-stage", "--resume"):
            assert option in result.output
        assert "--sample" in result.output
        assert "--pdb" in result.output


class TestPdb:
    def test_pdb_opens_in_the_failing_factory_with_its_inputs(self, tmp_path):
        """A real ``pysetl run --pdb`` process, driven through its stdin."""
        _project(tmp_path, PURE_PIPELINE, "build")
        env = {**os.environ, "PYSETL_OBSERVE": "0", "COLUMNS": "200"}
        script = "from pysetl.cli.__main__ import main; main()"
        commands_in = textwrap.dedent(
            """\
            p type(self).__name__, self.numbers.get()
            p self.values[-1]
            q
            """
        )
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", script, "run", "--pdb"],
            input=commands_in,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
            check=False,
        )
        out = done.stdout
        assert "post-mortem in Average.process()" in out, out + done.stderr
        assert "its inputs: self.numbers.get()" in out
        assert "('Average', [4, 8, 15, 16, 23, 42])" in out
        assert "\n(Pdb) 42\n" in out
        assert "ZeroDivisionError" in out + done.stderr
        assert done.returncode != 0
