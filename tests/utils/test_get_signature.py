"""``pysetl.utils.get_signature.get_signature``: parameter names of a callable."""

from __future__ import annotations

from pysetl.utils.get_signature import get_signature


def _function(a, b=1, *args, c, **kwargs):
    return a, b, args, c, kwargs


class _WithInit:
    def __init__(self, x, y=2):
        self.x = x
        self.y = y


class TestGetSignature:
    def test_function_parameters_in_order(self):
        assert get_signature(_function) == ["a", "b", "args", "c", "kwargs"]

    def test_lambda_without_parameters(self):
        assert get_signature(lambda: None) == []

    def test_unbound_init_includes_self(self):
        assert get_signature(_WithInit.__init__) == ["self", "x", "y"]

    def test_class_gives_its_constructor_parameters(self):
        assert get_signature(_WithInit) == ["x", "y"]
