"""Connectors: read and write one dataset (files, JDBC, Spark tables) as DataFrames."""

from __future__ import annotations

from pysetl.storage.connector._base import BaseConnector, Connector
from pysetl.storage.connector._builder import ConnectorBuilder
from pysetl.storage.connector._file import FileConnector
from pysetl.storage.connector._formats import (
    CsvConnector,
    GenericFileConnector,
    JsonConnector,
    OrcConnector,
    ParquetConnector,
)
from pysetl.storage.connector._jdbc import JdbcConnector
from pysetl.storage.connector._table import SparkTableConnector

__all__ = [
    "BaseConnector",
    "Connector",
    "ConnectorBuilder",
    "CsvConnector",
    "FileConnector",
    "GenericFileConnector",
    "JdbcConnector",
    "JsonConnector",
    "OrcConnector",
    "ParquetConnector",
    "SparkTableConnector",
]
