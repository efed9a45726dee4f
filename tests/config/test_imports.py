"""The config layer starts without a JVM: it never imports pyspark."""

from __future__ import annotations

import subprocess
import sys


class TestConfigImports:
    def test_config_and_enums_import_without_pyspark(self):
        code = (
            "import sys, pysetl.config, pysetl.enums\n"
            "from pysetl.config import *\n"
            "CsvConfig(path='/x').config\n"
            "JdbcConfig(url='jdbc:h2:x', table='t').config\n"
            "assert 'pyspark' not in sys.modules, 'pyspark was imported'\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # noqa: S603

    def test_the_loader_imports_without_yaml_watchfiles_or_pyspark(self):
        code = (
            "import sys, pysetl.config\n"
            "from pysetl.config import load_config, ConfigWatcher\n"
            "for name in ('yaml', 'watchfiles', 'pyspark', 'sqlalchemy'):\n"
            "    assert name not in sys.modules, name\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # noqa: S603

    def test_public_names_are_exported(self):
        from pysetl import config

        expected = {
            "AwsCredentials",
            "Config",
            "ConfigBuilder",
            "CsvConfig",
            "FileConfig",
            "JsonConfig",
            "ParquetConfig",
            "ConfigWatcher",
            "ConnectorConfigModel",
            "ProjectConfigModel",
            "Provenance",
            "ResolvedConfig",
            "ValidationRule",
            "config_json_schema",
            "load_config",
        }
        assert expected <= set(config.__all__)
        assert config.__all__ == sorted(config.__all__)
        assert all(hasattr(config, name) for name in config.__all__)
