"""Storage: connectors, typed repositories and the connector registry."""

from __future__ import annotations

from pysetl.storage.connector import ConnectorBuilder
from pysetl.storage.repository import SparkRepositoryBuilder

__all__ = ["ConnectorBuilder", "SparkRepositoryBuilder"]
