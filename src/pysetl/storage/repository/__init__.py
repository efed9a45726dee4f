"""Repositories: typed (typedspark) loads and saves on top of a connector."""

from __future__ import annotations

from pysetl.storage.repository._base import BaseRepository
from pysetl.storage.repository._builder import SparkRepositoryBuilder
from pysetl.storage.repository._spark import SparkRepository

__all__ = ["BaseRepository", "SparkRepository", "SparkRepositoryBuilder"]
