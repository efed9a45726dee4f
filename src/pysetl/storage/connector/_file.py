"""``FileConnector``: a dataset stored as files (local, or S3 through pyarrow).

Changed in 0.2: ``read_partitions`` uses the dataset directory itself as
``basePath`` (it used its parent), and ``drop()`` of a missing dataset does
nothing.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import ParseResult, urlparse

from pyarrow import fs

from pysetl.config.file_config import FileConfigModel
from pysetl.errors import ConfigError, ConnectorError
from pysetl.storage.connector._base import Connector
from pysetl.utils.mixins import CanDrop, CanPartition, HasReader, HasWriter
from pysetl.utils.spark_errors import MalformedRecord, malformed_record

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader, DataFrameWriter
    from pyspark.sql.types import StructType

    from pysetl.config.config import Config
    from pysetl.enums import FileStorage

__all__ = ["FileConnector"]


class FileConnector(Connector, HasReader, HasWriter, CanDrop, CanPartition):
    """Reads and writes a file dataset in the format its config names.

    Examples:
        >>> connector = FileConnector(ParquetConfig(path="/data/orders"))
        >>> connector.write(df)            # doctest: +SKIP
        >>> connector.read().count()       # doctest: +SKIP

    Args:
        options: A ``FileConfig`` (or subclass); validated here.

    Raises:
        ConfigError: The config is invalid or is for another storage. A path
            on ``s3://`` without ``aws_credentials`` raises on first use of
            ``filesystem`` (a read, a write, ``absolute_path``...), as the old
            pysetl did, not here.

    Attributes:
        config: The validated ``FileConfigModel``.
        reader_config: Options passed to the Spark reader.
        writer_config: Options passed to the Spark writer.
        uri: The parsed ``path``.
    """

    #: The storage this class accepts; ``None`` accepts any file storage.
    storage: ClassVar[FileStorage | None] = None
    #: How errors name this connector's kind ("Csv" gives "CsvConfig"/"CsvConnector").
    label: ClassVar[str] = "File"

    def __init__(self, options: Config[Any]) -> None:
        """Validate ``options`` and resolve the filesystem."""
        model = options.config
        if self.storage is not None and getattr(model, "storage", None) != self.storage:
            name = self.label
            msg = f"Not a {name}Config for a {name}Connector"
            hint = (
                f"Use {name}Config(...) or a FileConfig with storage="
                f"FileStorage.{self.storage.name}; got {type(options).__name__}."
            )
            raise ConfigError(msg, hint=hint, config=type(options).__name__)
        if not isinstance(model, FileConfigModel):
            given = type(options).__name__
            msg = f"{type(self).__name__} needs a FileConfig, got {given}"
            raise ConfigError(
                msg, hint="Give a FileConfig subclass.", config=type(options).__name__
            )
        self.config: FileConfigModel = model
        self.reader_config: dict[str, Any] = options.reader_config
        self.writer_config: dict[str, Any] = options.writer_config
        self.uri: ParseResult = urlparse(model.path)
        self._filesystem: fs.FileSystem | None = None

    @property
    def filesystem(self) -> fs.FileSystem:
        """The pyarrow filesystem holding the data, made on first use.

        Raises:
            ConfigError: The path is on ``s3://`` and the config has no
                ``aws_credentials`` ("No S3 credentials provided").
        """
        if self._filesystem is None:
            self._filesystem = self._make_filesystem()
        return self._filesystem

    def _make_filesystem(self) -> fs.FileSystem:
        if self.uri.scheme == "s3":
            credentials = self.config.aws_credentials
            if credentials is None:
                msg = "No S3 credentials provided"
                hint = (
                    "Set aws_credentials=AwsCredentials(...) in the config of "
                    f"{self.config.path!r}."
                )
                raise ConfigError(msg, hint=hint)
            endpoint = (
                {"endpoint_override": f"{self.uri.hostname}:{self.uri.port}"}
                if self.uri.port
                else {}
            )
            return fs.S3FileSystem(
                access_key=credentials.access_key,
                secret_key=credentials.secret_key,
                session_token=credentials.session_token,
                allow_bucket_creation=True,
                allow_bucket_deletion=True,
                **endpoint,
            )
        filesystem, _ = fs.FileSystem.from_uri(
            self.config.path if self.uri.scheme else os.path.abspath(self.config.path)  # noqa: PTH100 - a str path, not a Path
        )
        return filesystem

    @property
    def target(self) -> str:
        """The configured path."""
        return self.config.path

    @property
    def is_local(self) -> bool:
        """Whether the data lives on the local filesystem."""
        return isinstance(self.filesystem, fs.LocalFileSystem)

    @property
    def absolute_path(self) -> str:
        """The dataset's path on its filesystem (absolute when local)."""
        if self.is_local:
            return os.path.abspath(self.uri.path)  # noqa: PTH100 - a str path, not a Path
        return self.uri.path

    @property
    def base_path(self) -> str:
        """The parent directory of ``absolute_path``."""
        return str(PurePosixPath(self.absolute_path).parent)

    @property
    def has_wildcard(self) -> bool:
        """Whether the last component of the path ends with ``*``."""
        return PurePosixPath(self.absolute_path).name.endswith("*")

    @property
    def _spark_path(self) -> str:
        # Spark needs the scheme for remote stores (s3a://...), not the bare key.
        return self.absolute_path if self.is_local else self.config.path

    @property
    def format(self) -> str:
        """The Spark format name."""
        return self.config.storage.value

    @property
    def _reader(self) -> DataFrameReader:
        """The reader with this dataset's options and format."""
        return self.spark.read.options(**self.reader_config).format(self.format)

    def _writer(self, data: DataFrame) -> DataFrameWriter:
        """The writer of ``data`` with this dataset's mode, options and partitions."""
        return (
            data.write.mode(self.config.savemode.value)
            .options(**self.writer_config)
            .partitionBy(*self.config.partition_by)
            .format(self.format)
        )

    def read(self) -> DataFrame:
        """Read the whole dataset."""
        self.log_debug(f"Reading {self.format} from {self._spark_path}")
        return self._reader.load(self._spark_path)

    def read_with_schema(self, schema: StructType) -> DataFrame:
        """Read the whole dataset, parsing schema-on-read formats with ``schema``.

        JSON and CSV files carry no column types: Spark infers them (a JSON
        integer becomes ``long``, a CSV ``007`` becomes ``7``). Here Spark
        parses them with the declared types instead. JSON fields are matched
        by name. CSV columns are matched by the header's names when the
        config has ``header`` on (columns the schema does not declare are read
        as strings), else by position. Other formats store their types and
        are read as with ``read``.

        Args:
            schema: The declared columns, for example ``Orders.get_structtype()``.

        Added in 0.2.
        """
        if self.format == "json":
            return self._reader.schema(schema).load(self._spark_path)
        if self.format != "csv":
            return self.read()
        header = str(self.reader_config.get("header", "false")).lower() == "true"
        if header:
            from pyspark.sql.types import (  # noqa: PLC0415 - only with a CSV header
                StringType,
                StructField,
                StructType,
            )

            # Only the header line is read here (no inference pass).
            names = self._reader.option("inferSchema", "false").load(self._spark_path)
            declared = {field.name: field for field in schema.fields}
            schema = StructType(
                [
                    declared.get(name, StructField(name, StringType()))
                    for name in names.columns
                ]
            )
        self.log_debug(
            f"Reading csv from {self._spark_path} with {schema.simpleString()}"
        )
        return self._reader.schema(schema).load(self._spark_path)

    def write(self, data: DataFrame) -> None:
        """Write ``data``, selecting the ``data_schema`` columns first if set.

        Raises:
            ConfigError: The path has a wildcard, or a ``partition_by`` column
                is missing from ``data``.
            ConnectorError: Reading ``data`` failed on a malformed record (a
                CSV or JSON source read with ``mode='FAILFAST'``); the message
                names the source file and the record, redacted. Spark's other
                errors propagate unchanged.

        Changed in 0.2: a malformed source record is a ``ConnectorError``.
        """
        if self.has_wildcard:
            msg = "Can't write to wildcard path"
            hint = f"Write to a concrete directory instead of {self.config.path!r}."
            raise ConfigError(msg, hint=hint)
        missing = [c for c in self.config.partition_by if c not in data.columns]
        if missing:
            msg = "Partition columns in configuration not in data"
            hint = f"Missing {missing}; the data has {data.columns}."
            raise ConfigError(msg, hint=hint)
        if self.config.data_schema is not None:
            data = data.select(*self.config.data_schema.fieldNames())
        self.log_debug(f"Writing {self.format} to {self._spark_path}")
        try:
            self._writer(data).save(self._spark_path)
        except Exception as exc:
            record = malformed_record(exc)
            if record is None:  # Spark's own errors of the write pass as they are
                raise
            raise self._unreadable(record) from exc

    def _unreadable(self, record: MalformedRecord) -> ConnectorError:
        """The error of a write whose data failed to read on ``record``."""
        msg = (
            f"{type(self).__name__} could not write {self.target!r}: reading its "
            f"data failed on a {record.describe()}"
        )
        source = record.path or "the source file"
        hint = (
            f"fix that record in {source}, or read it with mode='PERMISSIVE' "
            "(fields that do not parse become null) or mode='DROPMALFORMED' (the "
            "record is skipped) in the source's config"
        )
        return ConnectorError(msg, hint=hint, connector=repr(self))

    def drop(self) -> None:
        """Delete the dataset's directory; nothing happens when it is missing."""
        try:
            self.filesystem.delete_dir(self.absolute_path)
        except FileNotFoundError:
            self.log_debug(f"Nothing to drop at {self.absolute_path}")

    def list_partitions(self) -> list[str]:
        """The directories directly under the dataset, sorted."""
        selector = fs.FileSelector(self.absolute_path, allow_not_found=True)
        return sorted(
            info.path
            for info in self.filesystem.get_file_info(selector)
            if info.type == fs.FileType.Directory
        )

    def read_partitions(self, partitions: list[str]) -> DataFrame:
        """Read only ``partitions``, keeping their partition columns.

        Args:
            partitions: Paths as returned by ``list_partitions``.
        """
        base = self.absolute_path if self.is_local else self.config.path
        return self._reader.option("basePath", base).load(partitions)
