"""The connector registry: built-ins, registration, and real entry points."""

from __future__ import annotations

import sys
import textwrap
import uuid
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from pysetl.config import Config, CsvConfig, FileConfig, JdbcConfig, SparkTableConfig
from pysetl.enums import FileStorage
from pysetl.errors import AlreadyRegisteredError, ConfigError, ConnectorError
from pysetl.storage import ConnectorBuilder
from pysetl.storage import registry as registry_module
from pysetl.storage.connector import (
    CsvConnector,
    FileConnector,
    JdbcConnector,
    JsonConnector,
    SparkTableConnector,
)
from pysetl.storage.registry import (
    ENTRY_POINT_GROUP,
    ConnectorRegistry,
    connector_name,
    default_registry,
    reset_registry,
)

BUILTINS = ["csv", "generic", "jdbc", "json", "orc", "parquet", "spark_sql"]


class PluginConfig(FileConfig):
    connector_type = "Plugin"


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install a real distribution declaring connectors in the entry-point group."""
    package = f"pysetl_plugin_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from pysetl.storage.connector import Connector

            class PluginConnector(Connector):
                def __init__(self, options):
                    self.options = options

                def read(self):
                    raise NotImplementedError

                def write(self, data):
                    raise NotImplementedError
            """
        )
    )
    dist_info = tmp_path / f"{package}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        f"plugin = {package}:PluginConnector\n"
        f"broken = {package}.missing:Nope\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    sys.modules.pop(package, None)


class TestBuiltins:
    def test_builtins_are_registered_by_storage_name(self):
        registry = ConnectorRegistry(entry_point_group=None)
        assert registry.names() == BUILTINS
        assert registry.get("CSV") is CsvConnector
        assert "parquet" in registry
        assert "nope" not in registry
        assert 3 not in registry

    def test_a_registry_can_start_empty(self):
        assert ConnectorRegistry(builtins=False, entry_point_group=None).names() == []

    def test_builtins_are_pysetls_own_entry_points(self):
        """Built-ins come from the entry-point group plugins use, not an import."""
        declared = {
            entry.name: entry.value
            for entry in entry_points(group=ENTRY_POINT_GROUP)
            if entry.dist is not None and entry.dist.name == "pysetl"
        }
        assert sorted(declared) == BUILTINS
        assert declared["csv"] == "pysetl.storage.connector:CsvConnector"

    def test_builtins_without_entry_points_say_how_to_get_them(self, monkeypatch):
        monkeypatch.setattr(registry_module, "entry_points", lambda **_: [])
        registry = ConnectorRegistry(entry_point_group=None)
        assert registry.names() == []
        with pytest.raises(ConfigError, match="'csv'") as info:
            registry.get("csv")
        assert "reinstall pysetl" in str(info.value.hint)

    @pytest.mark.parametrize(
        ("config", "name", "expected"),
        [
            (CsvConfig(path="/x"), "csv", CsvConnector),
            (JdbcConfig(url="jdbc:h2:mem:x", table="t"), "jdbc", JdbcConnector),
            (SparkTableConfig(table="t"), "spark_sql", SparkTableConnector),
        ],
    )
    def test_configs_are_named_by_their_storage(self, config, name, expected):
        registry = ConnectorRegistry(entry_point_group=None)
        assert connector_name(config) == name
        assert type(registry.create(config)) is expected

    def test_a_name_can_be_given_at_creation(self):
        registry = ConnectorRegistry(entry_point_group=None)
        config = PluginConfig(storage=FileStorage.JSON, path="/x")
        assert type(registry.create(config, name="json")) is JsonConnector


class TestLookups:
    def test_an_unknown_name_lists_the_known_ones(self):
        registry = ConnectorRegistry(entry_point_group=None)
        with pytest.raises(
            ConfigError, match="No connector is registered as 'nope'"
        ) as info:
            registry.get("nope")
        assert str(BUILTINS) in str(info.value)
        assert info.value.hint is not None

    def test_a_config_without_storage_cannot_be_named(self):
        with pytest.raises(ConfigError, match="names no storage"):
            connector_name(Config(path="/x"))

    def test_registering_a_taken_name_needs_replace(self):
        registry = ConnectorRegistry(entry_point_group=None)
        with pytest.raises(AlreadyRegisteredError, match="'csv'"):
            registry.register("CSV", FileConnector)
        assert registry.register("csv", FileConnector, replace=True) is registry
        assert type(registry.create(CsvConfig(path="/x"))) is FileConnector

    def test_connector_type_names_a_custom_registration(self):
        registry = ConnectorRegistry(entry_point_group=None)
        registry.register("plugin", FileConnector)
        config = PluginConfig(storage=FileStorage.CSV, path="/x")
        assert connector_name(config) == "plugin"
        assert type(ConnectorBuilder(config, registry).getOrCreate()) is FileConnector


class TestEntryPoints:
    def test_entry_points_are_listed_and_loaded_by_name(self, plugin):
        registry = ConnectorRegistry()
        assert {"plugin", "broken"} <= set(registry.names())
        factory = registry.get("plugin")
        assert factory.__module__ == plugin
        assert factory.__name__ == "PluginConnector"
        connector = ConnectorBuilder(PluginConfig(a=1), registry).getOrCreate()
        assert type(connector) is factory
        assert connector.options.params == {"a": 1}

    @pytest.mark.usefixtures("plugin")
    def test_a_broken_entry_point_fails_only_for_its_own_name(self):
        registry = ConnectorRegistry()
        with pytest.raises(ConnectorError, match="'broken' failed to load") as info:
            registry.get("broken")
        assert isinstance(info.value.__cause__, ImportError)
        assert registry.get("csv") is CsvConnector

    @pytest.mark.usefixtures("plugin")
    def test_entry_points_can_be_ignored(self):
        registry = ConnectorRegistry(entry_point_group=None)
        assert "plugin" not in registry.names()


class TestDefaultRegistry:
    def test_is_shared_until_reset(self):
        first = default_registry()
        assert default_registry() is first
        reset_registry()
        try:
            assert default_registry() is not first
        finally:
            reset_registry()

    def test_connector_builder_uses_it(self):
        reset_registry()
        try:
            default_registry().register("plugin", FileConnector)
            config = PluginConfig(storage=FileStorage.ORC, path="/x")
            assert type(ConnectorBuilder(config).getOrCreate()) is FileConnector
        finally:
            reset_registry()
