"""``JdbcConnector``: a table (or query) of a database reached through Spark JDBC.

The password is handed to Spark only here, as the last option set, and is
masked in every message we build. Connection timeouts from the config bound
how long an unreachable server can block a read or write; such failures
raise ``ConnectorUnavailableError`` naming ``host:port``.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from pysetl.config.jdbc_config import JdbcConfigModel
from pysetl.errors import ConfigError, ConnectorError, ConnectorUnavailableError
from pysetl.storage._redaction import protect
from pysetl.storage.connector._base import Connector
from pysetl.utils.spark_errors import describe_exception, full_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import DataFrame, DataFrameReader

    from pysetl.config.config import Config

__all__ = ["JdbcConnector"]

# Signs, in the driver's or JVM's text, that the server could not be reached.
_UNREACHABLE = re.compile(
    r"Connection refused|ConnectException|SocketTimeoutException|connect timed out"
    r"|UnknownHostException|NoRouteToHostException|connection attempt failed"
    r"|Connection to \S+ refused",
    re.IGNORECASE,
)


class JdbcConnector(Connector):
    """Reads a table or query, and writes a table, of a JDBC database.

    Examples:
        >>> config = JdbcConfig(
        ...     url="jdbc:postgresql://db.internal:5432/shop",
        ...     table="public.orders",
        ...     user="etl",
        ...     password=os.environ["SHOP_DB_PASSWORD"],
        ... )
        >>> JdbcConnector(config).read()   # doctest: +SKIP

    Args:
        options: A ``JdbcConfig``; validated here.

    Raises:
        ConfigError: ``options`` is not a valid ``JdbcConfig``.
    """

    def __init__(self, options: Config[Any]) -> None:
        """Validate ``options``."""
        model = options.config
        if not isinstance(model, JdbcConfigModel):
            msg = "Not a JdbcConfig for a JdbcConnector"
            hint = f"Use JdbcConfig(url=..., table=...); got {type(options).__name__}."
            raise ConfigError(msg, hint=hint, config=type(options).__name__)
        self.config: JdbcConfigModel = model
        if model.password is not None:
            # Py4J logs the commands it sends, password included, at DEBUG.
            protect(model.password.get_secret_value())

    @property
    def _what(self) -> str:
        table = self.config.table
        return f"table {table!r}" if table is not None else "a query"

    @property
    def target(self) -> str:
        """``<table or query> at <host:port>``."""
        what = self.config.table if self.config.table is not None else "<query>"
        return f"{what} at {self.config.address}"

    @property
    def _secrets(self) -> tuple[str, ...]:
        password = self.config.password
        return (password.get_secret_value(),) if password is not None else ()

    def _with_password(self, options: dict[str, str]) -> dict[str, str]:
        password = self.config.password
        if password is None:
            return options
        return options | {"password": password.get_secret_value()}

    @contextlib.contextmanager
    def _boundary(self, action: str) -> Iterator[None]:
        """Turn any foreign error raised inside into a ``ConnectorError``."""
        # Only Spark calls run inside, so every error here is foreign.
        try:
            yield
        except Exception as exc:
            text = describe_exception(exc, self._secrets)
            if _UNREACHABLE.search(full_text(exc)):
                msg = (
                    f"Cannot reach the database at {self.config.address} "
                    f"to {action} {self._what}: {text}"
                )
                hint = (
                    "Check the host and port in the url, that the server is "
                    "running and accepts TCP connections; connect_timeout and "
                    "login_timeout bound the wait."
                )
                raise ConnectorUnavailableError(
                    msg, hint=hint, connector=repr(self)
                ) from exc
            msg = (
                f"JDBC {action} of {self._what} at {self.config.address} failed: {text}"
            )
            hint = "Check the table name, the user's rights and the credentials."
            raise ConnectorError(msg, hint=hint, connector=repr(self)) from exc

    @property
    def _reader(self) -> DataFrameReader:
        options = self._with_password(self.config.spark_options(write=False))
        return self.spark.read.format("jdbc").options(**options)

    def read(self) -> DataFrame:
        """Read the table or query; Spark connects here to learn the schema.

        Raises:
            ConnectorUnavailableError: The server could not be reached in time.
            ConnectorError: The read failed otherwise (bad credentials, no table).
        """
        self.log_debug(f"Reading JDBC {self.target}")
        with self._boundary("read"):
            return self._reader.load()

    def write(self, data: DataFrame) -> None:
        """Write ``data`` to the table with the configured save mode.

        Raises:
            ConfigError: The config has a ``query`` instead of a ``table``.
            ConnectorUnavailableError: The server could not be reached in time.
            ConnectorError: The write failed otherwise.
        """
        if self.config.table is None:
            msg = "Can't write to a JDBC query"
            hint = "Give table=... in the JdbcConfig used for writing."
            raise ConfigError(msg, hint=hint, config="JdbcConfig")
        options = self._with_password(self.config.spark_options(write=True))
        self.log_debug(f"Writing JDBC {self.target}")
        with self._boundary("write"):
            (
                data.write.format("jdbc")
                .mode(self.config.savemode.value)
                .options(**options)
                .save()
            )
