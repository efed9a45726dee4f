"""``NodeOutput``: the output of a node of the DAG, and its Mermaid class."""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from typing import Any

from pysetl.errors import PySetlError
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasDiagram
from pysetl.workflow.delivery_type import DeliveryType

__all__ = ["NodeOutput"]


@dataclass
class NodeOutput(HasDiagram):
    """The type, consumers and id of what a node produces.

    Args:
        delivery_type: The payload type.
        consumer: The factory classes allowed to consume it (empty: any).
        delivery_id: The output's id.
        final_output: Whether it comes from the last stage.
        external: Whether it is an external input.
    """

    delivery_type: Any
    consumer: set[type[Any]] | frozenset[type[Any]] = field(default_factory=set)
    delivery_id: str = ""
    final_output: bool = False
    external: bool = False

    @property
    def wrapped_delivery_type(self) -> DeliveryType:
        """The payload type as a ``DeliveryType``."""
        return DeliveryType(self.delivery_type)

    @property
    def diagram_id(self) -> str:
        """``<type without brackets><Id><Final|External>``, e.g. ``intLenFinal``."""
        suffix = ("Final" if self.final_output else "") + (
            "External" if self.external else ""
        )
        return self.format_diagram_id(
            pretty(self.delivery_type), self.delivery_id, suffix
        )

    def get_fields(self) -> list[str]:
        """One ``    >name: type`` line per field of the payload type, if it has any.

        Raises:
            PySetlError: The type is a typedspark ``DataSet`` without a schema.
        """
        return [f"    >{name}: {tp}" for name, tp in self.fields()]

    def fields(self) -> list[tuple[str, str]]:
        """``(name, type)`` of each field of the payload type, if it has any.

        The fields of a dataclass (generic ones with their arguments), of a
        typedspark ``DataSet[Schema]`` (Spark types, e.g. ``bigint``), or of
        a pydantic model; ``[]`` for any other type.

        Raises:
            PySetlError: The type is a typedspark ``DataSet`` without a schema.

        Added in 0.5.
        """
        tp = self.delivery_type
        origin = typing.get_origin(tp)
        if origin is not None and dataclasses.is_dataclass(origin):
            params = getattr(origin, "__parameters__", ())
            mapping = dict(zip(params, typing.get_args(tp), strict=False))
            hints = typing.get_type_hints(origin)
            return [
                (f.name, pretty(mapping.get(hints[f.name], hints[f.name])))
                for f in dataclasses.fields(origin)
            ]
        schema_fields = _dataset_fields(tp)
        if schema_fields is not None:
            return schema_fields
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            return [(f.name, pretty(hints[f.name])) for f in dataclasses.fields(tp)]
        model_fields = getattr(tp, "model_fields", None)
        if isinstance(tp, type) and isinstance(model_fields, dict):
            return [
                (name, pretty(info.annotation)) for name, info in model_fields.items()
            ]
        return []

    def to_diagram(self) -> str:
        """The Mermaid class of the output."""
        lines = [f"class {self.diagram_id} {{", f"    <<{pretty(self.delivery_type)}>>"]
        lines.extend(self.get_fields())
        lines.append("}")
        return "\n".join(lines)


def _dataset_fields(tp: Any) -> list[tuple[str, str]] | None:
    if "typedspark" not in sys.modules or not isinstance(tp, type):
        return None
    from typedspark import DataSet  # noqa: PLC0415 - only when already loaded

    if not issubclass(tp, DataSet):
        return None
    schema = getattr(tp, "_schema_annotations", None)
    if schema is None:
        msg = "DataSet has no schema."
        raise PySetlError(msg, hint="write DataSet[MySchema], not DataSet")
    return [(f.name, f.dataType.simpleString()) for f in schema.get_structtype().fields]
