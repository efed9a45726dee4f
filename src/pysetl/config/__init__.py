"""Typed, lazily validated configs for every storage pysetl reads and writes."""

from __future__ import annotations

from pysetl.config._errors import ConfigValidationError
from pysetl.config.aws_credentials import AwsCredentials
from pysetl.config.config import BaseConfigModel, Config, ConfigBuilder
from pysetl.config.csv_config import CsvConfig, CsvConfigModel
from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.config.generic_config import GenericFileConfig, GenericFileConfigModel
from pysetl.config.jdbc_config import JdbcConfig, JdbcConfigModel
from pysetl.config.json_config import JsonConfig, JsonConfigModel
from pysetl.config.loader import load_config
from pysetl.config.models import (
    ConnectorConfigModel,
    ProjectConfigModel,
    config_json_schema,
)
from pysetl.config.orc_config import OrcConfig, OrcConfigModel
from pysetl.config.parquet_config import ParquetConfig, ParquetConfigModel
from pysetl.config.profiles import Provenance, ResolvedConfig, ValidationRule
from pysetl.config.reload import ConfigWatcher
from pysetl.config.table_config import SparkTableConfig, SparkTableConfigModel

__all__ = [
    "AwsCredentials",
    "BaseConfigModel",
    "Config",
    "ConfigBuilder",
    "ConfigValidationError",
    "ConfigWatcher",
    "ConnectorConfigModel",
    "CsvConfig",
    "CsvConfigModel",
    "FileConfig",
    "FileConfigModel",
    "GenericFileConfig",
    "GenericFileConfigModel",
    "JdbcConfig",
    "JdbcConfigModel",
    "JsonConfig",
    "JsonConfigModel",
    "OrcConfig",
    "OrcConfigModel",
    "ParquetConfig",
    "ParquetConfigModel",
    "ProjectConfigModel",
    "Provenance",
    "ResolvedConfig",
    "SparkTableConfig",
    "SparkTableConfigModel",
    "ValidationRule",
    "config_json_schema",
    "load_config",
]
