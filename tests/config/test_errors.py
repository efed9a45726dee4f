"""A config that fails validation raises an error both old and new code catch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pysetl.config import ConfigValidationError, CsvConfig, JdbcConfig
from pysetl.errors import ConfigError, PySetlError
from pysetl.utils.exceptions import InvalidConfigException


def invalid_csv_error() -> ConfigValidationError:
    with pytest.raises(ConfigValidationError) as info:
        _ = CsvConfig(path="/x", inferSchema=True).config
    return info.value


class TestConfigValidationError:
    @pytest.mark.parametrize(
        "caught",
        [ValidationError, ConfigError, InvalidConfigException, PySetlError, ValueError],
    )
    def test_is_caught_by_old_and_new_except_clauses(self, caught):
        with pytest.raises(caught):
            _ = CsvConfig(path="/x", inferSchema=True).config

    def test_message_names_config_field_and_expectation(self):
        error = invalid_csv_error()
        assert error.message == (
            "Invalid CsvConfig: 1 problem\n"
            "  - inferSchema: Input should be a valid string (got bool)"
        )
        assert error.hint is not None
        assert str(error) == error.message
        assert error.__notes__ == [f"hint: {error.hint}"]

    def test_carries_the_config_name_and_the_problems(self):
        error = invalid_csv_error()
        assert error.config == "CsvConfig"
        assert error.errors == [
            {
                "type": "string_type",
                "loc": ("inferSchema",),
                "msg": "Input should be a valid string",
                "input": True,
            }
        ]
        assert error.context["config"] == "CsvConfig"

    def test_pydantic_api_still_works(self):
        error = invalid_csv_error()
        assert error.error_count() == 1
        assert error.errors()[0]["loc"] == ("inferSchema",)
        assert error.title == "CsvConfig"

    def test_a_missing_field_is_reported_without_a_type(self):
        with pytest.raises(ConfigError) as info:
            _ = CsvConfig().config
        assert str(info.value).endswith("  - path: Field required")

    def test_every_problem_is_reported_at_once(self):
        with pytest.raises(ConfigError) as info:
            _ = JdbcConfig(url="x", table="t", fetchsize=0).config
        assert str(info.value).startswith("Invalid JdbcConfig: 2 problems")
