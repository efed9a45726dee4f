"""Workflow test fixtures: factory classes made to order, fresh hook managers.

The default hook manager is reset around every test by the root conftest.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pysetl.workflow import Delivery, Factory
from pysetl.workflow.hooks import HookManager


def make_factory(
    name: str,
    out: Any,
    *,
    compute: Callable[..., Any] | None = None,
    delivery_id: str = "",
    consumers: set[type[Any]] | None = None,
    base: type[Factory[Any]] | None = None,
    **inputs: Delivery[Any],
) -> type[Factory[Any]]:
    """A factory class named ``name`` producing ``out``.

    ``compute(**values)`` receives the values of the ``inputs`` deliveries by
    attribute name; without it the factory outputs ``None``.
    """
    parent = base if base is not None else Factory[out]  # type: ignore[valid-type]

    def read(self: Any) -> Any:
        self.values = {key: getattr(self, key).get() for key in inputs}
        return self

    def process(self: Any) -> Any:
        self.result = compute(**self.values) if compute is not None else None
        return self

    def write(self: Any) -> Any:
        self.written = True
        return self

    def get(self: Any) -> Any:
        return self.result

    namespace: dict[str, Any] = {
        "read": read,
        "process": process,
        "write": write,
        "get": get,
        "delivery_id": delivery_id,
        "consumers": consumers or set(),
        **inputs,
    }
    return types.new_class(name, (parent,), exec_body=lambda ns: ns.update(namespace))


@pytest.fixture
def factory() -> Callable[..., type[Factory[Any]]]:
    """``make_factory``, as a fixture."""
    return make_factory


@pytest.fixture
def hooks() -> Iterator[HookManager]:
    """A manager without observers (and without entry points), closed after the test."""
    with HookManager() as manager:
        yield manager
