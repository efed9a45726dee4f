"""The old ``pysetl.utils.exceptions`` names, as aliases into ``pysetl.errors``.

New code should catch the classes of ``pysetl.errors``; these names stay so
that existing projects keep working. ``BuilderException`` is now an
``Exception`` (it used to derive from ``BaseException``).
"""

from __future__ import annotations

from pysetl.errors import (
    AlreadyRegisteredError,
    BuilderError,
    ConfigError,
    ConnectorError,
    DependencyResolutionError,
    PipelineError,
    PySetlError,
    SparkError,
)

__all__ = [
    "AlreadyExistsException",
    "BasePySetlException",
    "BuilderException",
    "InvalidConfigException",
    "InvalidConnectorException",
    "InvalidDeliveryException",
    "PipelineException",
    "PySparkException",
]

BasePySetlException = PySetlError
AlreadyExistsException = AlreadyRegisteredError
PySparkException = SparkError
InvalidConnectorException = ConnectorError
InvalidConfigException = ConfigError
InvalidDeliveryException = DependencyResolutionError
PipelineException = PipelineError
BuilderException = BuilderError
