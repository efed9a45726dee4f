"""Describing foreign errors in one short, secret-free line."""

from __future__ import annotations

import pytest

from pysetl.utils.redaction import register_secret, reset_default_redactor
from pysetl.utils.spark_errors import (
    describe_exception,
    full_text,
    malformed_record,
)


class TestDescribeException:
    def test_a_python_error_gives_its_first_line(self):
        error = ValueError("first line\nsecond line")
        assert describe_exception(error) == "first line"
        assert full_text(error) == "first line\nsecond line"

    def test_an_empty_message_gives_the_type_name(self):
        assert describe_exception(RuntimeError()) == "RuntimeError"

    def test_secrets_are_masked_and_long_lines_shortened(self):
        error = ValueError("pw=hunter2 " + "x" * 500)
        line = describe_exception(error, ("hunter2", ""))
        assert "hunter2" not in line
        assert line.startswith("pw=********** ")
        assert len(line) == 400
        assert line.endswith("...")

    def test_a_java_error_adds_its_innermost_cause(self, spark):
        with pytest.raises(Exception) as info:
            spark._jvm.java.lang.Long.parseLong("not a number")
        line = describe_exception(info.value)
        assert "NumberFormatException" in line
        assert "NumberFormatException" in full_text(info.value)


class TestMalformedRecord:
    """What a FAILFAST read of a bad CSV says: the record, the file, the reason."""

    @staticmethod
    def failure(spark, tmp_path, text, *, multiline=False):
        path = tmp_path / "bad.csv"
        path.write_text(text)
        reader = spark.read.option("header", "true").option("mode", "FAILFAST")
        reader = reader.option("multiLine", str(multiline).lower())
        schema = "id int, name string"
        with pytest.raises(Exception) as info:
            reader.schema(schema).csv(str(path)).collect()
        return info.value

    def test_a_field_of_the_wrong_type_gives_the_parsed_row_and_why(
        self, spark, tmp_path
    ):
        error = self.failure(spark, tmp_path, "id,name\n1,Ada\nthree,Alan\n")
        record = malformed_record(error)
        assert record is not None
        assert record.record == "[null,Alan]"
        assert record.path.startswith("file:")
        assert record.path.endswith("bad.csv")
        assert record.reason == (
            'java.lang.NumberFormatException: For input string: "three"'
        )
        assert record.error_class == "MALFORMED_RECORD_IN_PARSING"
        assert record.describe() == (
            f"malformed record in {record.path}: [null,Alan] "
            '(java.lang.NumberFormatException: For input string: "three")'
        )

    def test_a_line_with_too_many_fields_gives_the_raw_line(self, spark, tmp_path):
        error = self.failure(spark, tmp_path, "id,name\n1,Ada\n2,Grace,extra\n")
        record = malformed_record(error)
        assert record is not None
        assert record.record == "2,Grace,extra"
        assert record.error_class == "MALFORMED_CSV_RECORD"

    def test_a_record_over_several_lines_is_shown_on_one(self, spark, tmp_path):
        text = 'id,name\n1,Ada\n"2,Gr\nace"\n'
        record = malformed_record(self.failure(spark, tmp_path, text, multiline=True))
        assert record is not None
        assert record.record == '"2,Gr\\nace"'
        assert record.reason is None  # Spark's own error is the innermost

    def test_the_record_is_redacted_and_shortened(self, spark, tmp_path):
        register_secret("planted-canary-value")
        try:
            text = "id,name\nx,password=hunter22 planted-canary-value " + "y" * 300
            record = malformed_record(self.failure(spark, tmp_path, text + "\n"))
        finally:
            reset_default_redactor()
        assert record is not None
        assert "hunter22" not in record.record
        assert "planted-canary-value" not in record.record
        assert len(record.record) == 200
        assert record.record.endswith("...")

    def test_describe_exception_names_the_record(self, spark, tmp_path):
        error = self.failure(spark, tmp_path, "id,name\nthree,Alan\n")
        line = describe_exception(error)
        assert line.startswith("malformed record in file:")
        assert "bad.csv: [null,Alan]" in line

    def test_other_errors_name_no_record(self, spark):
        assert malformed_record(ValueError("x")) is None
        with pytest.raises(Exception) as info:
            spark._jvm.java.lang.Long.parseLong("not a number")
        assert malformed_record(info.value) is None
