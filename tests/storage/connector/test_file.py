"""File connectors beyond the shared contract: checks, paths, partitions, S3."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyarrow import fs
from pydantic import ValidationError

from pysetl.config import (
    AwsCredentials,
    CsvConfig,
    FileConfig,
    JdbcConfig,
    JsonConfig,
    ParquetConfig,
)
from pysetl.enums import FileStorage, SaveMode
from pysetl.errors import BuilderError, ConfigError, ConnectorError
from pysetl.storage import ConnectorBuilder
from pysetl.storage.connector import (
    CsvConnector,
    FileConnector,
    GenericFileConnector,
    JsonConnector,
    OrcConnector,
    ParquetConnector,
)
from pysetl.utils.exceptions import BuilderException, InvalidConfigException

CREDENTIALS = AwsCredentials(
    access_key="canary-access",
    secret_key="canary-secret",  # noqa: S106 - a planted test secret
    session_token="canary-token",  # noqa: S106 - a planted test secret
    credentials_provider="static",
)


class TestStorageCheck:
    @pytest.mark.parametrize(
        ("connector", "message"),
        [
            (CsvConnector, "Not a CsvConfig for a CsvConnector"),
            (JsonConnector, "Not a JsonConfig for a JsonConnector"),
            (ParquetConnector, "Not a ParquetConfig for a ParquetConnector"),
            (OrcConnector, "Not a OrcConfig for a OrcConnector"),
        ],
    )
    def test_a_config_for_another_storage_is_rejected(self, connector, message):
        config = FileConfig(storage=FileStorage.GENERIC, path="/x", format="avro")
        with pytest.raises(InvalidConfigException, match=message) as info:
            connector(config)
        assert isinstance(info.value, ConfigError)
        assert info.value.hint is not None
        assert info.value.config == "FileConfig"

    def test_a_file_config_with_the_right_storage_is_accepted(self):
        config = FileConfig(storage=FileStorage.CSV, path="/x")
        assert isinstance(CsvConnector(config), CsvConnector)

    def test_file_connector_takes_any_file_storage(self):
        connector = FileConnector(JsonConfig(path="/x"))
        assert connector.format == "json"

    def test_file_connector_rejects_a_non_file_config(self):
        config = JdbcConfig(url="jdbc:h2:mem:x", table="t")
        with pytest.raises(ConfigError, match="FileConnector needs a FileConfig"):
            FileConnector(config)

    def test_an_invalid_config_fails_at_construction(self):
        with pytest.raises(ValidationError, match="savemode"):
            CsvConnector(CsvConfig(path="/x", savemode="overwrite"))

    def test_generic_storage_needs_a_format(self):
        config = FileConfig(storage=FileStorage.GENERIC, path="/x")
        with pytest.raises(ConfigError, match="names no format"):
            GenericFileConnector(config)


class TestPaths:
    def test_a_relative_path_is_made_absolute_on_the_local_filesystem(self):
        connector = CsvConnector(CsvConfig(path="data/people.csv"))
        assert isinstance(connector.filesystem, fs.LocalFileSystem)
        assert connector.uri.path == "data/people.csv"
        assert connector.absolute_path == os.path.abspath("data/people.csv")  # noqa: PTH100
        assert connector.base_path == os.path.abspath("data")  # noqa: PTH100
        assert not connector.has_wildcard

    def test_a_last_component_ending_with_a_star_is_a_wildcard(self):
        assert CsvConnector(CsvConfig(path="/data/part-*")).has_wildcard
        assert not CsvConnector(CsvConfig(path="/data/*/part")).has_wildcard

    def test_s3_without_credentials_is_rejected_on_first_use(self):
        """As in the old pysetl: the connector is made, its filesystem is not."""
        config = ParquetConfig(path="s3://127.0.0.1:9000/bucket/data")
        connector = ParquetConnector(config)
        for use in ("filesystem", "absolute_path", "is_local"):
            with pytest.raises(InvalidConfigException) as info:
                getattr(connector, use)
            assert str(info.value) == "No S3 credentials provided"
            assert "aws_credentials" in str(info.value.hint)

    def test_s3_with_credentials_uses_an_s3_filesystem_at_the_uri_endpoint(self):
        config = ParquetConfig(
            path="s3://127.0.0.1:9000/bucket/data", aws_credentials=CREDENTIALS
        )
        connector = ParquetConnector(config)
        assert isinstance(connector.filesystem, fs.S3FileSystem)
        assert not connector.is_local
        assert connector.absolute_path == "/bucket/data"
        assert connector.base_path == "/bucket"
        assert "canary" not in repr(connector)


class TestWriteChecks:
    def test_writing_to_a_wildcard_path_is_refused(self, people, tmp_path):
        connector = JsonConnector(JsonConfig(path=str(tmp_path / "part-*")))
        with pytest.raises(
            InvalidConfigException, match="Can't write to wildcard path"
        ):
            connector.write(people)
        assert list(tmp_path.iterdir()) == []

    def test_partition_columns_missing_from_data_are_refused(self, people, tmp_path):
        config = JsonConfig(path=str(tmp_path / "p"), partition_by=["country", "age"])
        with pytest.raises(
            InvalidConfigException,
            match="Partition columns in configuration not in data",
        ) as info:
            JsonConnector(config).write(people)
        assert "age" in str(info.value.hint)


class TestFileOptions:
    def test_data_schema_selects_and_orders_columns_on_write(self, people, tmp_path):
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType(
            [StructField("name", StringType()), StructField("country", StringType())]
        )
        connector = ParquetConnector(
            ParquetConfig(path=str(tmp_path / "p"), data_schema=schema)
        )
        connector.write(people)
        assert connector.read().columns == ["name", "country"]

    def test_csv_options_reach_the_writer_and_reader(self, people, tmp_path):
        path = tmp_path / "people"
        connector = CsvConnector(CsvConfig(path=str(path), delimiter=";"))
        connector.write(people)
        text = "".join(p.read_text() for p in path.glob("*.csv"))
        assert text.splitlines()[0] == "id;name;country"
        assert connector.read().columns == ["id", "name", "country"]

    def test_generic_storage_is_not_read_as_json(self, people, tmp_path):
        config = FileConfig(
            storage=FileStorage.GENERIC,
            path=str(tmp_path / "people"),
            format="csv",
            header="true",
        )
        connector = ConnectorBuilder(config).getOrCreate()
        assert isinstance(connector, GenericFileConnector)
        assert connector.format == "csv"
        assert "format" not in connector.reader_config
        connector.write(people)
        assert next(Path(tmp_path / "people").glob("*.csv")).exists()
        assert connector.read().count() == 3


class TestMalformedCsv:
    """A CSV read in FAILFAST mode that meets a bad row says which row."""

    @staticmethod
    def bad_csv(tmp_path: Path) -> CsvConnector:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "people.csv").write_text(
            "id,name\n1,Ada\nthree,Alan token=s3cr3t-canary\n4,Bob\n"
        )
        return CsvConnector(CsvConfig(path=str(tmp_path / "in"), mode="FAILFAST"))

    def test_writing_data_read_from_a_bad_csv_names_the_row(self, spark, tmp_path):
        """The test failed before: a bare Py4JJavaError ("An error occurred
        while calling o123.save"), naming neither the file nor the row."""
        from pyspark.sql.types import IntegerType, StringType, StructField, StructType

        schema = StructType(
            [StructField("id", IntegerType()), StructField("name", StringType())]
        )
        data = self.bad_csv(tmp_path).read_with_schema(schema)
        target = ParquetConnector(ParquetConfig(path=str(tmp_path / "out")))
        with pytest.raises(ConnectorError) as info:
            target.write(data)
        error = info.value
        message = str(error)
        assert message.startswith(
            f"ParquetConnector could not write {str(tmp_path / 'out')!r}: "
            "reading its data failed on a malformed record in file://"
        )
        assert "people.csv: [null,Alan token=**********]" in message
        assert 'NumberFormatException: For input string: "three"' in message
        assert "s3cr3t-canary" not in message
        assert "fix that record" in error.hint
        assert "mode='PERMISSIVE'" in error.hint
        assert "s3cr3t-canary" not in error.hint
        assert error.connector == repr(target)
        assert error.__cause__ is not None

    def test_other_write_errors_are_not_wrapped(self, people, tmp_path):
        from pyspark.errors import AnalysisException

        target = ParquetConnector(
            ParquetConfig(path=str(tmp_path / "out"), savemode=SaveMode.ERRORIFEXISTS)
        )
        target.write(people)
        with pytest.raises(AnalysisException, match="already exists") as info:
            target.write(people)
        assert not isinstance(info.value, ConnectorError)


class TestPartitionsAndDrop:
    def test_list_read_and_drop_partitions(self, people, tmp_path):
        path = tmp_path / "people"
        connector = ParquetConnector(
            ParquetConfig(
                path=str(path), partition_by=["country"], savemode=SaveMode.OVERWRITE
            )
        )
        connector.write(people)
        partitions = connector.list_partitions()
        assert partitions == [str(path / "country=UK"), str(path / "country=US")]
        only_uk = connector.read_partitions(partitions[:1])
        # The table directory is the basePath, so the partition column survives.
        assert sorted(r.country for r in only_uk.collect()) == ["UK", "UK"]
        connector.drop()
        assert not path.exists()

    def test_missing_dataset_has_no_partitions_and_drops_quietly(self, tmp_path):
        connector = ParquetConnector(ParquetConfig(path=str(tmp_path / "missing")))
        assert connector.list_partitions() == []
        connector.drop()
        assert not (tmp_path / "missing").exists()


class TestConnectorBuilder:
    def test_get_before_build_raises(self):
        builder = ConnectorBuilder(CsvConfig(path="/x"))
        with pytest.raises(BuilderException, match="Connector is not defined"):
            builder.get()
        assert issubclass(BuilderException, BuilderError)

    def test_build_returns_the_builder_and_get_the_connector(self):
        builder = ConnectorBuilder(ParquetConfig(path="/x"))
        assert builder.build() is builder
        assert isinstance(builder.get(), ParquetConnector)

    @pytest.mark.parametrize(
        ("storage", "expected"),
        [
            (FileStorage.CSV, CsvConnector),
            (FileStorage.JSON, JsonConnector),
            (FileStorage.PARQUET, ParquetConnector),
            (FileStorage.ORC, OrcConnector),
            (FileStorage.GENERIC, GenericFileConnector),
        ],
    )
    def test_each_file_storage_gets_its_connector(self, storage, expected):
        config = FileConfig(storage=storage, path="/x", format="text")
        assert type(ConnectorBuilder(config).getOrCreate()) is expected
