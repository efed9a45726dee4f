from __future__ import annotations

import pytest

from pysetl.errors import DependencyResolutionError
from pysetl.utils.exceptions import InvalidDeliveryException
from pysetl.workflow import Delivery, External, Factory


class Producer(Factory[int]):
    def read(self):
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return 1


class Consumer(Producer):
    number = Delivery[int](producer=Producer, delivery_id="n")


class TestValue:
    @pytest.mark.parametrize("value", [0, "", [], False, None, 0.0])
    def test_falsy_values_are_valid(self, value):
        assert Delivery[object]().set(value).get() == value

    def test_unset_delivery_raises_the_old_exception(self):
        with pytest.raises(InvalidDeliveryException, match="Delivery with no value"):
            Delivery[int]().get()

    def test_error_carries_a_hint(self):
        with pytest.raises(DependencyResolutionError) as info:
            Delivery[int]().get()
        assert info.value.hint

    def test_set_returns_the_delivery(self):
        delivery = Delivery[int]()
        assert delivery.set(1) is delivery
        assert delivery.is_set

    def test_clear_empties_the_slot(self):
        delivery = Delivery[int]().set(1).clear()
        assert not delivery.is_set


class TestDeclaration:
    def test_defaults(self):
        delivery = Delivery[int]()
        assert delivery.producer is External
        assert delivery.delivery_id == ""
        assert delivery.consumer is None
        assert delivery.payload_type is int

    def test_declaring_class_becomes_the_consumer(self):
        assert Consumer.number.consumer is Consumer
        assert Consumer.number.name == "number"

    def test_set_consumer(self):
        delivery = Delivery[int]()
        assert delivery.set_consumer(Consumer) is delivery
        assert delivery.consumer is Consumer

    def test_unsubscripted_delivery_has_no_type(self):
        with pytest.raises(AttributeError, match="__orig_class__"):
            _ = Delivery().payload_type

    def test_repr(self):
        assert repr(Consumer.number) == "Delivery from Producer with type int"
        assert (
            str(Delivery[list[str]]()) == "Delivery from External with type list[str]"
        )

    def test_repr_of_unsubscripted_delivery(self):
        assert repr(Delivery()) == "Delivery from External with type ?"


class TestPerInstanceSlots:
    def test_each_instance_has_its_own_slot(self):
        first, second = Consumer(), Consumer()
        first.number.set(1)
        second.number.set(2)
        assert (first.number.get(), second.number.get()) == (1, 2)

    def test_instance_slot_does_not_touch_the_declaration(self):
        instance = Consumer()
        instance.number.set(5)
        assert not Consumer.number.is_set

    def test_slot_is_stable_per_instance(self):
        instance = Consumer()
        assert instance.number is instance.number
        assert instance.number is not Consumer.number

    def test_slot_copies_the_declaration(self):
        slot = Consumer().number
        assert slot.producer is Producer
        assert slot.delivery_id == "n"
        assert slot.consumer is Consumer
        assert slot.payload_type is int

    def test_value_set_on_the_declaration_is_a_default(self):
        class WithDefault(Producer):
            number = Delivery[int]()

        WithDefault.number.set(7)
        assert WithDefault().number.get() == 7

    def test_slot_is_one_small_object(self):
        slot = Consumer().number
        assert not hasattr(slot, "__dict__")
        # typing caches Delivery[int] in an LRU cache: equal, not always the same
        assert slot.__orig_class__ == Delivery[int]

    def test_slot_of_a_subclass_keeps_its_extra_attributes(self):
        class Tagged(Delivery[int]):  # no __slots__: instances have a __dict__
            pass

        declaration = Tagged(delivery_id="n")
        declaration.tag = "mine"

        class WithTag(Producer):
            number = declaration

        slot = WithTag().number
        assert type(slot) is Tagged
        assert slot.tag == "mine"
        assert slot.consumer is WithTag

    def test_delivery_outside_a_class_is_a_plain_object(self):
        delivery = Delivery[int]()
        holder = type("Holder", (), {})()
        assert delivery.__get__(holder, type(holder)) is delivery
