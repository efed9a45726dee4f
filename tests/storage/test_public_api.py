"""The storage modules export what the old API exported, and more."""

from __future__ import annotations

import importlib

import pytest

from pysetl.config import CsvConfig, JsonConfig
from pysetl.storage.connector import Connector, CsvConnector, JsonConnector

EXPECTED = {
    "pysetl.storage": {"ConnectorBuilder", "SparkRepositoryBuilder"},
    "pysetl.storage.connector": {
        "BaseConnector",
        "Connector",
        "FileConnector",
        "CsvConnector",
        "JsonConnector",
        "ParquetConnector",
        "ConnectorBuilder",
    },
    "pysetl.storage.repository": {
        "BaseRepository",
        "SparkRepository",
        "SparkRepositoryBuilder",
    },
}


class TestExports:
    @pytest.mark.parametrize("module", sorted(EXPECTED))
    def test_old_names_are_exported_and_all_is_sorted(self, module):
        imported = importlib.import_module(module)
        assert EXPECTED[module] <= set(imported.__all__)
        assert imported.__all__ == sorted(imported.__all__)
        assert all(hasattr(imported, name) for name in imported.__all__)


class TestFromConfig:
    def test_builds_the_registered_connector(self):
        assert type(Connector.from_config(CsvConfig(path="/x"))) is CsvConnector

    def test_a_name_overrides_the_config(self):
        connector = Connector.from_config(JsonConfig(path="/x"), name="json")
        assert type(connector) is JsonConnector
