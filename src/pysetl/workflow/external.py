"""``External``: the producer of everything that comes from outside a pipeline."""

from __future__ import annotations

from typing import final

from pysetl.utils.mixins import IsIdentifiable

__all__ = ["External"]


@final
class External(IsIdentifiable):
    """Marker producer for inputs that no factory of the pipeline produces.

    A ``Delivery`` whose producer is ``External`` (the default) accepts a
    deliverable from any producer; a ``Deliverable`` registered with
    ``Pipeline.set_input_from_deliverable`` is produced by ``External``.
    """

    @classmethod
    def delivery_type(cls) -> type[External]:
        """The class itself, for symmetry with ``Factory.delivery_type()``."""
        return cls
