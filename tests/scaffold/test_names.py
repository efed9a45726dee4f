"""Project, package, pipeline and factory names: checked, converted, suggested."""

from __future__ import annotations

import pytest

from pysetl.errors import PySetlError
from pysetl.scaffold import (
    ScaffoldError,
    check_factory_name,
    check_pipeline_name,
    check_project_name,
)


class TestProjectNames:
    @pytest.mark.parametrize(
        ("name", "package"),
        [("demo_project", "demo_project"), ("Shop-ETL", "shop_etl"), ("a1", "a1")],
    )
    def test_a_valid_name_gives_its_package(self, name, package):
        assert check_project_name(name) == package

    @pytest.mark.parametrize(
        ("name", "problem", "suggestion"),
        [
            ("1bad", "does not start with a letter", "'project_1bad'"),
            ("my etl", "holds ' '", "'my_etl'"),
            ("", "is empty", "'project'"),
            ("shop.etl", "holds '.'", "'shop_etl'"),
        ],
    )
    def test_an_invalid_name_says_why_and_suggests_one(self, name, problem, suggestion):
        with pytest.raises(ScaffoldError) as info:
            check_project_name(name)
        assert info.value.message == f"The project name {name!r} {problem}"
        assert info.value.hint.endswith(f"try {suggestion}")
        assert isinstance(info.value, PySetlError)

    @pytest.mark.parametrize("name", ["pyspark", "json", "class", "tests"])
    def test_a_name_that_hides_a_module_is_refused(self, name):
        with pytest.raises(ScaffoldError, match="hides a Python keyword or a module"):
            check_project_name(name)


class TestFactoryNames:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("EnrichOrders", ("EnrichOrders", "enrich_orders")),
            ("enrich_orders", ("EnrichOrders", "enrich_orders")),
            ("loadCSVFiles", ("LoadCSVFiles", "load_csv_files")),
            ("Step2", ("Step2", "step2")),
        ],
    )
    def test_camel_and_snake_case_give_class_and_module(self, name, expected):
        assert check_factory_name(name) == expected

    def test_an_invalid_name_suggests_a_class_name(self):
        with pytest.raises(ScaffoldError, match="is not a Python class name") as info:
            check_factory_name("9x")
        assert info.value.hint.endswith("try 'Factory9x'")

    def test_a_module_that_hides_another_is_refused(self):
        with pytest.raises(ScaffoldError, match="module 'json'"):
            check_factory_name("Json")


class TestPipelineNames:
    def test_lowercase_names_pass_and_others_get_a_suggestion(self):
        assert check_pipeline_name("daily-sales") == "daily-sales"
        with pytest.raises(ScaffoldError, match="'Daily Sales' is not valid") as info:
            check_pipeline_name("Daily Sales")
        assert info.value.hint.endswith("try 'daily_sales'")
