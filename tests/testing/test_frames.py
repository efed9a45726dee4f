"""assert_frame_equal and assert_dataset_equal on real local Spark frames."""

from __future__ import annotations

import pytest
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)
from typedspark import Column, DataSet, Schema

from pysetl.testing import assert_dataset_equal, assert_frame_equal

SCHEMA = "id int, name string, amount double"


class Order(Schema):
    id: Column[IntegerType]
    amount: Column[DoubleType]


class Refund(Schema):
    id: Column[IntegerType]
    amount: Column[DoubleType]


def frame(spark, rows, schema=SCHEMA):
    return spark.createDataFrame(rows, schema)


def failure(actual, expected, **options) -> str:
    with pytest.raises(AssertionError) as raised:
        assert_frame_equal(actual, expected, **options)
    return str(raised.value)


class TestEqualFrames:
    def test_equal_frames_pass_in_any_order(self, spark):
        a = frame(spark, [(1, "a", 1.0), (2, "b", 2.0), (2, "b", 2.0)])
        b = frame(spark, [(2, "b", 2.0), (1, "a", 1.0), (2, "b", 2.0)])
        assert_frame_equal(a, b)

    def test_duplicates_count(self, spark):
        a = frame(spark, [(1, "a", 1.0), (1, "a", 1.0)])
        b = frame(spark, [(1, "a", 1.0)])
        text = failure(a, b)
        assert "Rows (order ignored): 2 actual, 1 expected" in text
        assert "1 unexpected row (in actual, not expected):" in text
        assert "+ id=1, name='a', amount=1.0" in text

    def test_check_order_reports_each_differing_position(self, spark):
        a = frame(spark, [(2, "b", 2.0), (1, "a", 1.0)])
        b = frame(spark, [(1, "a", 1.0), (2, "b", 2.0)])
        assert_frame_equal(a, b)
        text = failure(a, b, check_order=True)
        assert text.splitlines() == [
            "DataFrames differ",
            "Rows (in order): 2 actual, 2 expected",
            "  row 0:",
            "    - id=1, name='a', amount=1.0",
            "    + id=2, name='b', amount=2.0",
            "  row 1:",
            "    - id=2, name='b', amount=2.0",
            "    + id=1, name='a', amount=1.0",
        ]

    def test_check_order_lists_extra_and_missing_tail_rows(self, spark):
        a = frame(spark, [(1, "a", 1.0), (2, "b", 2.0)])
        b = frame(spark, [(1, "a", 1.0)])
        assert "+ id=2, name='b', amount=2.0" in failure(a, b, check_order=True)
        assert "- id=2, name='b', amount=2.0" in failure(b, a, check_order=True)
        assert_frame_equal(a, a, check_order=True)

    def test_missing_and_unexpected_rows_are_shown_with_their_columns(self, spark):
        a = frame(spark, [(1, "a", 1.0), (2, "b", 3.25)])
        b = frame(spark, [(1, "a", 1.0), (2, "b", 3.5)])
        assert failure(a, b).splitlines() == [
            "DataFrames differ",
            "Rows (order ignored): 2 actual, 2 expected",
            "  1 missing row (expected, not in actual):",
            "    - id=2, name='b', amount=3.5",
            "  1 unexpected row (in actual, not expected):",
            "    + id=2, name='b', amount=3.25",
        ]

    def test_the_number_of_rows_shown_is_limited(self, spark):
        a = frame(spark, [(i, "x", 0.0) for i in range(15)])
        b = frame(spark, [(i, "y", 0.0) for i in range(15)])
        text = failure(a, b, max_shown=3)
        assert text.count("    - ") == 3
        assert text.count("    + ") == 3
        assert text.count("    ... and 12 more") == 2
        ordered = failure(a, b, check_order=True, max_shown=2)
        assert ordered.count("  row ") == 2
        assert "    ... and 13 more" in ordered


class TestFloats:
    def test_exact_by_default(self, spark):
        a = frame(spark, [(1, "a", 0.1 + 0.2)])
        b = frame(spark, [(1, "a", 0.3)])
        assert "0.30000000000000004" in failure(a, b)

    def test_within_a_relative_or_absolute_tolerance(self, spark):
        a = frame(spark, [(1, "a", 100.0 + 1e-7), (2, "b", 1e-9)])
        b = frame(spark, [(2, "b", 0.0), (1, "a", 100.0)])
        assert_frame_equal(a, b, rel_tol=1e-8, abs_tol=1e-8)
        assert_frame_equal(a, b, rel_tol=1e-8, abs_tol=1e-8, check_order=False)
        text = failure(a, b, rel_tol=1e-12)
        assert "missing rows" in text

    def test_tolerance_in_order(self, spark):
        a = frame(spark, [(1, "a", 1.0000001)])
        b = frame(spark, [(1, "a", 1.0)])
        assert_frame_equal(a, b, check_order=True, abs_tol=1e-6)
        failure(a, b, check_order=True, abs_tol=1e-9)

    def test_nan_equals_nan(self, spark):
        a = frame(spark, [(1, "a", float("nan"))])
        assert_frame_equal(a, frame(spark, [(1, "a", float("nan"))]))
        assert_frame_equal(a, a, check_order=True, abs_tol=0.1)
        failure(a, frame(spark, [(1, "a", 1.0)]), abs_tol=0.1)

    def test_nulls(self, spark):
        a = frame(spark, [(1, None, None)])
        assert_frame_equal(a, frame(spark, [(1, None, None)]), abs_tol=0.1)
        assert "amount=None" in failure(a, frame(spark, [(1, None, 0.0)]), abs_tol=1)


