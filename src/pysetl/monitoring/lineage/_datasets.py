"""Datasets as OpenLineage names them: a namespace and a name per storage.

The rule follows the OpenLineage naming spec
(https://openlineage.io/docs/spec/naming):

* local file (or ``file:``): namespace ``file``, name the absolute path;
* S3 (``s3``, ``s3a``, ``s3n``): ``s3://<bucket>``, the key (no leading ``/``);
* any other URL of a path: ``<scheme>://<authority>``, the path (no leading ``/``);
* PostgreSQL over JDBC: ``postgres://<host>:<port>``,
  ``<database>.<schema>.<table>`` (schema ``public`` when the table names none);
* other JDBC with a host: ``<scheme>://<host>:<port>``, ``<database>.<table>``;
* embedded JDBC (Derby): ``<scheme>``, ``<database>.<table>``;
* a Spark catalog table: its folder in the warehouse, named as a file above
  (``<warehouse>/<db>.db/<table>``, or ``<warehouse>/<table>`` in ``default``).

A namespace never holds credentials: user names and passwords of a URL, and
the query and ``;key=value`` parameters of a JDBC URL, are left out. A JDBC
connector reading a query (not a table) names no dataset. For an S3 path
written as ``s3://<endpoint>:<port>/<bucket>/<key>`` (a MinIO endpoint, as
``FileConnector`` accepts it), the bucket is the first path segment.

Added in 0.4.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pysetl.enums import DbStorage

__all__ = [
    "LineageDataset",
    "dataset_of",
    "file_dataset",
    "jdbc_dataset",
    "schema_fields",
    "table_dataset",
]

# Ports the JDBC drivers use when the URL names none.
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "sqlserver": 1433, "db2": 50000}
# JDBC sub-protocols whose OpenLineage scheme differs.
_SCHEMES = {"postgresql": "postgres", "mariadb": "mysql"}
_S3 = frozenset({"s3", "s3a", "s3n"})


@dataclass(frozen=True, slots=True)
class LineageDataset:
    """One dataset: where it lives, what it is called, and its columns if known.

    Attributes:
        namespace: The storage it lives in (``file``, ``s3://bucket``,
            ``postgres://host:5432``).
        name: Its name there (a path, ``database.schema.table``).
        fields: ``(column, type)`` pairs of a typed repository, else ``None``.
    """

    namespace: str
    name: str
    fields: tuple[tuple[str, str], ...] | None = None


def file_dataset(path: str) -> LineageDataset:
    """The dataset of a file path or URL (see the module docstring).

    Examples:
        >>> file_dataset("s3://lake/raw/flights.csv")
        LineageDataset(namespace='s3://lake', name='raw/flights.csv', fields=None)
    """
    parsed = urlparse(path)
    scheme = parsed.scheme.lower()
    # "C:\\data" parses with scheme "c": a one-letter scheme is a drive.
    if not scheme or scheme == "file" or len(scheme) == 1:
        local = parsed.path if scheme == "file" else path
        return LineageDataset("file", os.path.abspath(local))  # noqa: PTH100 - a str path
    key = parsed.path.lstrip("/")
    if scheme in _S3:
        if parsed.port is not None:  # s3://endpoint:port/bucket/key
            bucket, _, key = key.partition("/")
        else:
            bucket = parsed.hostname or ""
        return LineageDataset(f"s3://{bucket}", key)
    return LineageDataset(f"{scheme}://{_authority(parsed.netloc)}", key)


def _authority(netloc: str) -> str:
    """``netloc`` without a password (``user:pw@host`` gives ``user@host``)."""
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return netloc
    user = userinfo.partition(":")[0]
    return f"{user}@{host}"


def jdbc_dataset(url: str, table: str) -> LineageDataset:
    """The dataset of a table reached through a JDBC URL (no credentials kept).

    Examples:
        >>> jdbc_dataset("jdbc:postgresql://db:5432/shop?user=etl", "orders").name
        'shop.public.orders'
    """
    rest = url.removeprefix("jdbc:")
    protocol = rest.split(":", 1)[0].lower()
    scheme = _SCHEMES.get(protocol, protocol)
    main, *params = rest.split(";")
    parsed = urlparse(main)
    settings = dict(p.split("=", 1) for p in params if "=" in p)
    if parsed.hostname:
        port = parsed.port or _DEFAULT_PORTS.get(scheme)
        namespace = f"{scheme}://{parsed.hostname}" + (f":{port}" if port else "")
        database = parsed.path.strip("/") or settings.get("databaseName", "")
    else:  # embedded: jdbc:derby:memory:shop;create=true
        namespace = scheme
        database = main.split(":")[-1].strip("/")
    if scheme == "postgres" and "." not in table:
        table = f"public.{table}"
    name = f"{database}.{table}" if database else table
    return LineageDataset(namespace, name)


def table_dataset(table: str, database: str | None, warehouse: str) -> LineageDataset:
    """The dataset of a managed table of the Spark catalog, in its warehouse.

    Examples:
        >>> table_dataset("orders", "shop", "s3://lake/warehouse").name
        'warehouse/shop.db/orders'
    """
    folder = table if database in (None, "default") else f"{database}.db/{table}"
    return file_dataset(f"{warehouse.rstrip('/')}/{folder}")


_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}
_FIELDS_LOCK = threading.Lock()


def schema_fields(schema: type) -> tuple[tuple[str, str], ...]:
    """``(column, Spark type)`` of a typedspark schema, computed once per schema."""
    known = _FIELDS.get(schema)
    if known is None:
        struct = schema.get_structtype()  # type: ignore[attr-defined]
        known = tuple((f.name, f.dataType.simpleString()) for f in struct.fields)
        with _FIELDS_LOCK:
            _FIELDS[schema] = known
    return known


def dataset_of(
    target: Any, *, warehouse: str | None = None, fields: bool = True
) -> LineageDataset | None:
    """The dataset a repository or connector reads and writes, or ``None``.

    Args:
        target: A ``SparkRepository`` (its connector's dataset, with the
            columns of its schema) or a connector.
        warehouse: The Spark warehouse directory, for catalog tables.
        fields: Add the columns of a typed repository.

    Returns:
        ``None`` for a connector of unknown kind or a JDBC query.
    """
    connector = getattr(target, "connector", target)
    config = getattr(connector, "config", None)
    dataset = _dataset_of_config(config, warehouse)
    if dataset is None or not fields or connector is target:
        return dataset
    try:
        columns = schema_fields(target.schema)
    except Exception:  # noqa: BLE001 - an unsubscripted repository has no schema
        return dataset
    return LineageDataset(dataset.namespace, dataset.name, columns)


def _dataset_of_config(config: Any, warehouse: str | None) -> LineageDataset | None:
    storage = getattr(config, "storage", None)
    if storage is DbStorage.JDBC:
        table = getattr(config, "table", None)
        return None if table is None else jdbc_dataset(config.url, table)
    if storage is DbStorage.SPARK_SQL:
        return table_dataset(
            config.table, config.database, warehouse or "spark-warehouse"
        )
    path = getattr(config, "path", None)
    return file_dataset(path) if isinstance(path, str) else None
