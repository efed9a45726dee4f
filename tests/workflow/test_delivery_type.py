# ruff: noqa: E721 - DeliveryType's __eq__ against raw types is what we test
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Generic, TypeVar

from hypothesis import given
from hypothesis import strategies as st

from pysetl.workflow.delivery_type import DeliveryType

T = TypeVar("T")


@dataclass
class Box(Generic[T]):
    item: T


class Meta(type):
    def __eq__(cls, other: object) -> bool:
        return isinstance(other, Meta)

    __hash__ = type.__hash__


class WithMeta(metaclass=Meta):
    pass


ATOMS = [int, str, float, bool, bytes, type(None), Box]
atoms = st.sampled_from(ATOMS)
types_ = st.recursive(
    atoms,
    lambda inner: st.one_of(
        inner.map(lambda a: list[a]),
        inner.map(lambda a: Box[a]),
        st.tuples(inner, inner).map(lambda ab: dict[ab[0], ab[1]]),
    ),
    max_leaves=4,
)


class TestMatching:
    def test_plain_classes_match_by_identity(self):
        assert DeliveryType(int) == int
        assert DeliveryType(int) != bool

    def test_no_subclass_matching(self):
        class MyInt(int):
            pass

        assert DeliveryType(MyInt) != int
        assert DeliveryType(int) != MyInt

    def test_builtin_and_typing_aliases_match(self):
        assert DeliveryType(list[int]) == typing.List[int]  # noqa: UP006
        assert DeliveryType(list[int]) == DeliveryType(list[int])

    def test_aliases_with_different_args_differ(self):
        assert DeliveryType(Box[int]) != Box[str]
        assert DeliveryType(list[int]) != list[str]

    def test_alias_and_plain_class_differ(self):
        assert DeliveryType(list[int]) != list
        assert DeliveryType(list) != list[int]

    def test_unions_match_by_members(self):
        assert DeliveryType(int | None) == typing.Optional[int]  # noqa: UP045

    def test_wrapping_a_delivery_type_unwraps_it(self):
        inner = DeliveryType(list[int])
        outer = DeliveryType(inner)
        assert outer.tp == list[int]
        assert outer == inner
        assert hash(outer) == hash(inner)

    def test_repr_is_the_types_repr(self):
        assert repr(DeliveryType(int)) == repr(int)

    def test_metaclass_equality_is_not_trusted(self):
        class Other(metaclass=Meta):
            pass

        assert DeliveryType(WithMeta) == WithMeta
        assert DeliveryType(WithMeta) != Other

    def test_unhashable_objects_match_only_themselves(self):
        marker: list[int] = []
        assert DeliveryType(marker) == marker
        assert DeliveryType(marker) != []

    def test_non_type_objects_match_only_themselves(self):
        marker = "x"
        assert DeliveryType(marker) == DeliveryType(marker)
        assert DeliveryType(marker) != 1

    def test_key_is_exposed(self):
        assert DeliveryType(int).key is int

    def test_not_equal_to_unrelated_objects(self):
        assert DeliveryType(int) != 3
        assert DeliveryType(int) != None  # noqa: E711 - testing __eq__ itself


class TestProperties:
    @given(types_)
    def test_every_type_matches_itself_and_hashes_alike(self, tp):
        assert DeliveryType(tp) == tp
        assert DeliveryType(tp) == DeliveryType(tp)
        assert hash(DeliveryType(tp)) == hash(DeliveryType(tp))

    @given(types_, types_)
    def test_equality_is_symmetric_and_consistent_with_hash(self, a, b):
        left, right = DeliveryType(a), DeliveryType(b)
        assert (left == right) == (right == left)
        if left == right:
            assert hash(left) == hash(right)

    @given(types_, types_)
    def test_equality_agrees_with_structural_equality(self, a, b):
        assert (DeliveryType(a) == b) == (a == b)
