"""Describing foreign errors in one short, secret-free line."""

from __future__ import annotations

import pytest

from pysetl.storage._spark_errors import describe_exception, full_text


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
