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
from typing import TYPE_CHECKING, Any

from pysetl.storage.registry import default_registry
from pysetl.utils.mixins import HasLogger, HasSparkSession

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pysetl.config.config import BaseConfigModel, Config
    from pysetl.storage.registry import ConnectorRegistry

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

    Examples:
        A connector that serves a fixed DataFrame:

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

    config: BaseConfigModel

    @staticmethod
    def from_config(
        config: Config[Any],
        *,
        name: str | None = None,
        registry: ConnectorRegistry | None = None,
    ) -> Connector:
        """The connector registered for ``config`` (or for ``name``).

        Args:
            config: The dataset's config.
            name: A registry name that overrides the config's own.
            registry: Where to look; the process-wide registry by default.

        Raises:
            ConfigError: No connector has that name, or it rejects the config.

        Added in 0.2.
        """
        chosen = registry if registry is not None else default_registry()
        return chosen.create(config, name)

    def __repr__(self) -> str:
        """``<Class>(<what it points at>)``, never with a secret."""
        return f"{type(self).__name__}({self.target!r})"

    @property
    def target(self) -> str:
        """What the connector points at (a path, a table), for messages."""
        return type(self).__name__
