"""``PySetl``: the entry point that holds the SparkSession, configs and inputs.

pyspark and ``pysetl.storage`` are imported inside methods only, so
``import pysetl`` starts no JVM and loads no Spark module.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pysetl.errors import BuilderError, ConfigError
from pysetl.utils._builder import Builder
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasLogger, HasRegistry
from pysetl.workflow.deliverable import Deliverable
from pysetl.workflow.pipeline import Pipeline

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping
    from types import TracebackType
    from uuid import UUID

    from pyspark import SparkConf
    from pyspark.sql import SparkSession
    from typedspark import Schema
    from typing_extensions import Self

    from pysetl.config import Config, ResolvedConfig
    from pysetl.runtime import Session
    from pysetl.storage.repository import SparkRepository
    from pysetl.workflow.hooks import HookManager

__all__ = ["PySetl", "PySetlBuilder"]

S = TypeVar("S", bound="Schema")

SPARK_CONFIG_KEY = "spark"
APP_NAME_KEY = "app_name"
_REMOTE_KEY = "spark.remote"  # a Spark Connect server: sc://host:port
_SQL_PREFIX = "spark.sql."  # the settings a Spark Connect client may set


def _setting(value: Any) -> str:
    """A Spark setting's text; a secret is read here, when the session is built."""
    from pydantic import SecretStr  # noqa: PLC0415 - keep ``import pysetl`` light

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"  # as Spark writes them
    return str(value)


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
        hooks: The observers of its pipelines (default: the process-wide manager).
        owns_session: Whether ``spark`` was started for this object.
        resolved_config: The project config the configs were loaded from
            (``PySetl.builder().load_config(...)``), if any.
        runtime: The ``pysetl.runtime.Session`` that observes its pipelines
            (built by ``PySetlBuilder`` when no hooks are set), closed by
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


