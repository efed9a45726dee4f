"""``SparkRepository[T]`` and its builder: typing, caching, capabilities, find."""

from __future__ import annotations

import shutil

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import IntegerType, StringType
from tests.storage.conftest import PEOPLE, Person
from typedspark import Column, DataSet, Schema

from pysetl.config import CsvConfig, JsonConfig, ParquetConfig
from pysetl.enums import SaveMode
from pysetl.errors import BuilderError, ConnectorError
from pysetl.storage import SparkRepositoryBuilder
from pysetl.storage.connector import Connector, ParquetConnector
from pysetl.storage.repository import BaseRepository, SparkRepository
from pysetl.testing import assert_frame_equal
from pysetl.utils.exceptions import InvalidConnectorException


class FrameConnector(Connector):
    """A connector over one DataFrame in memory: no partitions, no drop."""

    def __init__(self, data: DataFrame) -> None:
        self.data = data

    def read(self) -> DataFrame:
        return self.data

    def write(self, data: DataFrame) -> None:
        self.data = data


@pytest.fixture
def parquet(tmp_path) -> ParquetConnector:
    return ParquetConnector(
        ParquetConfig(
            path=str(tmp_path / "people"),
            partition_by=["country"],
            savemode=SaveMode.OVERWRITE,
        )
    )


def ids(data: DataFrame) -> list[int]:
    return sorted(row.id for row in data.collect())


class TestTyping:
    def test_str_and_repr_name_the_schema(self, people):
        repo = SparkRepository[Person](FrameConnector(people))
        assert str(repo) == "SparkRepository[Person]"
        assert repr(repo) == "SparkRepository[Person]"
        assert repo.type_annotation == SparkRepository[Person]
        assert repo.schema is Person
        assert isinstance(repo, BaseRepository)

    def test_an_unsubscripted_repository_fails_on_first_use_of_its_type(self, people):
        repo = SparkRepository(FrameConnector(people))
        with pytest.raises(AttributeError, match="__orig_class__"):
            repo.load()
        assert str(repo) == "SparkRepository[?]"

    def test_load_returns_a_typed_dataset(self, people):
        loaded = SparkRepository[Person](FrameConnector(people)).load()
        assert isinstance(loaded, DataSet)
        assert ids(loaded) == [1, 2, 3]

    def test_connector_is_read_only_and_cache_is_settable(self, people):
        connector = FrameConnector(people)
        repo = SparkRepository[Person](connector)
        assert repo.connector is connector
        with pytest.raises(AttributeError):
            repo.connector = connector  # type: ignore[misc]
        assert repo.cache is False
        repo.cache = True
        assert repo.cache is True
        assert repo.set_cache(False) is repo
        assert repo.cache is False


class Scored(Schema):
    name: Column[StringType]
    score: Column[IntegerType]


SCORED = [("007", 3), ("Ada", 41)]


class TestSchemaOnRead:
    """JSON and CSV read back with the declared types, not Spark's inferred ones."""

    @pytest.mark.parametrize("config", [JsonConfig, CsvConfig])
    def test_a_saved_dataset_loads_with_its_declared_types(
        self, spark, tmp_path, config
    ):
        data = spark.createDataFrame(SCORED, "name string, score int")
        repository = SparkRepositoryBuilder[Scored](
            config(path=str(tmp_path / "scored"), savemode=SaveMode.OVERWRITE)
        ).getOrCreate()
        loaded = repository.save(data).load()
        assert_frame_equal(loaded, data)  # types included: score int, not long
        found = repository.find(score=41)
        assert found.schema["score"].dataType == IntegerType()

    def test_csv_columns_are_matched_by_the_header_names(self, spark, tmp_path):
        path = tmp_path / "scored.csv"
        path.write_text("score,name\n7,007\n")
        config = CsvConfig(path=str(path))
        loaded = SparkRepositoryBuilder[Scored](config).getOrCreate().load()
        expected = spark.createDataFrame([("007", 7)], "name string, score int")
        assert_frame_equal(loaded, expected, check_schema=False)

    def test_a_csv_without_header_is_read_by_position(self, spark, tmp_path):
        path = tmp_path / "scored.csv"
        path.write_text("007,7\n")
        config = CsvConfig(path=str(path), header="false")
        loaded = SparkRepositoryBuilder[Scored](config).getOrCreate().load()
        expected = spark.createDataFrame([("007", 7)], "name string, score int")
        assert_frame_equal(loaded, expected)

    def test_parquet_keeps_its_stored_types(self, spark, tmp_path):
        """Typed formats are not cast: a mismatch still fails, as before."""
        data = spark.createDataFrame([("a", 1)], "name string, score long")
        ParquetConnector(ParquetConfig(path=str(tmp_path / "p"))).write(data)
        repository = SparkRepositoryBuilder[Scored](
            ParquetConfig(path=str(tmp_path / "p"))
        ).getOrCreate()
        with pytest.raises(TypeError):
            repository.load()


