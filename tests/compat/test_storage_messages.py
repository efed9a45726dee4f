"""The contract's storage and entry-point messages, exactly (needs Spark).

Written from ``pysetl-api.md`` sections 4 and 7: ``str(error)`` and
``error.args[0]`` are the old texts; hints stay on ``.hint``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema

from pysetl import PySetl
from pysetl.config import CsvConfig, FileConfig, JsonConfig, ParquetConfig
from pysetl.enums import FileStorage
from pysetl.storage.connector import (
    Connector,
    ConnectorBuilder,
    CsvConnector,
    JsonConnector,
    ParquetConnector,
)
from pysetl.storage.repository import SparkRepository, SparkRepositoryBuilder
from pysetl.utils.exceptions import (
    BasePySetlException,
    BuilderException,
    InvalidConfigException,
    InvalidConnectorException,
)
from pysetl.workflow.node_output import NodeOutput


class Person(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class FrameConnector(Connector):
    """Neither partitions nor drop."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def read(self) -> Any:
        return self.data

    def write(self, data: Any) -> None:
        self.data = data


def exact(error: BaseException, message: str) -> None:
    assert str(error) == message
    assert error.args[0] == message


def raised(call: Any, kind: type[BaseException]) -> Any:
    with pytest.raises(kind) as info:
        call()
    return info.value


class TestConnectors:
    @pytest.mark.parametrize(
        ("connector", "config", "message"),
        [
            (CsvConnector, JsonConfig, "Not a CsvConfig for a CsvConnector"),
            (JsonConnector, CsvConfig, "Not a JsonConfig for a JsonConnector"),
            (ParquetConnector, CsvConfig, "Not a ParquetConfig for a ParquetConnector"),
        ],
    )
    def test_a_config_of_another_storage(self, spark, connector, config, message):
        error = raised(lambda: connector(config(path="/x")), InvalidConfigException)
        exact(error, message)

    def test_a_wildcard_write(self, spark, tmp_path):
        data = spark.createDataFrame([("a", 1)], "name string, age int")
        connector = JsonConnector(JsonConfig(path=str(tmp_path / "part-*")))
        error = raised(lambda: connector.write(data), InvalidConfigException)
        exact(error, "Can't write to wildcard path")

    def test_missing_partition_columns(self, spark, tmp_path):
        data = spark.createDataFrame([("a", 1)], "name string, age int")
        config = JsonConfig(path=str(tmp_path / "p"), partition_by=["country"])
        error = raised(
            lambda: JsonConnector(config).write(data), InvalidConfigException
        )
        exact(error, "Partition columns in configuration not in data")

    def test_s3_without_credentials(self, spark):
        connector = ParquetConnector(ParquetConfig(path="s3://host:9000/bucket/data"))
        error = raised(lambda: connector.filesystem, InvalidConfigException)
        exact(error, "No S3 credentials provided")

    def test_connector_builder_get_before_build(self, spark):
        builder = ConnectorBuilder(CsvConfig(path="/x"))
        exact(raised(builder.get, BuilderException), "Connector is not defined")


class TestRepositories:
    def test_builder_get_before_build(self, spark):
        builder = SparkRepositoryBuilder[Person](CsvConfig(path="/x"))
        exact(raised(builder.get, BuilderException), "No SparkRepository built")

    def test_an_unsubscripted_builder(self, spark):
        builder = SparkRepositoryBuilder(CsvConfig(path="/x"))
        exact(
            raised(builder.build, AttributeError),
            "'SparkRepositoryBuilder' object has no attribute '__orig_class__'",
        )

    def test_partitions_of_a_connector_without_them(self, spark):
        repository = SparkRepository[Person](FrameConnector(None))
        for call in (
            repository.list_partitions,
            lambda: repository.load_partitions(["a"]),
        ):
            error = raised(call, InvalidConnectorException)
            exact(error, "Current connector doesn't support partitions")

    def test_drop_of_a_connector_without_it(self, spark):
        repository = SparkRepository[Person](FrameConnector(None))
        error = raised(repository.drop, InvalidConnectorException)
        exact(error, "Current connector doesn't support drop")

    def test_str_names_the_schema(self, spark):
        repository = SparkRepository[Person](FrameConnector(None))
        assert str(repository) == repr(repository) == "SparkRepository[Person]"


class TestEntryPoint:
    def test_a_missing_config_key(self, spark):
        context = PySetl.builder().set_spark_session(spark).getOrCreate()
        for call in (
            context.set_spark_repository_from_config,
            context.reset_spark_repository_from_config,
        ):
            error = raised(
                lambda call=call: call(Person, "nope"), InvalidConfigException
            )
            exact(error, "No config found with key: nope")


class TestGraph:
    def test_a_dataset_without_schema(self, spark):
        error = raised(NodeOutput(DataSet, set()).get_fields, BasePySetlException)
        exact(error, "DataSet has no schema.")


class TestGenericStorage:
    def test_generic_storage_without_format_is_a_config_error(self, spark):
        """Deliberate fix 8 (docs/migration.md): GENERIC has its own connector."""
        config = FileConfig(path="/x", storage=FileStorage.GENERIC)
        with pytest.raises(InvalidConfigException) as info:
            ConnectorBuilder(config).getOrCreate()
        assert "Not a JsonConfig" not in str(info.value)
