"""MemoryConnector and MemoryRepository: storage doubles over real Spark frames."""

from __future__ import annotations

import pytest
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema
from typing_extensions import Self

from pysetl.errors import ConnectorError
from pysetl.storage.repository import SparkRepository
from pysetl.testing import (
    MemoryConnector,
    MemoryRepository,
    assert_frame_equal,
    run_factory,
)
from pysetl.workflow import Delivery, Factory


class Person(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class Adults(Factory[DataSet[Person]]):
    """Reads people from a repository, keeps the adults, saves and returns them."""

    people = Delivery[SparkRepository[Person]](delivery_id="people")
    adults = Delivery[SparkRepository[Person]](delivery_id="adults")

    def read(self) -> Self:
        self.data = self.people.get().load()
        return self

    def process(self) -> Self:
        self.data = DataSet[Person](self.data.filter(self.data.age >= 18))
        return self

    def write(self) -> Self:
        self.adults.get().save(self.data)
        return self

    def get(self) -> DataSet[Person]:
        return self.data


def people(spark):
    return spark.createDataFrame([("ann", 30), ("bob", 12)], "name string, age int")


class TestMemoryConnector:
    def test_reads_what_it_holds_and_what_is_written(self, spark):
        first, second = spark.range(3), spark.range(5)
        connector = MemoryConnector(first)
        assert connector.read() is first
        connector.write(second)
        assert connector.read() is second
        assert connector.writes == [second]
        assert repr(connector) == "MemoryConnector(mode='overwrite', writes=1)"
        assert connector.target == "memory"

    def test_append_adds_rows_by_column_name(self, spark):
        connector = MemoryConnector(mode="append")
        connector.write(spark.createDataFrame([(1, "a")], "id int, x string"))
        connector.write(spark.createDataFrame([("b", 2)], "x string, id int"))
        expected = spark.createDataFrame([(1, "a"), (2, "b")], "id int, x string")
        assert_frame_equal(connector.read(), expected)

    def test_empty_or_dropped_reads_fail_with_a_hint(self, spark):
        connector = MemoryConnector(spark.range(1))
        connector.drop()
        with pytest.raises(ConnectorError, match="holds no data") as raised:
            connector.read()
        assert "write() one first" in (raised.value.hint or "")
        assert raised.value.connector == "MemoryConnector(mode='overwrite', writes=0)"

    def test_an_unknown_mode_is_refused(self):
        with pytest.raises(ValueError, match="'overwrite', 'append'"):
            MemoryConnector(mode="upsert")


class TestMemoryRepository:
    def test_is_a_spark_repository_that_keeps_what_is_saved(self, spark):
        repo = MemoryRepository[Person](people(spark))
        assert isinstance(repo, SparkRepository)
        assert str(repo) == "MemoryRepository[Person]"
        loaded = repo.load()
        assert loaded.columns == ["name", "age"]
        adults = repo.find(age=30)
        assert [r.name for r in adults.collect()] == ["ann"]
        repo.save(adults)
        assert repo.data is adults
        assert repo.writes == [adults]
        assert isinstance(repo.memory, MemoryConnector)
        assert repo.load().count() == 1

    def test_cached_loads_read_again_after_a_save(self, spark):
        repo = MemoryRepository[Person](people(spark), cache=True)
        assert repo.load().count() == 2
        repo.save(people(spark).limit(1))
        assert repo.load().count() == 1

    def test_delivered_where_a_spark_repository_is_declared(self, spark):
        source = MemoryRepository[Person](people(spark))
        sink = MemoryRepository[Person]()
        output = run_factory(Adults, inputs={"people": source, "adults": sink})
        expected = spark.createDataFrame([("ann", 30)], "name string, age int")
        assert_frame_equal(output, expected)
        assert sink.data is not None
        assert_frame_equal(sink.data, expected)

    def test_without_write_nothing_is_saved(self, spark):
        sink = MemoryRepository[Person]()
        run_factory(
            Adults,
            inputs={"people": MemoryRepository[Person](people(spark)), "adults": sink},
            write=False,
        )
        assert sink.writes == []
        assert sink.data is None
