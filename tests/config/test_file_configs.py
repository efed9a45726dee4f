"""File configs: models, strictness, forced storage, reader/writer options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pysetl.config import (
    AwsCredentials,
    CsvConfig,
    FileConfig,
    GenericFileConfig,
    JsonConfig,
    OrcConfig,
    ParquetConfig,
)
from pysetl.config.csv_config import CsvConfigModel
from pysetl.config.file_config import FileConfigModel
from pysetl.config.generic_config import GenericFileConfigModel
from pysetl.config.json_config import JsonConfigModel
from pysetl.config.orc_config import OrcConfigModel
from pysetl.config.parquet_config import ParquetConfigModel
from pysetl.enums import FileStorage, SaveMode
from pysetl.errors import ConfigError

CREDENTIALS = {
    "access_key": "AKIA-EXAMPLE",
    "secret_key": "secret-example",
    "session_token": "token-example",
    "credentials_provider": "static",
}


class TestFileConfig:
    def test_validates_into_a_file_config_model_with_defaults(self):
        model = FileConfig(storage=FileStorage.PARQUET, path="/data/x").config
        assert isinstance(model, FileConfigModel)
        assert model.partition_by == []
        assert model.savemode is SaveMode.ERRORIFEXISTS
        assert model.data_schema is None
        assert model.aws_credentials is None

    def test_validation_is_lazy_and_repeated_on_every_access(self):
        config = FileConfig(storage=FileStorage.CSV)
        with pytest.raises(ConfigError):
            _ = config.config
        config.set("path", "/data/x")
        first, second = config.config, config.config
        assert first == second
        assert first is not second

    def test_storage_is_required(self):
        with pytest.raises(ValidationError, match="storage"):
            _ = FileConfig(path="/x").config

    def test_path_must_be_a_str_not_a_path(self):
        with pytest.raises(ValidationError, match="path"):
            _ = FileConfig(storage=FileStorage.CSV, path=Path("/x")).config

    def test_savemode_as_a_string_is_rejected(self):
        config = FileConfig(storage=FileStorage.CSV, path="/x", savemode="append")
        with pytest.raises(
            ValidationError, match="Input should be an instance of SaveMode"
        ):
            _ = config.config

    def test_model_is_frozen(self):
        model = FileConfig(storage=FileStorage.CSV, path="/x").config
        with pytest.raises(ValidationError):
            model.path = "/y"  # type: ignore[misc]

    def test_extra_keys_of_any_type_are_kept(self):
        model = FileConfig(storage=FileStorage.CSV, path="/x", sep=";", n=3).config
        assert model.sep == ";"  # type: ignore[attr-defined]
        assert model.n == 3  # type: ignore[attr-defined]

    def test_config_dict_has_declared_fields_only(self):
        config = FileConfig(storage=FileStorage.CSV, path="/x", sep=";")
        assert config.config_dict == {
            "storage": FileStorage.CSV,
            "path": "/x",
            "partition_by": [],
            "savemode": SaveMode.ERRORIFEXISTS,
            "data_schema": None,
            "aws_credentials": None,
        }

    def test_reader_and_writer_config_are_the_extra_keys(self):
        config = FileConfig(
            storage=FileStorage.CSV, path="/x", partition_by=["a"], sep=";"
        )
        assert config.reader_config == {"sep": ";"}
        assert config.writer_config == config.reader_config

    def test_data_schema_must_be_a_struct_type(self):
        config = FileConfig(storage=FileStorage.CSV, path="/x", data_schema="a int")
        with pytest.raises(ConfigError, match="StructType"):
            _ = config.config

    def test_aws_credentials_from_a_dict_or_a_model(self):
        from_dict = FileConfig(
            storage=FileStorage.CSV, path="s3://h:9000/b/k", aws_credentials=CREDENTIALS
        ).config
        from_model = FileConfig(
            storage=FileStorage.CSV,
            path="s3://h:9000/b/k",
            aws_credentials=AwsCredentials(**CREDENTIALS),
        ).config
        assert from_dict.aws_credentials == from_model.aws_credentials
        assert from_dict.aws_credentials is not None
        assert from_dict.aws_credentials.secret_key == "secret-example"  # noqa: S105


class TestAwsCredentials:
    def test_all_four_fields_are_required(self):
        with pytest.raises(ValidationError) as info:
            AwsCredentials()  # type: ignore[call-arg]
        assert {e["loc"][0] for e in info.value.errors()} == set(CREDENTIALS)

    def test_keys_are_hidden_from_repr(self):
        text = repr(AwsCredentials(**CREDENTIALS))
        assert "AKIA-EXAMPLE" not in text
        assert "secret-example" not in text
        assert "token-example" not in text
        assert "static" in text


class TestCsvConfig:
    def test_storage_is_forced_to_csv(self):
        model = CsvConfig(path="/x", storage=FileStorage.JSON).config
        assert isinstance(model, CsvConfigModel)
        assert model.storage is FileStorage.CSV

    def test_reader_config_has_the_csv_defaults_plus_extras(self):
        config = CsvConfig(path="/x", quote="'")
        assert config.reader_config == {
            "inferSchema": "true",
            "header": "true",
            "delimiter": ",",
            "quote": "'",
        }

    @pytest.mark.parametrize("field", ["inferSchema", "header", "delimiter"])
    def test_csv_options_are_strict_strings(self, field):
        with pytest.raises(ValidationError, match="Input should be a valid string"):
            _ = CsvConfig(path="/x", **{field: True}).config


class TestFormatConfigs:
    @pytest.mark.parametrize(
        ("config_class", "model_class", "storage"),
        [
            (JsonConfig, JsonConfigModel, FileStorage.JSON),
            (ParquetConfig, ParquetConfigModel, FileStorage.PARQUET),
            (OrcConfig, OrcConfigModel, FileStorage.ORC),
        ],
    )
    def test_storage_is_forced_and_model_adds_no_fields(
        self, config_class, model_class, storage
    ):
        model = config_class(path="/x", storage=FileStorage.CSV, a="1").config
        assert isinstance(model, model_class)
        assert model.storage is storage
        assert set(model_class.model_fields) == set(FileConfigModel.model_fields)
        assert config_class(path="/x", a="1").reader_config == {"a": "1"}


class TestGenericFileConfig:
    def test_storage_is_generic_and_format_is_not_an_option(self):
        config = GenericFileConfig(path="/x", format="avro", compression="snappy")
        model = config.config
        assert isinstance(model, GenericFileConfigModel)
        assert model.storage is FileStorage.GENERIC
        assert model.format == "avro"
        assert config.reader_config == {"compression": "snappy"}
        assert config.writer_config == {"compression": "snappy"}

    def test_format_is_required(self):
        with pytest.raises(ConfigError, match="format"):
            _ = GenericFileConfig(path="/x").config


class TestDataSchemaWithoutSpark:
    def test_an_explicit_none_schema_is_accepted(self):
        config = FileConfig(storage=FileStorage.CSV, path="/x", data_schema=None)
        assert config.config.data_schema is None
