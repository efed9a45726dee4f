"""``BaseConnector`` and ``Connector``: what every connector promises.

How to add a connector: subclass ``Connector``, take your config in
``__init__`` (check its type and raise ``ConfigError`` otherwise), implement
``read()`` and ``write()``, mix in ``CanDrop``/``CanPartition`` for the
capabilities you support, and register the class under a name (see
``pysetl.storage.registry``). Wrap storage errors once, in your connector,
with ``raise ConnectorError(msg) from exc``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from pysetl.utils.mixins import HasLogger, HasSparkSession

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pyspark.sql import DataFrame

__all__ = ["BaseConnector", "Connector"]


class BaseConnector(ABC):
    """Reads and writes one dataset as a Spark ``DataFrame``."""

    @abstractmethod
    def read(self) -> DataFrame:
        """Read the dataset."""

    @abstractmethod
    def write(self, data: DataFrame) -> None:
        """Write ``data`` to the dataset."""


class Connector(BaseConnector, HasSparkSession, HasLogger):
    """A connector backed by Spark, configured by a validated model.

    Example (a connector that serves a fixed DataFrame):
        >>> class ConstantConnector(Connector):
        ...     def __init__(self, options: Config) -> None:
        ...         self.config = options.config
        ...     def read(self) -> DataFrame:
        ...         return self.spark.range(3).toDF("id")
        ...     def write(self, data: DataFrame) -> None:
        ...         raise ConnectorError("ConstantConnector is read-only")

    Attributes:
        config: The validated config model.
    """

    config: BaseModel

    def __repr__(self) -> str:
        """``<Class>(<what it points at>)``, never with a secret."""
        return f"{type(self).__name__}({self.target!r})"

    @property
    def target(self) -> str:
        """What the connector points at (a path, a table), for messages."""
        return type(self).__name__
