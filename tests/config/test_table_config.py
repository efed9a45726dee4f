"""``SparkTableConfig``: a Spark SQL catalog table."""

from __future__ import annotations

import pytest

from pysetl.config import SparkTableConfig
from pysetl.enums import DbStorage, SaveMode
from pysetl.errors import ConfigError


class TestSparkTableConfig:
    def test_validates_with_defaults(self):
        model = SparkTableConfig(table="orders").config
        assert model.storage is DbStorage.SPARK_SQL
        assert model.database is None
        assert model.savemode is SaveMode.ERRORIFEXISTS
        assert model.partition_by == []
        assert model.format is None
        assert model.full_name == "`orders`"

    def test_full_name_is_qualified_by_the_database(self):
        config = SparkTableConfig(table="orders", database="shop")
        assert config.config.full_name == "`shop`.`orders`"

    @pytest.mark.parametrize("name", ["orders; DROP TABLE x", "a.b", "`x`", ""])
    def test_table_must_be_an_identifier(self, name):
        with pytest.raises(ConfigError, match="table"):
            _ = SparkTableConfig(table=name).config

    def test_writer_config_is_the_options(self):
        config = SparkTableConfig(table="t", options={"compression": "zstd"})
        assert config.writer_config == {"compression": "zstd"}
        assert config.reader_config == {}

    def test_savemode_may_be_given_by_value(self):
        config = SparkTableConfig(table="t", savemode="append")
        assert config.config.savemode is SaveMode.APPEND
