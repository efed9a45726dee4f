"""Spark's console output when pysetl starts Spark: quiet unless asked.

``PySetlBuilder`` asks ``spark_console()`` what to add before it starts a
SparkSession, and applies the answer only when it starts the driver JVM
itself (a session or JVM that is already running is left as it is):

- **log4j**: the JVM starts with pysetl's ``spark-log4j2.properties``
  (through ``SPARK_SUBMIT_OPTS``): Spark logs at ``WARN``, without its
  "Using Spark's default log4j profile" and "Setting default log level"
  banner, and without Hadoop's "Unable to load native-hadoop library"
  warning. ``PYSETL_SPARK_LOG_LEVEL`` or ``pysetl --verbose`` (``INFO``)
  choose another level, which is also set on the new context.
- **progress bars**: ``spark.ui.showConsoleProgress=false`` when stderr is
  not a terminal (a log file or CI output gets no ``[Stage 0:>  (0 + 1) / 1]``
  lines).
- **loopback**: with a ``local`` master, ``SPARK_LOCAL_IP=127.0.0.1`` while the
  JVM starts, instead of Spark's "Your hostname ... resolves to a loopback
  address" warning; pysetl logs one INFO line ``spark_binds_to_loopback``
  saying so.

Whatever the user set wins: a setting in the ``SparkConf`` or the config's
``spark`` section, ``SPARK_LOCAL_IP``, ``spark.driver.host``, or a
``-Dlog4j2.configurationFile`` of their own (in
``spark.driver.extraJavaOptions`` or ``SPARK_SUBMIT_OPTS``, which come later
on the JVM's command line). The variables are set only while the JVM starts,
then ``os.environ`` is as it was.

The JVM itself prints "WARNING: Using incubator modules: jdk.incubator.vector"
(Spark 4 on Java 17+) before log4j starts; no log level can hide it.

Added in 0.4.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.settings import DEFAULT_SPARK_LOG_LEVEL, parse_spark_log_level, settings

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "SparkConsole",
    "spark_console",
    "spark_log_level",
]

_LOG4J_CONFIG = "spark-log4j2.properties"
_LEVEL_PROPERTY = "pysetl.spark.logLevel"
_LOOPBACK = "127.0.0.1"
_LOGGER = logging.getLogger(__name__)


def spark_log_level(level: str | None = None) -> tuple[str, bool]:
    """The log4j level for Spark, and whether it was asked for.

    ``level`` (``--verbose``, ``PySetlBuilder.set_spark_log_level``) wins over
    ``PYSETL_SPARK_LOG_LEVEL``, which wins over ``WARN``.

    Raises:
        ConfigError: ``level`` or the variable is not a log4j level.
    """
    asked = parse_spark_log_level("spark_log_level", level)
    if asked is None:
        asked = settings().spark_log_level
    return (asked or DEFAULT_SPARK_LOG_LEVEL), asked is not None


@dataclass(frozen=True, slots=True)
class SparkConsole:
    """What pysetl adds when it starts a Spark driver JVM.

    Attributes:
        level: The log4j level Spark logs at.
        level_asked: Whether the level was asked for (then it is also set
            on the new context, over a log4j config of the user's own).
        settings: Spark settings to add (none the user set).
        environ: Variables to set while the JVM starts.
    """

    level: str
    level_asked: bool
    settings: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Set ``environ`` while the JVM starts; ``os.environ`` is restored after."""
        saved = {name: os.environ.get(name) for name in self.environ}
        os.environ.update(self.environ)
        if "SPARK_LOCAL_IP" in self.environ:
            _LOGGER.info(
                "spark_binds_to_loopback: a local Spark binds to %s "
                "(set SPARK_LOCAL_IP or spark.driver.host to choose an address)",
                _LOOPBACK,
            )
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _log4j_options(level: str) -> str:
    # An installed package is a directory, so the config is a real file; its
    # URI has no spaces to split SPARK_SUBMIT_OPTS on.
    config = Path(str(resources.files("pysetl.utils") / _LOG4J_CONFIG)).resolve()
    return f"-Dlog4j2.configurationFile={config.as_uri()} -D{_LEVEL_PROPERTY}={level}"


def spark_console(
    spark_settings: Mapping[str, str],
    *,
    master: str,
    level: str | None = None,
    environ: Mapping[str, str] | None = None,
    stderr_is_terminal: bool | None = None,
) -> SparkConsole:
    """What to add to ``spark_settings`` and the environment to start Spark quietly.

    Args:
        spark_settings: The Spark settings the user gave (conf and config).
        master: The Spark master.
        level: The log4j level asked for, if any (see ``spark_log_level``).
        environ: The environment (default ``os.environ``).
        stderr_is_terminal: Whether stderr is a terminal (default: asked).

    Raises:
        ConfigError: The level is not a log4j level.
    """
    env = os.environ if environ is None else environ
    if stderr_is_terminal is None:
        stderr_is_terminal = sys.stderr is not None and sys.stderr.isatty()
    chosen, asked = spark_log_level(level)
    if env.get("SPARK_REMOTE") or "spark.remote" in spark_settings:
        return SparkConsole(level=chosen, level_asked=asked)  # no JVM of ours
    added: dict[str, str] = {}
    if not stderr_is_terminal and "spark.ui.showConsoleProgress" not in spark_settings:
        added["spark.ui.showConsoleProgress"] = "false"
    variables = {
        "SPARK_SUBMIT_OPTS": " ".join(
            filter(None, (_log4j_options(chosen), env.get("SPARK_SUBMIT_OPTS")))
        )
    }
    user_chose_address = (
        env.get("SPARK_LOCAL_IP")
        or env.get("SPARK_LOCAL_HOSTNAME")
        or "spark.driver.host" in spark_settings
        or "spark.driver.bindAddress" in spark_settings
    )
    if master.startswith("local") and not user_chose_address:
        variables["SPARK_LOCAL_IP"] = _LOOPBACK
    return SparkConsole(
        level=chosen, level_asked=asked, settings=added, environ=variables
    )
