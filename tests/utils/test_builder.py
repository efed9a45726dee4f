"""``pysetl.utils.Builder``: the ``build()`` then ``get()`` protocol."""

from __future__ import annotations

import pytest
from typing_extensions import Self

from pysetl.errors import BuilderError
from pysetl.utils import Builder
from pysetl.utils.exceptions import BuilderException


class Answer(Builder[int]):
    def __init__(self) -> None:
        self.value: int | None = None
        self.builds = 0

    def build(self) -> Self:
        self.builds += 1
        self.value = 42
        return self

    def get(self) -> int:
        if self.value is None:
            msg = "Answer is not built"
            raise BuilderError(msg)
        return self.value


class TestBuilder:
    def test_is_abstract(self):
        with pytest.raises(TypeError, match="abstract"):
            Builder()  # type: ignore[abstract]

    def test_get_before_build_raises_builder_error(self):
        with pytest.raises(BuilderError, match="not built"):
            Answer().get()

    def test_get_before_build_is_caught_by_except_exception(self):
        """The old ``BuilderException`` was a ``BaseException``; ours is not."""
        with pytest.raises(Exception) as info:
            Answer().get()
        assert isinstance(info.value, BuilderException)

    def test_build_returns_the_builder(self):
        builder = Answer()
        assert builder.build() is builder

    def test_get_or_create_builds_then_gets(self):
        builder = Answer()
        assert builder.getOrCreate() == 42
        assert builder.builds == 1

    def test_get_or_create_rebuilds_each_time(self):
        builder = Answer()
        builder.getOrCreate()
        builder.getOrCreate()
        assert builder.builds == 2
