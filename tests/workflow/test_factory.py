# ruff: noqa: E721 - DeliveryType's __eq__ against raw types is what we test
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import pytest

from pysetl.workflow import Deliverable, Delivery, External, Factory, Stage
from pysetl.workflow.delivery_type import DeliveryType

T = TypeVar("T")


class Base(Factory[int]):
    def read(self):
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return 42


class Mixin:
    pass


class GenericBase(Factory[T], Generic[T]):
    def read(self):
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return None


class OfStr(GenericBase[str]):
    pass


class MixinFirst(Mixin, Factory[float]):
    def read(self):
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return 1.0


class Child(Base):
    zeta = Delivery[str]()
    alpha = Delivery[int](producer=Base)


class GrandChild(Child):
    beta = Delivery[float]()


class TestDeliveryType:
    @pytest.mark.parametrize(
        ("cls", "expected"),
        [
            (Base, int),
            (OfStr, str),
            (MixinFirst, float),
            (Child, int),
            (GrandChild, int),
        ],
    )
    def test_output_type_is_found(self, cls, expected):
        assert cls.delivery_type() == expected
        assert isinstance(cls.delivery_type(), DeliveryType)

    def test_raw_factory_base_has_no_type(self):
        class Raw(Factory):  # type: ignore[type-arg]
            read = process = write = get = Base.read

        with pytest.raises(
            NotImplementedError, match="Raw factory does not have a type"
        ):
            Raw.delivery_type()

    def test_unparameterised_generic_base_has_no_type(self):
        with pytest.raises(NotImplementedError):
            GenericBase.delivery_type()

    def test_subclass_of_untyped_generic_has_no_type(self):
        class Untyped(GenericBase):  # type: ignore[type-arg]
            pass

        with pytest.raises(NotImplementedError):
            Untyped.delivery_type()


class TestExpectedDeliveries:
    def test_ordered_by_attribute_name_with_inherited_ones(self):
        names = [name for name, _ in GrandChild.declared_deliveries()]
        assert names == ["alpha", "beta", "zeta"]

    def test_consumer_is_the_asking_class_without_touching_declarations(self):
        child = Child.expected_deliveries()
        grand = GrandChild.expected_deliveries()
        assert {d.consumer for d in child} == {Child}
        assert {d.consumer for d in grand} == {GrandChild}
        assert Child.zeta.consumer is Child

    def test_a_subclass_can_hide_a_delivery(self):
        class Hidden(Child):
            zeta = None

        assert [n for n, _ in Hidden.declared_deliveries()] == ["alpha"]


class TestIdentityAndOutput:
    def test_instances_get_a_uuid(self):
        assert Base().uuid != Base().uuid

    def test_subclass_init_without_super_can_still_be_added(self):
        class NoSuper(Base):
            def __init__(self) -> None:
                self.x = 1

        factory = NoSuper()
        Stage().add_factory(factory)
        assert factory.uuid

    def test_dataclass_factories_get_a_uuid(self):
        @dataclass
        class Data(Base):
            x: int = 1

        assert Data().uuid

    def test_deliverable_wraps_get(self):
        class Restricted(Base):
            delivery_id = "r"
            consumers = {Child}  # noqa: RUF012 - the old API declares a set

        d = Restricted().deliverable
        assert isinstance(d, Deliverable)
        assert (d.payload, d.producer, d.consumers, d.delivery_id) == (
            42,
            Restricted,
            {Child},
            "r",
        )
        assert d.payload_type == int

    def test_defaults(self):
        factory = Base()
        assert factory.consumers == set()
        assert factory.delivery_id == ""
        assert factory.is_writable
        assert factory.writable(False) is factory
        assert not factory.is_writable

    def test_name_str_and_repr(self):
        assert Base.name() == "Base"
        assert str(OfStr()) == "OfStr -> str"
        assert repr(Base()) == "Base will produce a int"

    def test_abstract_factory_cannot_be_instantiated(self):
        with pytest.raises(TypeError):
            Factory()  # type: ignore[abstract]

    def test_external_is_its_own_delivery_type(self):
        assert External.delivery_type() is External
        assert External().uuid
