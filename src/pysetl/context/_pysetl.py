"""``PySetl``: the SparkSession, the configs and the external inputs of a project.

It registers repositories as the pipelines' external inputs (telling a
repeated registration from a changed one) and creates pipelines that get
them; ``PySetlBuilder`` (``pysetl.context._builder``) makes it.

Changed in 0.7: moved from ``pysetl._context``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pysetl.errors import ConfigError
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasLogger, HasRegistry
from pysetl.workflow.deliverable import Deliverable
from pysetl.workflow.pipeline import Pipeline

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from uuid import UUID

    from pyspark.sql import SparkSession
    from typedspark import Schema
    from typing_extensions import Self

    from pysetl.config import Config, ResolvedConfig
    from pysetl.context._builder import PySetlBuilder
    from pysetl.runtime import Session
    from pysetl.storage.repository import SparkRepository
    from pysetl.workflow.hooks import HookManager

__all__ = ["PySetl"]

S = TypeVar("S", bound="Schema")


@dataclass(frozen=True)
class _Request:
    """What an external input was registered with, to tell a repeat from a change."""

    payload_key: Any
    consumers: frozenset[type[Any]]
    delivery_id: str
    cache: bool


class PySetl(HasRegistry[Pipeline], HasLogger):
    """The SparkSession, the configs and the external inputs of an ETL project.

    Build it with ``PySetl.builder()``. It is a context manager: leaving the
    ``with`` block stops the SparkSession if (and only if) this object's
    builder started it.

    Args:
        spark: The SparkSession.
        config_dict: Configs by key (``"spark"`` holds Spark settings).
        benchmark: Default ``benchmark`` of the pipelines it creates.
        hooks: The hook manager of its pipelines, with their observers
            (default: the process-wide manager).
        owns_session: Whether ``spark`` was started for this object.
        resolved_config: The project config the configs were loaded from
            (``PySetl.builder().load_config(...)``), if any.
        runtime: The ``pysetl.runtime.Session`` that observes its pipelines
            (built by ``PySetlBuilder`` when no hook manager is set), closed by
            ``stop()`` and at the end of the ``with`` block.

    Examples:
        >>> builder = PySetl.builder().set_config({"orders": CsvConfig(path=p)})
        >>> with builder.getOrCreate() as ps:
        ...     ps.set_spark_repository_from_config(Orders, "orders")
        ...     ps.new_pipeline().add_stage_from_type(CountOrders).run()
    """

    def __init__(
        self,
        spark: SparkSession,
        config_dict: Mapping[str, Config[Any]],
        benchmark: bool = False,
        *,
        hooks: HookManager | None = None,
        owns_session: bool = False,
        resolved_config: ResolvedConfig | None = None,
        runtime: Session | None = None,
    ) -> None:
        """Hold the session, configs and defaults; no inputs yet."""
        super().__init__()
        self.resolved_config = resolved_config
        self.runtime = runtime
        self.spark = spark
        self.config_dict = dict(config_dict)
        self.benchmark = benchmark
        self.hooks = hooks
        self.owns_session = owns_session
        self.external_inputs: dict[str, Deliverable[Any]] = {}
        self._requests: dict[str, _Request] = {}

    @classmethod
    def builder(cls) -> PySetlBuilder:
        """A new ``PySetlBuilder``."""
        from pysetl.context._builder import PySetlBuilder  # noqa: PLC0415 - a cycle

        return PySetlBuilder()

    # ---------------------------------------------------------------- inputs
    def has_external_input(self, key: str) -> bool:
        """Whether an input is registered under ``key``."""
        return key in self.external_inputs

    def list_inputs(self) -> dict[str, Deliverable[Any]]:
        """The registered inputs (the live dict)."""
        return self.external_inputs

    def _config(self, config_key: str) -> Config[Any]:
        config = self.config_dict.get(config_key)
        if not config:
            msg = f"No config found with key: {config_key}"
            known = sorted(self.config_dict)
            raise ConfigError(
                msg,
                hint=f"add {config_key!r} to the builder's configs; known: {known}",
                config=config_key,
            )
        return config

    def _build_repository(
        self, schema_type: type[S], config_key: str, cache: bool
    ) -> SparkRepository[S]:
        from pysetl.storage.repository import (  # noqa: PLC0415 - no Spark at import
            SparkRepositoryBuilder,
        )

        config = self._config(config_key)
        builder: SparkRepositoryBuilder[S] = SparkRepositoryBuilder[schema_type](  # type: ignore[valid-type]
            config, cache=cache
        )
        return builder.getOrCreate()

    def reset_spark_repository_from_config(
        self,
        schema_type: type[Schema],
        config_key: str,
        consumers: set[type[Any]] | None = None,
        delivery_id: str = "",
        cache: bool = False,
    ) -> Self:
        """Build ``SparkRepository[schema_type]`` from a config and register it.

        Any input already registered under ``config_key`` is replaced.

        Raises:
            ConfigError: No config under ``config_key``.
        """
        repository = self._build_repository(schema_type, config_key, cache)
        return self._register(
            config_key,
            repository,
            _Request(
                ("config", schema_type), frozenset(consumers or ()), delivery_id, cache
            ),
        )

    def set_spark_repository_from_config(
        self,
        schema_type: type[Schema],
        config_key: str,
        consumers: set[type[Any]] | None = None,
        delivery_id: str = "",
        cache: bool = False,
    ) -> Self:
        """Like ``reset_...``, but keeps an identical registration as it is.

        Leaving ``consumers`` out (``None``) keeps the consumers of a
        registration of the same schema, id and cache under ``config_key``:
        registering it again without consumers does not open it to everyone.

        Changed in 0.2: when ``config_key`` is registered with *other*
        arguments, it is replaced (it used to be silently kept).

        Raises:
            ConfigError: No config under ``config_key``.
        """
        request = _Request(
            ("config", schema_type), frozenset(consumers or ()), delivery_id, cache
        )
        if self._same_request(config_key, request, consumers):
            return self
        return self.reset_spark_repository_from_config(
            schema_type, config_key, consumers, delivery_id, cache
        )

    def reset_spark_repository(
        self,
        repository: SparkRepository[Any],
        repository_id: str,
        consumers: set[type[Any]] | None = None,
        delivery_id: str = "",
    ) -> Self:
        """Register an existing repository under ``repository_id``, replacing any."""
        request = _Request(
            ("repository", id(repository)),
            frozenset(consumers or ()),
            delivery_id,
            cache=False,
        )
        return self._register(repository_id, repository, request)

    def set_spark_repository(
        self,
        repository: SparkRepository[Any],
        repository_id: str,
        consumers: set[type[Any]] | None = None,
        delivery_id: str = "",
    ) -> Self:
        """Like ``reset_spark_repository``, but keeps an identical registration.

        Leaving ``consumers`` out (``None``) keeps the consumers of a
        registration of the same repository and id under ``repository_id``.
        """
        request = _Request(
            ("repository", id(repository)),
            frozenset(consumers or ()),
            delivery_id,
            cache=False,
        )
        if self._same_request(repository_id, request, consumers):
            return self
        return self._register(repository_id, repository, request)

    def _same_request(
        self, key: str, request: _Request, consumers: set[type[Any]] | None
    ) -> bool:
        """Whether ``request`` asks for what is registered under ``key``.

        Consumers left out (``None``) match any registered consumers.
        """
        registered = self._requests.get(key)
        if registered is None:
            return False
        if consumers is None:
            return replace(registered, consumers=frozenset()) == request
        return registered == request

    def _register(
        self, key: str, repository: SparkRepository[Any], request: _Request
    ) -> Self:
        deliverable: Deliverable[Any] = Deliverable(
            payload=repository,
            consumers=set(request.consumers),
            delivery_id=request.delivery_id,
        ).with_payload_type(repository.type_annotation)
        if key in self.external_inputs:
            self.log_info(f"Replacing the external input {key!r}")
        self.external_inputs[key] = deliverable
        self._requests[key] = request
        return self

    def get_sparkrepository(
        self, schema_type: type[S], config_key: str
    ) -> SparkRepository[S]:
        """The repository registered under ``config_key``, or a new one from config.

        Changed in 0.2: a repository built here is *not* registered (this
        used to register it as a side effect).

        Raises:
            ConfigError: Nothing is registered and no config has that key.
        """
        registered = self.external_inputs.get(config_key)
        if registered is not None:
            payload: SparkRepository[S] = registered.payload
            return payload
        return self._build_repository(schema_type, config_key, cache=False)

    # ------------------------------------------------------------- pipelines
    def new_pipeline(
        self,
        *,
        benchmark: bool | None = None,
        parallel: bool = False,
        max_workers: int | None = None,
        name: str = "pipeline",
    ) -> Pipeline:
        """A new pipeline with every input registered so far.

        Inputs registered later are not added to pipelines created before.

        Args:
            benchmark: Time the factories (default: this object's ``benchmark``).
            parallel: Run the factories of each stage concurrently.
            max_workers: Thread-pool size for parallel stages.
            name: The pipeline's name in events and Spark job groups.
        """
        pipeline = Pipeline(
            self.benchmark if benchmark is None else benchmark,
            hooks=self.hooks,
            parallel=parallel,
            max_workers=max_workers,
            name=name,
            spark=self.spark,
        )
        for deliverable in self.external_inputs.values():
            pipeline.set_input_from_deliverable(deliverable)
        if self.runtime is not None:  # the config's retries and timeouts
            self.runtime.apply_policies(pipeline)
        self.register(pipeline)
        return pipeline

    def get_pipeline(self, uuid: UUID) -> Pipeline | None:
        """The pipeline with ``uuid``, or ``None``."""
        return self.get_item(uuid)

    # -------------------------------------------------------------- lifecycle
    def stop(self) -> None:
        """Close the observability runtime (writing what is pending), stop Spark."""
        self.close_runtime()
        self.spark.stop()

    def close_runtime(self) -> None:
        """Write what the observers hold and close the runtime (idempotent)."""
        if self.runtime is not None:
            self.runtime.close()

    def __enter__(self) -> Self:
        """Enter the context; nothing to start."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the runtime; stop the SparkSession if this object's builder made it."""
        if self.owns_session:
            self.stop()
        else:
            self.close_runtime()

    def __repr__(self) -> str:
        """``PySetl(configs=[...], inputs=[...], pipelines=n)``."""
        return (
            f"{pretty(type(self))}(configs={sorted(self.config_dict)}, "
            f"inputs={sorted(self.external_inputs)}, pipelines={self.size})"
        )
