"""``run_factory``: run one factory with its deliveries filled from a test's inputs.

The factory runs inside a one-stage ``Pipeline``, so injection, the
pre-flight check, the output check and the errors (``FactoryError`` with a
hint, ``DependencyResolutionError`` naming what is missing) are the engine's
own. Nothing observes it unless the test asks: no run history is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pysetl.workflow import Deliverable, HookManager, Pipeline, Stage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pysetl.workflow.factory import Factory

__all__ = ["run_factory"]


def run_factory(
    factory: type[Factory[Any]] | Factory[Any],
    inputs: Mapping[str, Any] | Iterable[Deliverable[Any]] = (),
    *,
    write: bool = True,
    spark: Any = None,
    hooks: HookManager | None = None,
    name: str | None = None,
) -> Any:
    """Run ``factory`` (read, process, write, get) and return its output.

    Args:
        factory: The factory class (instantiated with no arguments) or an
            instance.
        inputs: Either a mapping from the factory's delivery attribute names
            to values (each is offered with that delivery's type, id and
            producer, so it can only fill that delivery), or ``Deliverable``
            objects, matched by type, id and producer as in a pipeline.
        write: Call ``write()`` (the default); off, only read, process, get.
        spark: The SparkSession whose jobs get labelled (default: the
            running one, if any).
        hooks: The hook manager whose observers see the run; default: none,
            so nothing is recorded.
        name: The pipeline's name in errors and events (default: the
            factory's class name).

    Returns:
        What the factory's ``get()`` returned.

    Raises:
        ValueError: A mapping key names no delivery of the factory (the
            message lists the ones it declares).
        TypeError: An item of a sequence of inputs is not a ``Deliverable``.
        DependencyResolutionError: A delivery has no input (nothing ran).
        FactoryError: The factory failed (with the engine's hint).

    Examples:
        >>> run_factory(CountOrders, inputs={"orders": ["a", "b"]})
        2

    Added in 0.5.
    """
    instance = factory() if isinstance(factory, type) else factory
    cls = type(instance)
    pipeline = Pipeline(
        hooks=hooks if hooks is not None else HookManager(),
        name=name or cls.__name__,
        spark=spark,
    )
    for deliverable in _deliverables(cls, inputs):
        pipeline.set_input_from_deliverable(deliverable)
    pipeline.add_stage(Stage().writable(write).add_factory(instance))
    return pipeline.run().get_last_output()


def _deliverables(
    cls: type[Factory[Any]], inputs: Mapping[str, Any] | Iterable[Deliverable[Any]]
) -> list[Deliverable[Any]]:
    if not isinstance(inputs, Mapping):
        found: list[Any] = list(inputs)
        for item in found:
            if not isinstance(item, Deliverable):
                msg = (
                    f"run_factory inputs must be Deliverable objects or a mapping, "
                    f"not {type(item).__name__} ({item!r})"
                )
                raise TypeError(msg)
        return found
    declared = dict(cls.declared_deliveries())
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        msg = (
            f"{cls.__name__} declares no delivery {unknown[0]!r}; "
            f"its deliveries are {sorted(declared)}"
        )
        raise ValueError(msg)
    return [
        Deliverable(
            payload=value,
            producer=declared[attr].producer,
            delivery_id=declared[attr].delivery_id,
        ).with_payload_type(declared[attr].delivery_type())
        for attr, value in inputs.items()
    ]
