# ruff: noqa: E721 - DeliveryType's __eq__ against raw types is what we test
from __future__ import annotations

import pytest

from pysetl.workflow import Deliverable, External, Factory


class A(Factory[int]):
    def read(self):
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return 1


class B(A):
    pass


class TestDeliverable:
    def test_defaults(self):
        d = Deliverable[int](3)
        assert d.producer is External
        assert d.consumers == set()
        assert d.delivery_id == ""
        assert d.payload_type == int

    def test_each_has_its_own_uuid(self):
        assert Deliverable[int](1).uuid != Deliverable[int](1).uuid

    def test_equality_compares_fields(self):
        assert Deliverable[int](1, delivery_id="x") == Deliverable[int](
            1, delivery_id="x"
        )
        assert Deliverable[int](1) != Deliverable[int](2)

    def test_is_unhashable(self):
        with pytest.raises(TypeError):
            hash(Deliverable[int](1))

    def test_unsubscripted_falls_back_to_the_payload_type(self):
        assert Deliverable("x").payload_type == str

    def test_setters_are_fluent(self):
        d = Deliverable[int](1)
        assert d.set_producer(A).set_consumers({B}).set_delivery_id("k") is d
        assert (d.producer, d.consumers, d.delivery_id) == (A, {B}, "k")

    def test_type_comparisons(self):
        d = Deliverable[list[int]]([1])
        assert d.is_payload_type(list[int])
        assert not d.is_payload_type(list[str])
        assert d.has_same_payload_type(Deliverable[list[int]]([]))
        assert d.has_same_payload_type_name("list[int]")

    def test_same_deliverable_with_intersecting_consumers(self):
        left = Deliverable[int](1, producer=A, consumers={A, B})
        assert left.same_deliverable(Deliverable[int](2, producer=A, consumers={B}))
        other = Deliverable[int](2, producer=A, consumers={object})
        assert not left.same_deliverable(other)

    def test_same_deliverable_when_both_are_for_anyone(self):
        """Changed: two deliverables for any consumer are the same (defect 6)."""
        assert Deliverable[int](1, producer=A).same_deliverable(
            Deliverable[int](2, producer=A)
        )

    def test_not_same_with_other_type_or_producer(self):
        assert not Deliverable[int](1).same_deliverable(Deliverable[str]("1"))
        assert not Deliverable[int](1, producer=A).same_deliverable(Deliverable[int](1))

    def test_not_same_when_only_one_is_for_anyone(self):
        assert not Deliverable[int](1, consumers={A}).same_deliverable(
            Deliverable[int](1)
        )

    def test_repr_and_str(self):
        d = Deliverable[int](1, producer=A, consumers={B, A})
        assert repr(d) == "Deliverable[int]"
        assert str(d) == "Deliverable: int\n  From: A\n  To: A, B"

    def test_describe_names_type_id_and_producer(self):
        d = Deliverable[int](1, producer=A, delivery_id="x")
        assert d.describe() == "Deliverable[int](delivery_id='x', producer=A)"
