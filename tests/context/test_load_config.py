"""``PySetl.builder().load_config(...)``: a project config becomes the configs."""

from __future__ import annotations

import textwrap

import pytest
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, Schema

from pysetl import PySetl
from pysetl.config import Config, CsvConfig, JdbcConfig, ResolvedConfig
from pysetl.errors import ConfigError, ConfigLoadError

BASE = """
spark:
  app_name: shop
  sql:
    shuffle:
      partitions: 3
connectors:
  citizens:
    storage: csv
    path: {path}
    header: "true"
  customers:
    storage: JDBC
    url: jdbc:postgresql://localhost:5432/shop
    table: customers
    password: ${{secret:env:SHOP_PW}}
"""
PROD = """
spark:
  app_name: shop-prod
connectors:
  customers:
    url: jdbc:postgresql://prod-db:5432/shop
"""


@pytest.fixture
def project(tmp_path):
    data = tmp_path / "citizens.csv"
    data.write_text("name,age\nada,36\nbob,12\n", encoding="utf-8")
    root = tmp_path / "conf"
    (root / "base").mkdir(parents=True)
    (root / "prod").mkdir()
    (root / "base" / "catalog.yaml").write_text(
        textwrap.dedent(BASE).format(path=data), encoding="utf-8"
    )
    (root / "prod" / "catalog.yaml").write_text(PROD, encoding="utf-8")
    return root


ENVIRON = {"SHOP_PW": "pw-31337-x"}


class Citizen(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class TestBuilderLoadConfig:
    def test_connectors_and_spark_settings_come_from_the_env(self, project):
        builder = PySetl.builder().load_config(project, "prod", environ=ENVIRON)
        assert isinstance(builder.resolved_config, ResolvedConfig)
        assert builder.resolved_config.env == "prod"
        configs = builder._configs()
        assert isinstance(configs["citizens"], CsvConfig)
        assert isinstance(configs["customers"], JdbcConfig)
        assert configs["customers"].config.url == "jdbc:postgresql://prod-db:5432/shop"
        assert configs["customers"].config.password.get_secret_value() == "pw-31337-x"
        app_name, settings = builder.spark_settings()
        assert app_name == "shop-prod"
        assert settings == {"spark.sql.shuffle.partitions": "3"}

    def test_the_environment_comes_from_pysetl_env(self, project):
        builder = PySetl.builder().load_config(
            project, environ={**ENVIRON, "PYSETL_ENV": "prod"}
        )
        assert builder.resolved_config.env == "prod"

    def test_configs_given_in_code_win_over_loaded_ones(self, project, tmp_path):
        mine = CsvConfig(path=str(tmp_path / "mine.csv"))
        builder = (
            PySetl.builder()
            .set_config({"citizens": mine})
            .load_config(project, environ=ENVIRON)
        )
        assert builder._configs()["citizens"] is mine
        assert isinstance(builder._configs()["customers"], JdbcConfig)

    def test_validate_checks_the_loaded_configs_too(self, project):
        builder = PySetl.builder().load_config(project, environ=ENVIRON)
        builder.validate()
        builder.set_shuffle_partitions(0)
        with pytest.raises(ConfigError):
            builder.validate()

    def test_an_invalid_project_config_lists_every_problem(self, tmp_path):
        root = tmp_path / "conf"
        (root / "base").mkdir(parents=True)
        (root / "base" / "c.yaml").write_text(
            "spark:\n  jars: [a, b]\nconnectors:\n  x: {storage: csv}\n",
            encoding="utf-8",
        )
        with pytest.raises(ConfigLoadError) as caught:
            PySetl.builder().load_config(root, environ={})
        assert [e["key"] for e in caught.value.errors] == ["connectors.x.path"]
        (root / "base" / "c.yaml").write_text(
            "spark:\n  jars: [a, b]\n  k: {n: [1]}\n", encoding="utf-8"
        )
        with pytest.raises(ConfigLoadError) as caught:
            PySetl.builder().load_config(root, environ={})
        assert [(e["key"], e["line"]) for e in caught.value.errors] == [
            ("spark.jars", 2),
            ("spark.k.n", 3),
        ]

    def test_a_spark_section_that_is_not_a_mapping(self, tmp_path):
        root = tmp_path / "conf"
        (root / "base").mkdir(parents=True)
        (root / "base" / "c.yaml").write_text("spark: local\n", encoding="utf-8")
        with pytest.raises(ConfigLoadError) as caught:
            PySetl.builder().load_config(root, environ={})
        assert caught.value.errors[0]["key"] == "spark"

    def test_no_spark_section_no_spark_config(self, tmp_path):
        root = tmp_path / "conf"
        (root / "base").mkdir(parents=True)
        (root / "base" / "c.yaml").write_text("other: 1\n", encoding="utf-8")
        builder = PySetl.builder().load_config(root, environ={})
        assert builder._configs() == {}
        assert builder.spark_settings() == ("default", {})

    def test_built_pysetl_reads_through_a_loaded_config(self, project, spark):
        builder = (
            PySetl.builder()
            .set_spark_session(spark)
            .load_config(project, "prod", environ=ENVIRON)
            .build()
        )
        ps = builder.get()
        assert ps.resolved_config is builder.resolved_config
        assert isinstance(ps.config_dict["spark"], Config)
        ps.set_spark_repository_from_config(Citizen, "citizens")
        frame = ps.get_sparkrepository(Citizen, "citizens").load()
        assert sorted(row.name for row in frame.collect()) == ["ada", "bob"]


class TestSparkSection:
    """Nested Spark keys get their ``spark.`` prefix; secrets are read at build time."""

    def test_nested_flat_secret_and_boolean_settings(self, tmp_path):
        from pysetl.config.models import ProjectConfigModel

        root = tmp_path / "conf"
        (root / "base").mkdir(parents=True)
        (root / "base" / "spark.yaml").write_text(
            "spark:\n  app_name: lake\n  sql:\n    shuffle:\n      partitions: 3\n"
            "  spark.hadoop.fs.s3a.secret.key: ${secret:env:S3_SK}\n"
            "  spark.ui.enabled: false\n",
            encoding="utf-8",
        )
        builder = PySetl.builder().load_config(
            root, environ={"S3_SK": "canary-s3-key"}, schema=ProjectConfigModel
        )
        secret = builder.resolved_config.get("spark.spark.hadoop.fs.s3a.secret.key")
        assert "canary-s3-key" not in repr(builder._configs()["spark"])
        assert not secret.is_resolved  # validated and loaded, still not read
        assert builder.spark_settings() == (
            "lake",
            {
                "spark.sql.shuffle.partitions": "3",
                "spark.hadoop.fs.s3a.secret.key": "canary-s3-key",
                "spark.ui.enabled": "false",
            },
        )
        assert secret.get_secret_value() == "canary-s3-key"
