"""``SparkTableConnector``: managed tables of the Spark SQL catalog."""

from __future__ import annotations

import uuid

import pytest

from pysetl.config import CsvConfig, SparkTableConfig
from pysetl.enums import SaveMode
from pysetl.errors import ConfigError, ConnectorError
from pysetl.storage.connector import SparkTableConnector


def unique() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


class TestSparkTableConnector:
    def test_rejects_a_config_that_is_not_a_table(self):
        with pytest.raises(ConfigError, match="Not a SparkTableConfig"):
            SparkTableConnector(CsvConfig(path="/x"))

    @pytest.mark.usefixtures("spark")
    def test_reading_a_missing_table_raises_a_connector_error(self):
        connector = SparkTableConnector(SparkTableConfig(table=unique()))
        with pytest.raises(ConnectorError, match="Spark table read of") as info:
            connector.read()
        assert info.value.hint is not None

    def test_writes_a_partitioned_table_in_a_database_and_drops_it(self, spark, people):
        spark.sql("CREATE DATABASE IF NOT EXISTS pysetl_tests")
        table = unique()
        connector = SparkTableConnector(
            SparkTableConfig(
                table=table,
                database="pysetl_tests",
                format="orc",
                partition_by=["country"],
            )
        )
        assert repr(connector) == f"SparkTableConnector('`pysetl_tests`.`{table}`')"
        connector.write(people)
        assert spark.catalog.tableExists(table, "pysetl_tests")
        assert sorted(
            r.id
            for r in spark.sql(
                f"SELECT id FROM pysetl_tests.{table} WHERE country = 'UK'"  # noqa: S608
            ).collect()
        ) == [1, 3]
        assert connector.read().count() == 3
        connector.drop()
        assert not spark.catalog.tableExists(table, "pysetl_tests")

    @pytest.mark.usefixtures("spark")
    def test_writing_twice_without_overwrite_raises_a_connector_error(self, people):
        connector = SparkTableConnector(
            SparkTableConfig(table=unique(), savemode=SaveMode.ERRORIFEXISTS)
        )
        connector.write(people)
        with pytest.raises(ConnectorError, match="Spark table write of"):
            connector.write(people)

    def test_partition_columns_missing_from_data_are_refused(self, people):
        connector = SparkTableConnector(
            SparkTableConfig(table=unique(), partition_by=["age"])
        )
        with pytest.raises(
            ConfigError, match="Partition columns in configuration not in data"
        ):
            connector.write(people)
