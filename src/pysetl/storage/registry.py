"""The connector registry: from a config's storage name to a connector class.

``ConnectorBuilder`` asks the registry which class to build for a config.
The name of a config is its ``connector_type`` class attribute when it has
one, otherwise its model's ``storage`` value in lower case (``"csv"``,
``"parquet"``, ``"jdbc"``, ``"spark_sql"``...).

How to add a connector:

1. Write the connector (see ``pysetl.storage.connector.Connector``) and, if
   it needs one, a config class with ``connector_type = "mystore"``.
2. Either register it in code::

       default_registry().register("mystore", MyStoreConnector)

   or, from a distribution, declare an entry point in the group
   ``pysetl.connectors``::

       [project.entry-points."pysetl.connectors"]
       mystore = "mypackage.connectors:MyStoreConnector"

Entry points are loaded lazily, by name, on first use, so a broken plugin
only breaks its own name.

Added in 0.2.
"""

from __future__ import annotations

from enum import Enum
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pysetl.errors import AlreadyRegisteredError, ConfigError, ConnectorError

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

    from pysetl.config.config import Config
    from pysetl.storage.connector._base import Connector

    ConnectorFactory = Callable[[Config[Any]], Connector]

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorRegistry",
    "connector_name",
    "default_registry",
    "reset_registry",
]

ENTRY_POINT_GROUP = "pysetl.connectors"


def _builtins() -> dict[str, ConnectorFactory]:
    # Imported here: the connector package imports this module (via the builder).
    from pysetl.storage.connector._formats import (  # noqa: PLC0415
        CsvConnector,
        GenericFileConnector,
        JsonConnector,
        OrcConnector,
        ParquetConnector,
    )
    from pysetl.storage.connector._jdbc import JdbcConnector  # noqa: PLC0415
    from pysetl.storage.connector._table import SparkTableConnector  # noqa: PLC0415

    return {
        "csv": CsvConnector,
        "generic": GenericFileConnector,
        "jdbc": JdbcConnector,
        "json": JsonConnector,
        "orc": OrcConnector,
        "parquet": ParquetConnector,
        "spark_sql": SparkTableConnector,
    }


def connector_name(config: Config[Any]) -> str:
    """The registry name for ``config``.

    Args:
        config: Any config.

    Returns:
        ``config.connector_type`` if the class sets it, else the model's
        ``storage`` value in lower case.

    Raises:
        ConfigError: The config names no storage.
    """
    explicit = getattr(config, "connector_type", None)
    if isinstance(explicit, str):
        return explicit.lower()
    storage = getattr(config.config, "storage", None)
    if not isinstance(storage, Enum):
        msg = f"{type(config).__name__} names no storage, so no connector fits it"
        hint = (
            "Use a storage config (CsvConfig, JdbcConfig...), or set "
            "connector_type on your config class."
        )
        raise ConfigError(msg, hint=hint, config=type(config).__name__)
    return str(storage.value).lower()


class ConnectorRegistry:
    """Connector classes (or factories) by name, plus lazily loaded entry points.

    Args:
        builtins: Register pysetl's own connectors.
        entry_point_group: The entry-point group to look names up in, or ``None``
            to ignore entry points.

    Examples:
        >>> registry = ConnectorRegistry()
        >>> registry.register("memory", InMemoryConnector)  # doctest: +SKIP
        >>> registry.create(CsvConfig(path="/data/x.csv"))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        builtins: bool = True,
        entry_point_group: str | None = ENTRY_POINT_GROUP,
    ) -> None:
        """Start with the built-in connectors (unless ``builtins=False``)."""
        self._factories: dict[str, ConnectorFactory] = _builtins() if builtins else {}
        self._group = entry_point_group

    def register(
        self, name: str, factory: ConnectorFactory, *, replace: bool = False
    ) -> Self:
        """Register ``factory`` (usually a connector class) under ``name``.

        Raises:
            AlreadyRegisteredError: ``name`` is taken and ``replace`` is false.
        """
        key = name.lower()
        if key in self._factories and not replace:
            msg = f"A connector is already registered as {key!r}"
            hint = "Pick another name, or pass replace=True to override it."
            raise AlreadyRegisteredError(msg, hint=hint)
        self._factories[key] = factory
        return self

    def _entry_points(self) -> dict[str, Any]:
        if self._group is None:
            return {}
        return {ep.name.lower(): ep for ep in entry_points(group=self._group)}

    def names(self) -> list[str]:
        """Every known name, registered or declared by an entry point, sorted."""
        return sorted(set(self._factories) | set(self._entry_points()))

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is known."""
        return isinstance(name, str) and name.lower() in self.names()

    def get(self, name: str) -> ConnectorFactory:
        """The factory registered (or declared by an entry point) under ``name``.

        Raises:
            ConfigError: No connector has that name.
            ConnectorError: The entry point of that name failed to load.
        """
        key = name.lower()
        if key in self._factories:
            return self._factories[key]
        declared = self._entry_points().get(key)
        if declared is None:
            msg = f"No connector is registered as {key!r}; known: {self.names()}"
            hint = (
                "Check the config's storage, install the package that provides "
                f"the connector, or register it in the {self._group!r} entry-point "
                "group."
            )
            raise ConfigError(msg, hint=hint)
        try:
            factory: ConnectorFactory = declared.load()
        except Exception as exc:
            msg = f"Entry point {declared.value!r} of connector {key!r} failed to load"
            hint = "Reinstall the plugin that declares it, or fix its import."
            raise ConnectorError(msg, hint=hint) from exc
        self._factories[key] = factory
        return factory

    def create(self, config: Config[Any], name: str | None = None) -> Connector:
        """Build the connector for ``config`` (by ``name``, or the config's own).

        Raises:
            ConfigError: No connector has that name, or it rejects the config.
        """
        return self.get(name or connector_name(config))(config)


_default: ConnectorRegistry | None = None


def default_registry() -> ConnectorRegistry:
    """The process-wide registry ``ConnectorBuilder`` uses by default."""
    global _default  # noqa: PLW0603 - the one piece of global state, see reset_registry
    if _default is None:
        _default = ConnectorRegistry()
    return _default


def reset_registry() -> None:
    """Forget the process-wide registry; the next use builds a fresh one."""
    global _default  # noqa: PLW0603 - the one piece of global state
    _default = None
