"""Dataset names by the OpenLineage naming spec (no Spark)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pysetl.config.jdbc_config import JdbcConfig
from pysetl.config.table_config import SparkTableConfig
from pysetl.monitoring.lineage import (
    LineageDataset,
    dataset_of,
    file_dataset,
    jdbc_dataset,
    table_dataset,
)


class TestFiles:
    @pytest.mark.parametrize(
        ("path", "namespace", "name"),
        [
            ("/data/raw/flights.csv", "file", "/data/raw/flights.csv"),
            ("file:///data/out", "file", "/data/out"),
            ("s3://lake/raw/flights.csv", "s3://lake", "raw/flights.csv"),
            ("s3a://lake/raw/", "s3://lake", "raw/"),
            ("s3://minio:9000/lake/raw/f.csv", "s3://lake", "raw/f.csv"),
            ("gs://bucket/a/b", "gs://bucket", "a/b"),
            ("hdfs://nn:8020/warehouse/t", "hdfs://nn:8020", "warehouse/t"),
            (
                "abfss://box@acct.dfs.core.windows.net/x",
                "abfss://box@acct.dfs.core.windows.net",
                "x",
            ),
            ("hdfs://etl:pw-42@nn:8020/t", "hdfs://etl@nn:8020", "t"),
        ],
    )
    def test_paths_get_their_namespace_and_name(self, path, namespace, name):
        assert file_dataset(path) == LineageDataset(namespace, name)

    def test_a_relative_path_is_made_absolute(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert file_dataset("out/report") == LineageDataset(
            "file", str(tmp_path / "out" / "report")
        )


class TestJdbc:
    @pytest.mark.parametrize(
        ("url", "table", "namespace", "name"),
        [
            (
                "jdbc:postgresql://db:5432/shop",
                "orders",
                "postgres://db:5432",
                "shop.public.orders",
            ),
            (
                "jdbc:postgresql://db/shop",
                "sales.orders",
                "postgres://db:5432",
                "shop.sales.orders",
            ),
            (
                "jdbc:mysql://mart:3307/sales",
                "totals",
                "mysql://mart:3307",
                "sales.totals",
            ),
            (
                "jdbc:sqlserver://sql:1433;databaseName=shop;encrypt=true",
                "dbo.orders",
                "sqlserver://sql:1433",
                "shop.dbo.orders",
            ),
            ("jdbc:derby:memory:shop;create=true", "orders", "derby", "shop.orders"),
            ("jdbc:mariadb://maria/db", "t", "mysql://maria:3306", "db.t"),
            ("jdbc:db2://big:50001/", "T", "db2://big:50001", "T"),
        ],
    )
    def test_tables_get_their_namespace_and_name(self, url, table, namespace, name):
        assert jdbc_dataset(url, table) == LineageDataset(namespace, name)

    def test_credentials_of_the_url_never_reach_the_namespace_or_name(self):
        url = "jdbc:postgresql://etl:pw-1234@db:5432/shop?user=etl&password=pw-1234"
        dataset = jdbc_dataset(url, "orders")
        assert dataset == LineageDataset("postgres://db:5432", "shop.public.orders")


class TestTables:
    def test_a_table_of_the_default_database_is_its_warehouse_folder(self):
        assert table_dataset("orders", None, "/wh/") == LineageDataset(
            "file", "/wh/orders"
        )
        assert table_dataset("orders", "default", "s3://lake/wh").name == "wh/orders"

    def test_a_table_of_another_database_is_under_its_db_folder(self):
        assert table_dataset("orders", "shop", "/wh") == LineageDataset(
            "file", "/wh/shop.db/orders"
        )


def connector(config):
    return SimpleNamespace(config=config.config)


class TestDatasetOf:
    def test_a_jdbc_table_connector(self):
        target = connector(JdbcConfig(url="jdbc:postgresql://db:5432/shop", table="t"))
        assert dataset_of(target) == LineageDataset(
            "postgres://db:5432", "shop.public.t"
        )

    def test_a_jdbc_query_names_no_dataset(self):
        target = connector(
            JdbcConfig(url="jdbc:postgresql://db:5432/shop", query="select 1")
        )
        assert dataset_of(target) is None

    def test_a_spark_table_uses_the_warehouse_or_its_default_name(self):
        target = connector(SparkTableConfig(table="orders", database="shop"))
        assert dataset_of(target, warehouse="/wh").name == "/wh/shop.db/orders"
        assert dataset_of(target).name.endswith("spark-warehouse/shop.db/orders")

    def test_a_connector_of_unknown_kind_names_no_dataset(self):
        assert dataset_of(SimpleNamespace(config=None)) is None
        assert dataset_of(object()) is None

    def test_a_repository_without_a_schema_has_no_fields(self):
        config = JdbcConfig(url="jdbc:mysql://m/s", table="t")
        repository = SimpleNamespace(connector=connector(config))  # no .schema
        assert dataset_of(repository) == LineageDataset("mysql://m:3306", "s.t")
        assert dataset_of(repository, fields=False).fields is None
