"""``JdbcConfig``: a table (or query) of a database reached through JDBC.

The password is a ``SecretStr``: it is masked in ``str``/``repr`` and in
error messages, left out of ``reader_config``/``writer_config``, and handed
to Spark only by the connector, at the last moment.

Added in 0.2.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from pysetl.config.config import BaseConfigModel, Config
from pysetl.enums import DbStorage, SaveMode

__all__ = ["JdbcConfig", "JdbcConfigModel"]

# Driver classes for URLs whose driver ``DriverManager`` may not find by itself
# (a jar added through ``spark.jars`` is not visible to it).
KNOWN_DRIVERS = {
    "jdbc:postgresql:": "org.postgresql.Driver",
    "jdbc:derby:": "org.apache.derby.iapi.jdbc.AutoloadedDriver",
    "jdbc:mysql:": "com.mysql.cj.jdbc.Driver",
    "jdbc:sqlserver:": "com.microsoft.sqlserver.jdbc.SQLServerDriver",
    "jdbc:oracle:": "oracle.jdbc.OracleDriver",
}


class JdbcConfigModel(BaseConfigModel):
    """Validated settings of a JDBC table or query.

    Attributes:
        storage: Always ``DbStorage.JDBC``.
        url: The JDBC URL (``jdbc:postgresql://host:5432/db``); no credentials in it.
        table: The table to read or write (give ``table`` or ``query``).
        query: A query to read from (read-only).
        user: The database user.
        password: The password, as a secret.
        driver: The JDBC driver class; inferred for PostgreSQL, Derby, MySQL,
            SQL Server and Oracle URLs when not given.
        fetchsize: Rows fetched per round trip on read.
        batchsize: Rows inserted per round trip on write.
        connect_timeout: Seconds to wait for the TCP connection.
        login_timeout: Seconds to wait for the login to finish.
        socket_timeout: Seconds a read on the socket may block (``None``: no limit).
        savemode: What a write does when the table exists (a ``SaveMode`` or
            its value, such as ``"append"``).
        partition_by: Not used by JDBC; kept so every config has it.
        options: Any other Spark JDBC option, by its Spark name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    storage: DbStorage = DbStorage.JDBC
    url: str = Field(pattern=r"^jdbc:")
    table: str | None = None
    query: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    driver: str | None = None
    fetchsize: int | None = Field(default=None, gt=0)
    batchsize: int | None = Field(default=None, gt=0)
    connect_timeout: int = Field(default=10, ge=0)
    login_timeout: int = Field(default=10, ge=0)
    socket_timeout: int | None = Field(default=None, ge=0)
    # Not strict, unlike file configs: "append" from YAML is accepted here.
    savemode: SaveMode = Field(default=SaveMode.ERRORIFEXISTS, strict=False)
    partition_by: list[str] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)

    @field_validator("password", mode="before")
    @classmethod
    def _wrap_password(cls, value: Any) -> Any:
        # A plain str from YAML or code becomes a SecretStr right away.
        return SecretStr(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _table_or_query(self) -> Self:
        if (self.table is None) == (self.query is None):
            msg = "give exactly one of 'table' and 'query'"
            raise ValueError(msg)
        return self

    @property
    def address(self) -> str:
        """``host:port`` of the server, or the URL's scheme part for embedded ones."""
        parsed = urlparse(self.url.removeprefix("jdbc:"))
        if parsed.hostname:
            port = f":{parsed.port}" if parsed.port else ""
            return f"{parsed.hostname}{port}"
        return self.url.split(";", 1)[0]

    @property
    def default_driver(self) -> str | None:
        """The driver class usually used with this URL, if we know it."""
        return next(
            (
                cls
                for prefix, cls in KNOWN_DRIVERS.items()
                if self.url.startswith(prefix)
            ),
            None,
        )

    @property
    def timeout_options(self) -> dict[str, str]:
        """Driver properties that bound how long connecting may take."""
        options = {"loginTimeout": str(self.login_timeout)}
        if self.url.startswith("jdbc:postgresql:"):
            options["connectTimeout"] = str(self.connect_timeout)
            if self.socket_timeout is not None:
                options["socketTimeout"] = str(self.socket_timeout)
        return options

    def spark_options(self, *, write: bool) -> dict[str, str]:
        """Spark JDBC options for a read or a write, without the password."""
        options: dict[str, str] = {"url": self.url, **self.timeout_options}
        if self.query is not None and not write:
            options["query"] = self.query
        elif self.table is not None:
            options["dbtable"] = self.table
        optional = {
            "user": self.user,
            "driver": self.driver or self.default_driver,
            "batchsize" if write else "fetchsize": self.batchsize
            if write
            else self.fetchsize,
        }
        options.update({k: str(v) for k, v in optional.items() if v is not None})
        return options | self.options


class JdbcConfig(Config[JdbcConfigModel]):
    """Config of a JDBC table or query; ``storage`` is always ``JDBC``.

    Examples:
        >>> cfg = JdbcConfig(url="jdbc:postgresql://db:5432/shop", table="orders",
        ...                  user="etl", password="s3cret")
        >>> "s3cret" in str(cfg)
        False
    """

    model: ClassVar[type[BaseModel] | None] = JdbcConfigModel

    @property
    def config(self) -> JdbcConfigModel:
        """The validated model.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(JdbcConfigModel, storage=DbStorage.JDBC)

    @property
    def reader_config(self) -> dict[str, Any]:
        """Spark JDBC read options; the password is left out."""
        return dict(self.config.spark_options(write=False))

    @property
    def writer_config(self) -> dict[str, Any]:
        """Spark JDBC write options; the password is left out."""
        return dict(self.config.spark_options(write=True))
