from __future__ import annotations

from enum import Enum

import pytest

from pysetl.enums import DbStorage, FileStorage, SaveMode, SparkEncoding


class TestEnums:
    @pytest.mark.parametrize("enum", [DbStorage, FileStorage, SaveMode, SparkEncoding])
    def test_every_enum_is_a_plain_enum_with_string_values(self, enum):
        assert issubclass(enum, Enum)
        assert all(isinstance(member.value, str) for member in enum)

    def test_file_storage_values_are_spark_format_names(self):
        assert {m.name: m.value for m in FileStorage} == {
            "CSV": "csv",
            "PARQUET": "parquet",
            "JSON": "json",
            "ORC": "orc",
            "GENERIC": "generic",
        }

    def test_db_storage_values_are_the_upper_case_names(self):
        assert [m.name for m in DbStorage] == [
            "JDBC",
            "DELTA",
            "CASSANDRA",
            "DYNAMODB",
            "HUDI",
            "SPARK_SQL",
            "STRUCTURED_STREAMING",
        ]
        assert all(m.value == m.name for m in DbStorage)

    def test_spark_encoding_values_use_dashes(self):
        assert [m.value for m in SparkEncoding] == [
            "US-ASCII",
            "ISO-8859-1",
            "UTF-8",
            "UTF-16BE",
            "UTF-16LE",
            "UTF-16",
        ]

    def test_save_mode_values_are_what_the_spark_writer_expects(self):
        assert [m.value for m in SaveMode] == [
            "append",
            "errorifexists",
            "ignore",
            "overwrite",
        ]