class PySetlBuilder(Builder[PySetl]):
    """Builds a ``PySetl``: the SparkSession (injected or built) and the configs.

    Args:
        benchmark: Default ``benchmark`` of the pipelines.
        config: Configs by key; ``config["spark"]`` holds Spark settings
            (``app_name`` and any ``spark.*`` key).
        shuffle_partitions: ``spark.sql.shuffle.partitions``.
        spark_master: The Spark master (``"local"`` by default).
        spark_session: A session to use instead of building one.
        spark_config: A ``SparkConf`` to start from.
        hooks: The observers of the pipelines; default: those of a new
            ``pysetl.runtime.Session`` (run history, logs, metrics, Spark
            progress and the config's version, unless observing is off).
        observe: Record the runs; default: ``PYSETL_OBSERVE``, then the
            config's ``monitoring.enabled``, then on.
        spark_log_level: Spark's log4j level when this starts Spark;
            default: ``PYSETL_SPARK_LOG_LEVEL``, else ``WARN`` (see
            ``set_spark_log_level``).
    """

    def __init__(  # noqa: PLR0917 - the old API's positional signature
        self,
        benchmark: bool = False,
        config: Mapping[str, Config[Any]] | None = None,
        shuffle_partitions: int | None = None,
        spark_master: str = "local",
        spark_session: SparkSession | None = None,
        spark_config: SparkConf | None = None,
        *,
        hooks: HookManager | None = None,
        observe: bool | None = None,
        spark_log_level: str | None = None,
    ) -> None:
        """Remember the settings; nothing is started yet."""
        self.benchmark = benchmark
        self.config = config
        self.shuffle_partitions = shuffle_partitions
        self.spark_master = spark_master
        self.spark_session = spark_session
        self.spark_config = spark_config
        self.hooks = hooks
        self.observe = observe
        self.spark_log_level = spark_log_level
        self.resolved_config: ResolvedConfig | None = None
        self._loaded: dict[str, Config[Any]] = {}
        self._pysetl: PySetl | None = None

    def set_config(self, config: Mapping[str, Config[Any]]) -> Self:
        """Set the configs."""
        self.config = config
        return self

    def load_config(
        self,
        root: str | os.PathLike[str] = "conf",
        env: str | None = None,
        *,
        section: str = "connectors",
        spark_section: str = "spark",
        **load_kwargs: Any,
    ) -> Self:
        """Load the project's config for ``env`` and use its connectors as the configs.

        Each entry of the ``connectors`` section becomes a ``Config`` (its
        ``storage`` picks the class: ``csv`` -> ``CsvConfig``, ``JDBC`` ->
        ``JdbcConfig``...) and the ``spark`` section becomes ``config["spark"]``
        (``app_name`` and Spark settings). Configs given to ``set_config``
        (before or after) win over loaded ones with the same key. The loaded
        config is kept in ``resolved_config`` (and on the built ``PySetl``).

        Args:
            root: The config directory (``conf``, holding ``base/`` and ``<env>/``).
            env: The environment (default ``$PYSETL_ENV``; none: ``base`` only).
            section: The section holding the connector entries.
            spark_section: The section holding the Spark settings.
            **load_kwargs: Passed to ``pysetl.config.load_config``
                (``overrides``, ``environ``, ``secrets``, ``schema``, ``rules``...).

        Raises:
            ConfigLoadError: The files are invalid; every problem is listed
                with file, line and key.

        Examples:
            >>> with PySetl.builder().load_config("conf", "prod").getOrCreate() as ps:
            ...     ps.set_spark_repository_from_config(Orders, "orders")
        """
        from pysetl.config.loader import load_config  # noqa: PLC0415

        return self.set_resolved_config(
            load_config(root, env, **load_kwargs),
            section=section,
            spark_section=spark_section,
        )

    def set_resolved_config(
        self,
        resolved: ResolvedConfig,
        *,
        section: str = "connectors",
        spark_section: str = "spark",
    ) -> Self:
        """Use an already loaded project config, as ``load_config`` does.

        Raises:
            ConfigLoadError: A connector entry or the Spark section is invalid.

        Added in 0.4.
        """
        from pysetl.config import Config  # noqa: PLC0415 - keep ``import pysetl`` light
        from pysetl.config.models import spark_settings  # noqa: PLC0415

        loaded: dict[str, Config[Any]] = dict(resolved.connectors(section))
        spark = spark_settings(resolved, spark_section)
        if spark:
            loaded[SPARK_CONFIG_KEY] = Config(**spark)
        self._loaded = loaded
        self.resolved_config = resolved
        return self

    def _configs(self) -> dict[str, Config[Any]]:
        """The loaded configs, then the ones given in code (which win)."""
        return {**self._loaded, **(self.config or {})}

    def set_spark_config(self, spark_config: SparkConf) -> Self:
        """Set the base ``SparkConf``."""
        self.spark_config = spark_config
        return self

    def set_shuffle_partitions(self, partitions: int) -> Self:
        """Set ``spark.sql.shuffle.partitions``."""
        self.shuffle_partitions = partitions
        return self

    def set_spark_master(self, master: str) -> Self:
        """Set the Spark master."""
        self.spark_master = master
        return self

    def set_spark_session(self, spark_session: SparkSession) -> Self:
        """Use this session instead of building one."""
        self.spark_session = spark_session
        return self

    def set_hooks(self, hooks: HookManager) -> Self:
        """Set the observers of the pipelines (no runtime is built then)."""
        self.hooks = hooks
        return self

    def set_observe(self, observe: bool) -> Self:
        """Record the runs of the pipelines, or not (the opt-out argument).

        Added in 0.4.
        """
        self.observe = observe
        return self

    def spark_settings(self) -> tuple[str, dict[str, str]]:
        """The app name and the layered Spark settings (later layers win).

        Layers: the ``SparkConf``, then ``config["spark"]`` params (except
        ``app_name``), then the shuffle partitions.
        """
        settings: dict[str, str] = {}
        if self.spark_config is not None:
            settings.update(dict(self.spark_config.getAll()))
        app_name = "default"
        spark_config = self._configs().get(SPARK_CONFIG_KEY)
        if spark_config is not None:
            params = dict(spark_config.params)
            app_name = str(params.pop(APP_NAME_KEY, "default_app_name"))
            settings.update({key: _setting(value) for key, value in params.items()})
        if self.shuffle_partitions is not None:
            settings["spark.sql.shuffle.partitions"] = str(self.shuffle_partitions)
        return app_name, settings

    def set_spark_log_level(self, level: str | None) -> Self:
        """Spark's log4j level when pysetl starts Spark (``None``: the default).

        The default is ``PYSETL_SPARK_LOG_LEVEL``, else ``WARN``; see
        ``pysetl.utils._spark_console`` for what else is kept quiet.

        Added in 0.4.
        """
        self.spark_log_level = level
        return self

    def build_spark_session(self) -> SparkSession:
        """Get or create the SparkSession from the layered settings.

        When this starts Spark's driver JVM, Spark's console output is quiet
        (log level, progress bars, loopback warning; see
        ``set_spark_log_level``). A running session is returned as it is.

        Changed in 0.4: Spark's console output is quiet by default.

        Changed in 0.6: Spark Connect. An active Connect session is returned
        as it is; with a ``spark.remote`` setting (``sc://host:port``), a
        Connect session is made (no JVM here), given the ``spark.sql.*``
        settings (what a Connect client may set).
        """
        from pyspark import SparkContext  # noqa: PLC0415 - no JVM at import
        from pyspark.sql import SparkSession  # noqa: PLC0415

        from pysetl.utils._spark_console import spark_console  # noqa: PLC0415
        from pysetl.workflow.spark import active_connect_session  # noqa: PLC0415

        app_name, settings = self.spark_settings()
        starting = SparkContext._active_spark_context is None  # noqa: SLF001
        connect = active_connect_session() if starting else None
        if connect is not None:
            return connect  # type: ignore[no-any-return]
        remote = settings.get(_REMOTE_KEY)
        if starting and remote:
            builder = SparkSession.builder.remote(remote).appName(app_name)
            for key, value in settings.items():
                if key.startswith(_SQL_PREFIX):
                    builder = builder.config(key, value)
            return builder.getOrCreate()
        quiet = spark_console(
            settings,
            master=settings.get("spark.master", self.spark_master),
            level=self.spark_log_level,
        )
        if starting:  # nothing the user set is replaced
            settings = {**quiet.settings, **settings}
        builder = SparkSession.builder.master(self.spark_master).appName(app_name)
        for key, value in settings.items():
            builder = builder.config(key, value)
        if not starting:
            return builder.getOrCreate()
        jvm_started = SparkContext._gateway is not None  # noqa: SLF001
        with contextlib.nullcontext() if jvm_started else quiet.starting():
            session = builder.getOrCreate()
        if quiet.level_asked:  # also over a log4j config of the user's own
            session.sparkContext.setLogLevel(quiet.level)
        return session

    def validate(self) -> None:
        """Check the settings before anything starts.

        Raises:
            ConfigError: Listing every problem: a config that is not a
                ``Config``, or a shuffle partition count below 1.
        """
        from pysetl.config import Config  # noqa: PLC0415 - keep ``import pysetl`` light

        errors = [
            {
                "loc": ("config", key),
                "msg": f"expected a Config, got {type(value).__name__}",
                "input": repr(value),
            }
            for key, value in self._configs().items()
            if not isinstance(value, Config)
        ]
        partitions = self.shuffle_partitions
        if partitions is not None and (
            not isinstance(partitions, int) or partitions < 1
        ):
            errors.append(
                {
                    "loc": ("shuffle_partitions",),
                    "msg": "expected a positive int",
                    "input": repr(partitions),
                }
            )
        if errors:
            details = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
            msg = f"PySetlBuilder has {len(errors)} invalid setting(s): {details}"
            raise ConfigError(
                msg,
                hint="pass Config objects (CsvConfig(...), ...) and a positive int",
                errors=errors,
            )

    def build(self) -> Self:
        """Validate, use the injected session or get/create one, create the ``PySetl``.

        Raises:
            ConfigError: A setting is invalid (see ``validate``); nothing started.
        """
        self.validate()
        owns = False
        spark = self.spark_session
        if spark is None:
            from pysetl.workflow.spark import (  # noqa: PLC0415 - no JVM at import
                active_connect_session,
                active_spark_context,
            )

            running = (
                active_spark_context() is not None
                or active_connect_session() is not None
            )
            spark = self.build_spark_session()
            owns = not running
        hooks, runtime = self.hooks, None
        if hooks is None:
            runtime = self._runtime(spark)
            hooks = runtime.hooks if runtime is not None else None
        self._pysetl = PySetl(
            spark,
            self._configs(),
            self.benchmark,
            hooks=hooks,
            owns_session=owns,
            resolved_config=self.resolved_config,
            runtime=runtime,
        )
        return self

    def _runtime(self, spark: SparkSession) -> Session | None:
        """The composition root of the pipelines (``None`` without pysetl.runtime)."""
        try:
            from pysetl.runtime import Session  # noqa: PLC0415 - an upper layer
        except ImportError:  # pragma: no cover - pysetl.runtime needs pydantic only
            return None
        return Session(config=self.resolved_config, spark=spark, observe=self.observe)

    def get(self) -> PySetl:
        """The built ``PySetl``.

        Raises:
            BuilderError: ``build()`` was not called.
        """
        if self._pysetl is None:
            msg = "No PySetl object built"
            raise BuilderError(msg, hint="call build() (or getOrCreate()) first")
        return self._pysetl
