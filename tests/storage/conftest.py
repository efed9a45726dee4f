"""Fixtures of the storage tests: sample data and schemas.

The real PostgreSQL server (``postgres``) comes from the root conftest.
"""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType
from typedspark import Column, Schema


class Person(Schema):
    id: Column[LongType]
    name: Column[StringType]
    country: Column[StringType]


PEOPLE = [(1, "Ada", "UK"), (2, "Grace", "US"), (3, "Alan", "UK")]


@pytest.fixture
def people(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(PEOPLE, "id long, name string, country string")
