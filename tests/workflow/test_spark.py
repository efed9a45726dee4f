"""The workflow with Spark: job groups, DataFrame payloads, typedspark types."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema

from pysetl.errors import FactoryOutputError, PySetlError
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.node_output import NodeOutput
from pysetl.workflow.spark import job_group

from .conftest import make_factory


class Person(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class Other(Schema):
    name: Column[StringType]


class CountRows(Factory[int]):
    """Triggers a Spark job and records the labels Spark sees."""

    def read(self):
        self.spark = SparkSession.getActiveSession()
        return self

    def process(self):
        sc = self.spark.sparkContext
        self.labels = {
            key: sc.getLocalProperty(key)
            for key in ("spark.jobGroup.id", "spark.job.description", "pysetl.run_id")
        }
        self.count = self.spark.range(7).count()
        return self

    def write(self):
        return self

    def get(self):
        return self.count


class CountMore(CountRows):
    pass


@pytest.fixture
def tracker(spark):
    return spark.sparkContext.statusTracker()


class TestJobGroups:
    def test_every_job_of_a_factory_is_in_its_group(self, tracker, hooks):
        pipeline = (
            Pipeline(hooks=hooks, name="jobs").add_stage_from_type(CountRows).run()
        )
        group, description = job_group(pipeline.run_id, "jobs", "CountRows")
        assert group == f"pysetl:{pipeline.run_id}:CountRows"
        assert description == f"pysetl / jobs / CountRows / {pipeline.run_id}"
        assert tracker.getJobIdsForGroup(group)
        factory = pipeline.stages[0].factories[0]
        assert factory.labels == {
            "spark.jobGroup.id": group,
            "spark.job.description": description,
            "pysetl.run_id": pipeline.run_id,
        }

    def test_labels_are_cleared_after_the_run(self, spark, hooks):
        Pipeline(hooks=hooks).add_stage_from_type(CountRows).run()
        assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None
        assert spark.sparkContext.getLocalProperty("pysetl.run_id") is None

    def test_parallel_factories_keep_their_own_groups(self, tracker, hooks):
        stage = Stage(parallel=True).add_factory_from_type(CountRows)
        stage.add_factory_from_type(CountMore)
        pipeline = Pipeline(hooks=hooks).add_stage(stage).run()
        first = set(tracker.getJobIdsForGroup(f"pysetl:{pipeline.run_id}:CountRows"))
        second = set(tracker.getJobIdsForGroup(f"pysetl:{pipeline.run_id}:CountMore"))
        assert first
        assert second
        assert not first & second
        labels = [f.labels["spark.jobGroup.id"] for f in stage.factories]
        assert labels == [
            f"pysetl:{pipeline.run_id}:CountRows",
            f"pysetl:{pipeline.run_id}:CountMore",
        ]

    def test_injected_session_is_used(self, spark, tracker, hooks):
        pipeline = (
            Pipeline(hooks=hooks, spark=spark).add_stage_from_type(CountRows).run()
        )
        assert tracker.getJobIdsForGroup(f"pysetl:{pipeline.run_id}:CountRows")

    def test_standalone_stage_labels_its_jobs(self, tracker):
        stage = Stage().add_factory_from_type(CountRows).run()
        run_id = stage.factories[0].labels["pysetl.run_id"]
        assert tracker.getJobIdsForGroup(f"pysetl:{run_id}:CountRows")


class TestDataFramePayloads:
    def test_empty_dataframe_is_a_valid_delivery(self, spark, hooks):
        empty = spark.createDataFrame([], "name string, age int")
        consumer = make_factory(
            "Rows", int, compute=lambda df: df.count(), df=Delivery[DataFrame]()
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[DataFrame](empty))
            .add_stage_from_type(consumer)
        )
        assert pipeline.run().get_last_output() == 0


class TestTypedSpark:
    def test_datasets_of_one_schema_match(self):
        assert DeliveryType(DataSet[Person]) == DataSet[Person]
        assert DeliveryType(DataSet[Person]) != DataSet[Other]
        assert hash(DeliveryType(DataSet[Person])) == hash(
            DeliveryType(DataSet[Person])
        )

    def test_dataset_delivery_is_resolved(self, spark, hooks):
        people = DataSet[Person](
            spark.createDataFrame([("a", 1), ("b", 2)], "name string, age int")
        )
        consumer = make_factory(
            "Ages", int, compute=lambda ds: ds.count(), ds=Delivery[DataSet[Person]]()
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[DataSet[Person]](people))
            .add_stage_from_type(consumer)
        )
        assert pipeline.run().get_last_output() == 2

    def test_dataset_fields_in_the_diagram(self):
        output = NodeOutput(DataSet[Person], set(), "", final_output=True)
        assert output.get_fields() == ["    >name: string", "    >age: int"]
        assert output.diagram_id == "DataSetPersonFinal"

    def test_bare_dataset_has_no_fields(self):
        with pytest.raises(PySetlError, match=r"DataSet has no schema\."):
            NodeOutput(DataSet).get_fields()

    def test_non_dataset_classes_are_unaffected(self):
        assert NodeOutput(int).get_fields() == []
        assert DeliveryType(int) != DataSet[Person]


class TestOutputCheck:
    """``get()`` is checked against ``Factory[T]`` for Spark types as well."""

    def test_dataframe_and_dataset_outputs_pass(self, spark, hooks):
        frame = spark.createDataFrame([("a", 1)], "name string, age int")
        people = DataSet[Person](frame)
        frames = make_factory("Frames", DataFrame, compute=lambda: frame)
        # A new DataSet[Person] class each time: the origin class is checked.
        typed = make_factory("Typed", DataSet[Person], compute=lambda: people)
        pipeline = Pipeline(hooks=hooks).add_stage(
            Stage().add_factory_from_type(frames).add_factory_from_type(typed)
        )
        assert pipeline.run().get_output(typed) is people

    def test_a_plain_dataframe_for_a_declared_dataset_fails(self, spark, hooks):
        frame = spark.createDataFrame([("a", 1)], "name string, age int")
        untyped = make_factory("Untyped", DataSet[Person], compute=lambda: frame)
        with pytest.raises(FactoryOutputError) as info:
            Pipeline(hooks=hooks).add_stage_from_type(untyped).run()
        assert info.value.expected == "DataSet[Person]"
        assert info.value.got == "DataFrame"
        assert "Factory 'Untyped' returned a DataFrame from get()" in str(info.value)


class TestSessions:
    def test_session_without_a_context_labels_nothing(self, hooks):
        class ConnectLike:
            @property
            def sparkContext(self):
                msg = "no context over Spark Connect"
                raise RuntimeError(msg)

        cls = make_factory("Plain", int, compute=lambda: 1)
        pipeline = Pipeline(hooks=hooks, spark=ConnectLike()).add_stage_from_type(cls)
        assert pipeline.run().get_last_output() == 1
