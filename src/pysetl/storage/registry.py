"""The connector registry: from a config's storage name to a connector class.

``ConnectorBuilder`` asks the registry which class to build for a config.
The name of a config is its ``connector_type`` class attribute when it has
one, otherwise its model's ``storage`` value in lower case (``"csv"``,
``"parquet"``, ``"jdbc"``, ``"spark_sql"``...).

How to add a connector:

1. Write the connector (see ``pysetl.storage.connector.Connector``) and, if
   it needs one, a config class with ``connector_type = "mystore"``.
2. Either register it in code:

    ```python
    default_registry().register("mystore", MyStoreConnector)
    ```

    or, from a distribution, declare an entry point in the group
    ``pysetl.connectors``:

    ```toml
    [project.entry-points."pysetl.connectors"]
    mystore = "mypackage.connectors:MyStoreConnector"
    ```

Entry points are loaded lazily, by name, on first use, so a broken plugin
only breaks its own name. pysetl's own connectors are declared the same way,
by the ``pysetl`` distribution (its ``pyproject.toml``); they are told apart
from third-party ones by that distribution, so ``builtins=False`` leaves them
out and a third-party name never shadows them.

Added in 0.2.

Changed in 0.7: the built-in connectors come from entry points too (the
registry no longer imports the connector modules).
"""

from __future__ import annotations

from enum import Enum
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from pysetl._state import STATE
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


_DISTRIBUTION = "pysetl"  # whose entry points are the built-in connectors


def _declared(group: str) -> tuple[dict[str, EntryPoint], dict[str, EntryPoint]]:
    """The entry points of ``group`` by lower-case name: pysetl's own, the others.

    The first declaration of a name wins (an editable install may list one twice).
    """
    own: dict[str, EntryPoint] = {}
    others: dict[str, EntryPoint] = {}
    for entry in entry_points(group=group):
        dist = getattr(entry, "dist", None)
        mine = dist is not None and dist.name == _DISTRIBUTION
        (own if mine else others).setdefault(entry.name.lower(), entry)
    return own, others


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
        self._factories: dict[str, ConnectorFactory] = {}
        self._builtins = _declared(ENTRY_POINT_GROUP)[0] if builtins else {}
        # Installed without its metadata (a bare source tree): say so on a miss.
        self._missing_builtins = builtins and not self._builtins
        self._group = entry_point_group

    def register(
        self, name: str, factory: ConnectorFactory, *, replace: bool = False
    ) -> Self:
        """Register ``factory`` (usually a connector class) under ``name``.

        Raises:
            AlreadyRegisteredError: ``name`` is taken and ``replace`` is false.
        """
        key = name.lower()
        if (key in self._factories or key in self._builtins) and not replace:
            msg = f"A connector is already registered as {key!r}"
            hint = "Pick another name, or pass replace=True to override it."
            raise AlreadyRegisteredError(msg, hint=hint)
        self._factories[key] = factory
        return self

    def _entry_points(self) -> dict[str, EntryPoint]:
        """The third-party entry points of the group (pysetl's own are built-ins)."""
        if self._group is None:
            return {}
        return _declared(self._group)[1]

    def names(self) -> list[str]:
        """Every known name, registered or declared by an entry point, sorted."""
        return sorted(
            set(self._factories) | set(self._builtins) | set(self._entry_points())
        )

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
        declared = self._builtins.get(key) or self._entry_points().get(key)
        if declared is None:
            msg = f"No connector is registered as {key!r}; known: {self.names()}"
            hint = (
                "Check the config's storage, install the package that provides "
                f"the connector, or register it in the {self._group!r} entry-point "
                "group."
            )
            if self._missing_builtins:
                hint = (
                    f"pysetl's own connectors are missing: its {ENTRY_POINT_GROUP!r} "
                    "entry points are not installed; reinstall pysetl "
                    "(pip install pysetl, or pip install -e . in a checkout)."
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


def default_registry() -> ConnectorRegistry:
    """The process-wide registry ``ConnectorBuilder`` uses by default.

    Made on first use and kept in ``pysetl._state.STATE``.
    """
    registry = STATE.connector_registry
    if registry is None:
        registry = STATE.connector_registry = ConnectorRegistry()
    return registry


def reset_registry() -> None:
    """Forget the process-wide registry; the next use builds a fresh one."""
    STATE.connector_registry = None
