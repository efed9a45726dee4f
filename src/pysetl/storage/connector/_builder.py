"""``ConnectorBuilder``: the connector a config asks for, through the registry.

Changed in 0.2: the connector is looked up by storage name in the registry,
so ``GENERIC``, ``ORC``, ``JDBC`` and ``SPARK_SQL`` configs get their own
connectors (``GENERIC`` used to fall through to JSON and fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.errors import BuilderError
from pysetl.storage.registry import ConnectorRegistry, default_registry
from pysetl.utils._builder import Builder

if TYPE_CHECKING:
    from typing_extensions import Self

    from pysetl.config.config import Config
    from pysetl.storage.connector._base import Connector

__all__ = ["ConnectorBuilder"]


class ConnectorBuilder(Builder["Connector"]):
    """Builds the connector that fits a config.

    Examples:
        >>> ConnectorBuilder(CsvConfig(path="/data/x.csv")).getOrCreate()
        CsvConnector('/data/x.csv')

    Args:
        config: The config of the dataset.
        registry: Where to look the connector up; the process-wide one by default.
    """

    def __init__(
        self, config: Config[Any], registry: ConnectorRegistry | None = None
    ) -> None:
        """Remember the config; nothing is built yet."""
        self.config = config
        self.registry = registry
        self.connector: Connector | None = None

    def build(self) -> Self:
        """Create the connector.

        Raises:
            ConfigError: No connector fits the config, or the config is invalid.
        """
        registry = self.registry if self.registry is not None else default_registry()
        self.connector = registry.create(self.config)
        return self

    def get(self) -> Connector:
        """The built connector.

        Raises:
            BuilderError: ``build()`` was not called.
        """
        if self.connector is None:
            msg = "Connector is not defined"
            raise BuilderError(msg, hint="Call build() (or getOrCreate()) first.")
        return self.connector
