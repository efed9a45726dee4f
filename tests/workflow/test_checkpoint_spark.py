"""Stage checkpoints with Spark: Parquet with its schema, read back without a job."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema

from pysetl.workflow import Delivery, Factory, Pipeline
from pysetl.workflow.checkpoint import CheckpointStore
from pysetl.workflow.spark import job_group


class Person(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class People(Factory[DataSet[Person]]):
    def read(self) -> Any:
        return self

    def process(self) -> Any:
        spark = SparkSession.getActiveSession()
        assert spark is not None
        frame = spark.sql(
            "SELECT * FROM VALUES ('ada', 36), ('alan', 41), ('grace', 85) "
            "AS people(name, age)"
        )
        self.out = DataSet[Person](frame)
        return self

    def write(self) -> Any:
        return self

    def get(self) -> DataSet[Person]:
        return self.out


class Oldest(Factory[str]):
    people = Delivery[DataSet[Person]]()

    def read(self) -> Any:
        return self

    def process(self) -> Any:
        adults = self.people.get().where(F.col("age") > 40)
        self.out = adults.orderBy(F.col("age").desc()).first()["name"]
        return self

    def write(self) -> Any:
        return self

    def get(self) -> str:
        return self.out


def build(store: CheckpointStore, spark: SparkSession) -> Pipeline:
    return (
        Pipeline(checkpoint=store, name="people", spark=spark)
        .add_stage_from_type(People)
        .add_stage_from_type(Oldest)
    )


def test_dataframes_are_parquet_with_their_schema_and_read_back_lazily(spark, tmp_path):
    store = CheckpointStore(tmp_path / "checkpoints")
    tracker = spark.sparkContext.statusTracker()
    first = build(store, spark).run()
    assert first.get_last_output() == "grace"
    run_id = str(first.run_id)
    entry = store.manifest(run_id, 0).entries[0]
    assert (entry.factory, entry.format, entry.rows) == ("People", "parquet", 3)
    assert [f["name"] for f in entry.schema["fields"]] == ["name", "age"]  # type: ignore[index]
    folder = store.stage_dir(run_id, 0) / str(entry.path)
    assert list(folder.glob("*.parquet"))
    manifest = json.loads((folder.parent / "manifest.json").read_text())
    assert manifest["entries"][0]["producer"].endswith(".People")
    # The checkpoint's writes have their own job group, not the factory's.
    own = tracker.getJobIdsForGroup(f"pysetl-checkpoint:{run_id}:People")
    assert list(own)

    ungrouped = set(tracker.getJobIdsForGroup(None))
    again = build(store, spark).run(from_stage=1)
    # Reading Parquet back with its recorded schema starts no job (inferring
    # the schema would: a job outside any factory's group).
    assert set(tracker.getJobIdsForGroup(None)) == ungrouped
    assert again.get_last_output() == "grace"
    [delivered] = again.get_deliverable(DataSet[Person])
    restored = delivered.payload
    assert isinstance(restored, DataSet)  # wrapped in its declared class again
    assert restored.columns == ["name", "age"]
    # Read back: not run, and no job to read it.
    group = job_group(str(again.run_id), "people", "People")[0]
    assert list(tracker.getJobIdsForGroup(group)) == []
    oldest = job_group(str(again.run_id), "people", "Oldest")[0]
    assert list(tracker.getJobIdsForGroup(oldest))