class TestSchema:
    def test_a_type_difference_is_named(self, spark):
        a = spark.createDataFrame([(1, 2)], "id int, amount bigint")
        b = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        text = failure(a, b)
        assert "Schema:" in text
        assert "column 'amount': amount: bigint (actual) != amount: double" in text
        # the rows differ too (2 is not 2.0): they are listed after the schema
        assert "+ id=1, amount=2" in text

    def test_types_are_ignored_without_check_schema_but_not_values(self, spark):
        a = spark.createDataFrame([(1, 2)], "id int, amount bigint")
        b = spark.createDataFrame([(1, 2)], "id int, amount int")
        failure(a, b)
        assert_frame_equal(a, b, check_schema=False)

    def test_column_order_matters_only_with_check_schema(self, spark):
        a = spark.createDataFrame([("a", 1)], "name string, id int")
        b = spark.createDataFrame([(1, "a")], "id int, name string")
        text = failure(a, b)
        assert "column order: ['name', 'id'] (actual) != ['id', 'name']" in text
        assert "check_schema=False" in text
        assert_frame_equal(a, b, check_schema=False)

    def test_missing_and_unexpected_columns(self, spark):
        a = spark.createDataFrame([(1, "a")], "id int, name string")
        b = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        text = failure(a, b, check_schema=False)
        assert text.splitlines() == [
            "DataFrames differ",
            "Schema:",
            "  missing column 'amount' (expected, not in actual)",
            "  unexpected column 'name' (in actual, not expected)",
        ]

    def test_nullable_is_compared_only_when_asked(self, spark):
        nullable = StructType([StructField("id", IntegerType(), nullable=True)])
        required = StructType([StructField("id", IntegerType(), nullable=False)])
        a = spark.createDataFrame([(1,)], nullable)
        b = spark.createDataFrame([(1,)], required)
        assert_frame_equal(a, b)
        text = failure(a, b, check_nullable=True)
        assert "id: int (nullable) (actual) != id: int (not null) (expected)" in text

    def test_nested_values(self, spark):
        schema = StructType(
            [
                StructField("id", LongType()),
                StructField("tags", ArrayType(StringType())),
                StructField("attrs", MapType(StringType(), LongType())),
                StructField(
                    "point",
                    StructType(
                        [StructField("x", DoubleType()), StructField("y", DoubleType())]
                    ),
                ),
            ]
        )
        a = spark.createDataFrame(
            [(1, ["a", "b"], {"k": 1, "j": 2}, (1.0, 2.0))], schema
        )
        b = spark.createDataFrame(
            [(1, ["a", "b"], {"j": 2, "k": 1}, (1.0, 2.0000001))], schema
        )
        assert_frame_equal(a, b, abs_tol=1e-6)
        text = failure(a, b)
        assert "point=(('x', 1.0), ('y', 2.0))" in text

    def test_binary_values(self, spark):
        a = spark.createDataFrame([(bytearray(b"\x00\x01"),)], "b binary")
        assert_frame_equal(
            a, spark.createDataFrame([(bytearray(b"\x00\x01"),)], "b binary")
        )
        text = failure(a, spark.createDataFrame([(bytearray(b"\x02"),)], "b binary"))
        assert "- b=b'\\x02'" in text


class TestDataSets:
    def test_equal_datasets(self, spark):
        data = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        same = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        assert_dataset_equal(DataSet[Order](data), DataSet[Order](same))
        plain = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        assert_dataset_equal(DataSet[Order](data), plain)

    def test_different_schema_classes_are_named(self, spark):
        def data():  # typedspark retypes a frame in place: one frame each
            return spark.createDataFrame([(1, 2.0)], "id int, amount double")

        with pytest.raises(AssertionError) as raised:
            assert_dataset_equal(DataSet[Order](data()), DataSet[Refund](data()))
        assert str(raised.value).splitlines() == [
            "DataSets differ",
            "Schema:",
            (
                "  the DataSets have different schemas: "
                "Order (actual) != Refund (expected)"
            ),
        ]

    def test_columns_are_compared_as_for_frames(self, spark):
        data = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        wider = spark.createDataFrame(
            [(1, 2.0, "x")], "id int, amount double, c string"
        )
        with pytest.raises(AssertionError) as raised:
            assert_dataset_equal(DataSet[Order](data), wider)
        assert "missing column 'c' (expected, not in actual)" in str(raised.value)

    def test_rows_are_compared_after_the_schema(self, spark):
        one = spark.createDataFrame([(1, 2.0)], "id int, amount double")
        two = spark.createDataFrame([(1, 2.5)], "id int, amount double")
        with pytest.raises(AssertionError, match=r"- id=1, amount=2\.5"):
            assert_dataset_equal(DataSet[Order](one), DataSet[Order](two))
        assert_dataset_equal(
            DataSet[Order](one), DataSet[Order](two), abs_tol=0.5, check_order=True
        )
