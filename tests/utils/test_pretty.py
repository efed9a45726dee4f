"""``pysetl.utils.pretty``: short names for types, generic aliases and objects."""

from __future__ import annotations

import types
import typing
from typing import Generic, TypeVar

import pytest

from pysetl.utils import pretty

T = TypeVar("T")


class GenericTest(Generic[T]):
    pass


class TestPretty:
    def test_none_is_empty(self):
        assert pretty(None) == ""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("module.type", "type"), ("a.b.C", "C"), ("plain", "plain"), ("", "")],
    )
    def test_string_keeps_last_dotted_segment(self, text, expected):
        assert pretty(text) == expected

    def test_builtin_generic_alias(self):
        assert pretty(list[int]) == "list[int]"

    def test_nested_generic_alias_is_formatted_recursively(self):
        assert pretty(dict[str, list[int]]) == "dict[str, list[int]]"

    def test_typing_generic_alias(self):
        assert pretty(typing.List[int]) == "list[int]"  # noqa: UP006

    def test_typing_union(self):
        assert pretty(typing.Union[int, str]) == "Union[int, str]"  # noqa: UP007

    def test_user_generic(self):
        assert pretty(GenericTest[int]) == "GenericTest[int]"

    def test_type_of_a_user_generic_alias(self):
        assert pretty(type(GenericTest[int])) == "_GenericAlias"

    def test_class_gives_its_name(self):
        assert pretty(GenericTest) == "GenericTest"
        assert pretty(int) == "int"

    def test_anything_else_gives_its_repr(self):
        assert pretty(1) == "1"
        assert pretty([1, "a"]) == "[1, 'a']"

    def test_alias_without_arguments_gives_the_origin(self):
        assert pretty(types.GenericAlias(list, ())) == "list"

    def test_origin_without_a_name_is_formatted_from_its_str(self):
        """An origin with neither ``__name__`` nor ``_name`` falls back to ``str``."""
        alias = types.GenericAlias("package.module.Thing", (int,))
        assert pretty(alias) == "Thing[int]"
