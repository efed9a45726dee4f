"""``PySetlBuilder``: builds a ``PySetl`` from its settings, configs and session.

It validates every setting before anything starts, loads the project's
config (``load_config``), gets or starts the SparkSession (through
``pysetl.context._spark_session``) and, unless a hook manager is given, builds
the ``pysetl.runtime.Session`` that observes the pipelines.

Changed in 0.7: moved from ``pysetl._context``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.context._pysetl import PySetl
from pysetl.context._spark_session import (
    SPARK_CONFIG_KEY,
    get_or_create_session,
    layered_spark_settings,
)
from pysetl.errors import BuilderError, ConfigError
from pysetl.utils._builder import Builder

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from pyspark import SparkConf
    from pyspark.sql import SparkSession
    from typing_extensions import Self

    from pysetl.config import Config, ResolvedConfig
    from pysetl.runtime import Session
    from pysetl.workflow.hooks import HookManager

__all__ = ["PySetlBuilder"]


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
        hooks: The hook manager of the pipelines; default: the one of a new
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
        spark_config = self._configs().get(SPARK_CONFIG_KEY)
        return layered_spark_settings(
            self.spark_config,
            None if spark_config is None else spark_config.params,
            self.shuffle_partitions,
        )

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
        app_name, settings = self.spark_settings()
        return get_or_create_session(
            app_name, settings, master=self.spark_master, level=self.spark_log_level
        )

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
