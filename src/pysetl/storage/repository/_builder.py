"""``SparkRepositoryBuilder[T]``: a ``SparkRepository[T]`` from a config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args

from typedspark import Schema

from pysetl.errors import BuilderError
from pysetl.storage.connector._builder import ConnectorBuilder
from pysetl.storage.repository._spark import SparkRepository
from pysetl.utils._builder import Builder

if TYPE_CHECKING:
    from typing_extensions import Self

    from pysetl.config.config import Config
    from pysetl.storage.registry import ConnectorRegistry

__all__ = ["SparkRepositoryBuilder"]

T = TypeVar("T", bound=Schema)


class SparkRepositoryBuilder(Builder[SparkRepository[T]], Generic[T]):
    """Builds ``SparkRepository[T]`` with the connector its config asks for.

    It must be subscripted: ``SparkRepositoryBuilder[Orders](config)``.

    Examples:
        >>> repo = SparkRepositoryBuilder[Orders](ParquetConfig(path=p)).getOrCreate()
        ... # doctest: +SKIP

    Args:
        config: The dataset's config.
        cache: Whether the repository caches loads.
        registry: Where to look the connector up; the process-wide one by default.
    """

    def __init__(
        self,
        config: Config[Any],
        cache: bool = False,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        """Remember the config; nothing is built yet."""
        self.config = config
        self.cache = cache
        self.registry = registry
        self._repository: SparkRepository[T] | None = None

    def build(self) -> Self:
        """Build the connector, then the repository.

        Raises:
            AttributeError: The builder was not subscripted.
            ConfigError: No connector fits the config.
        """
        schema = get_args(self.__orig_class__)[0]  # type: ignore[attr-defined]
        connector = ConnectorBuilder(self.config, self.registry).getOrCreate()
        self._repository = SparkRepository[schema](connector, self.cache)  # type: ignore[valid-type]
        return self

    def get(self) -> SparkRepository[T]:
        """The built repository.

        Raises:
            BuilderError: ``build()`` was not called.
        """
        if self._repository is None:
            msg = "No SparkRepository built"
            raise BuilderError(msg, hint="Call build() (or getOrCreate()) first.")
        return self._repository
