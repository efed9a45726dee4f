"""Enumerations of storages, encodings and save modes shared by config and storage.

Every member's value is a plain string: ``FileStorage`` values are the Spark
format names, ``SaveMode`` values are what ``DataFrameWriter.mode`` expects.

Changed in 0.2: ``FileStorage.ORC`` is new.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["DbStorage", "FileStorage", "SaveMode", "SparkEncoding"]


class FileStorage(Enum):
    """File formats a ``FileConnector`` reads and writes; values are Spark format names.

    ``GENERIC`` means "any Spark format": the format name comes from the
    config's ``format`` key (see ``GenericFileConfig``).
    """

    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"
    ORC = "orc"
    GENERIC = "generic"


class DbStorage(Enum):
    """Database and table storages; each value is the upper-case member name."""

    JDBC = "JDBC"
    DELTA = "DELTA"
    CASSANDRA = "CASSANDRA"
    DYNAMODB = "DYNAMODB"
    HUDI = "HUDI"
    SPARK_SQL = "SPARK_SQL"
    STRUCTURED_STREAMING = "STRUCTURED_STREAMING"


class SparkEncoding(Enum):
    """Character encodings Spark understands, spelled as Spark spells them."""

    US_ASCII = "US-ASCII"
    ISO_8859_1 = "ISO-8859-1"
    UTF_8 = "UTF-8"
    UTF_16BE = "UTF-16BE"
    UTF_16LE = "UTF-16LE"
    UTF_16 = "UTF-16"


class SaveMode(Enum):
    """What a write does when the target already exists (``DataFrameWriter.mode``)."""

    APPEND = "append"
    ERRORIFEXISTS = "errorifexists"
    IGNORE = "ignore"
    OVERWRITE = "overwrite"