class TestCaching:
    def test_without_cache_every_load_reads_again(self, people, parquet):
        repo = SparkRepository[Person](parquet)
        repo.save(people)
        assert ids(repo.load()) == [1, 2, 3]
        parquet.write(people.filter("id = 1"))
        assert ids(repo.load()) == [1]

    def test_with_cache_loads_share_the_persisted_data_until_a_save(
        self, people, parquet, tmp_path
    ):
        parquet.write(people)
        repo = SparkRepository[Person](parquet, cache=True)
        first = repo.load()
        assert ids(first) == [1, 2, 3]
        assert repo.load()._jdf.equals(first._jdf)
        assert first.storageLevel == repo.storage_level
        # Files deleted behind the repository's back are not missed: the
        # persisted data is served. (A write through Spark would make Spark
        # itself re-cache the path, so the files are removed without Spark.)
        shutil.rmtree(tmp_path / "people")
        assert ids(repo.load()) == [1, 2, 3]
        assert repo.save(people.filter("id = 2")) is repo
        assert repo.flush is True
        fresh = repo.load()
        assert repo.flush is False
        assert ids(fresh) == [2]
        assert not fresh._jdf.equals(first._jdf)

    def test_a_pending_flush_is_cleared_by_any_load(self, people):
        repo = SparkRepository[Person](FrameConnector(people), flush=True)
        repo.load()
        assert repo.flush is False


class TestCapabilities:
    def test_partitions_are_listed_and_loaded(self, people, parquet):
        repo = SparkRepository[Person](parquet).save(people)
        partitions = repo.list_partitions()
        assert [p.rsplit("/", 1)[-1] for p in partitions] == [
            "country=UK",
            "country=US",
        ]
        loaded = repo.load_partitions(partitions[1:])
        assert isinstance(loaded, DataSet)
        assert [tuple(r) for r in loaded.collect()] == [PEOPLE[1]]

    def test_drop_removes_the_data(self, people, parquet, tmp_path):
        repo = SparkRepository[Person](parquet).save(people)
        assert repo.drop() is repo
        assert not (tmp_path / "people").exists()

    @pytest.mark.parametrize(
        "call",
        [
            lambda repo: repo.list_partitions(),
            lambda repo: repo.load_partitions(["x"]),
        ],
        ids=["list", "load"],
    )
    def test_partitions_need_a_partitioned_connector(self, people, call):
        repo = SparkRepository[Person](FrameConnector(people))
        with pytest.raises(
            InvalidConnectorException,
            match="Current connector doesn't support partitions",
        ) as info:
            call(repo)
        assert isinstance(info.value, ConnectorError)
        assert info.value.connector is not None

    def test_drop_needs_a_connector_that_can_drop(self, people):
        repo = SparkRepository[Person](FrameConnector(people))
        with pytest.raises(
            InvalidConnectorException, match="Current connector doesn't support drop"
        ):
            repo.drop()


class TestFind:
    def test_conditions_and_equalities_are_combined(self, people):
        repo = SparkRepository[Person](FrameConnector(people))
        assert ids(repo.find(F.col("id") > 1)) == [2, 3]
        assert ids(repo.find(country="UK")) == [1, 3]
        assert ids(repo.find(F.col("id") > 1, country="UK")) == [3]
        assert ids(repo.find("name LIKE 'A%'")) == [1, 3]
        assert ids(repo.find(id=[1, 2])) == [1, 2]
        assert ids(repo.find(name=None)) == []
        assert ids(repo.find()) == [1, 2, 3]
        assert isinstance(repo.find(id=1), DataSet)

    def test_an_unknown_column_is_refused_with_the_known_ones(self, people):
        repo = SparkRepository[Person](FrameConnector(people))
        with pytest.raises(ConnectorError, match="has no column 'age'") as info:
            repo.find(age=3)
        assert "['id', 'name', 'country']" in str(info.value.hint)

    def test_predicates_are_pushed_down_to_the_parquet_scan(self, people, parquet):
        repo = SparkRepository[Person](parquet).save(people)
        found = repo.find(F.col("id") > 1, country="UK")
        plan = found._jdf.queryExecution().executedPlan().toString()
        assert "PushedFilters: [IsNotNull(id), GreaterThan(id,1)]" in plan
        assert "PartitionFilters: [isnotnull(country" in plan
        assert ids(found) == [3]


class TestSparkRepositoryBuilder:
    @pytest.mark.usefixtures("spark")
    def test_builds_a_repository_with_the_configured_connector(self, tmp_path):
        builder = SparkRepositoryBuilder[Person](
            ParquetConfig(path=str(tmp_path / "p")), cache=True
        )
        assert builder.build() is builder
        repo = builder.get()
        assert str(repo) == "SparkRepository[Person]"
        assert isinstance(repo.connector, ParquetConnector)
        assert repo.cache is True

    def test_get_before_build_raises(self):
        builder = SparkRepositoryBuilder[Person](ParquetConfig(path="/x"))
        with pytest.raises(BuilderError, match="No SparkRepository built"):
            builder.get()

    def test_an_unsubscripted_builder_cannot_build(self):
        builder = SparkRepositoryBuilder(ParquetConfig(path="/x"))
        with pytest.raises(
            AttributeError,
            match="'SparkRepositoryBuilder' object has no attribute '__orig_class__'",
        ):
            builder.getOrCreate()
