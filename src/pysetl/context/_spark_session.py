"""The SparkSession a ``PySetlBuilder`` asks for: layered settings, quiet start.

``layered_spark_settings`` layers a ``SparkConf``, the ``spark`` config's params and
the shuffle partitions (later layers win); ``get_or_create_session`` returns
the running session, a Spark Connect session (``spark.remote``), or starts
Spark's driver with its console kept quiet (see ``pysetl.utils._spark_console``).
pyspark is imported inside the functions only.

Added in 0.7 (split out of ``pysetl._context``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pyspark import SparkConf
    from pyspark.sql import SparkSession

__all__ = [
    "APP_NAME_KEY",
    "SPARK_CONFIG_KEY",
    "get_or_create_session",
    "layered_spark_settings",
]

SPARK_CONFIG_KEY = "spark"
"""The key of the config that holds the Spark settings."""
APP_NAME_KEY = "app_name"
"""The param of that config that names the Spark application."""
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


def layered_spark_settings(
    spark_config: SparkConf | None,
    params: Mapping[str, Any] | None,
    shuffle_partitions: int | None,
) -> tuple[str, dict[str, str]]:
    """The app name and the layered Spark settings (later layers win).

    Args:
        spark_config: The ``SparkConf`` to start from.
        params: The ``spark`` config's params (``app_name`` and Spark keys),
            or ``None`` when there is no such config.
        shuffle_partitions: ``spark.sql.shuffle.partitions``, if set.

    Returns:
        ``(app_name, settings)``.
    """
    settings: dict[str, str] = {}
    if spark_config is not None:
        settings.update(dict(spark_config.getAll()))
    app_name = "default"
    if params is not None:
        rest = dict(params)
        app_name = str(rest.pop(APP_NAME_KEY, "default_app_name"))
        settings.update({key: _setting(value) for key, value in rest.items()})
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    return app_name, settings


def get_or_create_session(
    app_name: str, settings: dict[str, str], *, master: str, level: str | None
) -> SparkSession:
    """Get or create the SparkSession (see ``PySetlBuilder.build_spark_session``).

    Args:
        app_name: The application's name.
        settings: The layered Spark settings.
        master: The Spark master unless ``settings`` names one.
        level: Spark's log4j level when this starts Spark (``None``: default).
    """
    from pyspark import SparkContext  # noqa: PLC0415 - no JVM at import
    from pyspark.sql import SparkSession  # noqa: PLC0415

    from pysetl.utils._spark_console import spark_console  # noqa: PLC0415
    from pysetl.workflow.spark import active_connect_session  # noqa: PLC0415

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
        settings, master=settings.get("spark.master", master), level=level
    )
    if starting:  # nothing the user set is replaced
        settings = {**quiet.settings, **settings}
    builder = SparkSession.builder.master(master).appName(app_name)
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
