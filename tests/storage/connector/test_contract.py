"""One contract, every connector: what is written is read back.

Each case builds its config, the connector comes from ``ConnectorBuilder``
(so the registry is exercised too), and the same behaviours are checked for
files, Spark tables, Derby and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812

from pysetl.config import (
    Config,
    CsvConfig,
    GenericFileConfig,
    JdbcConfig,
    JsonConfig,
    OrcConfig,
    ParquetConfig,
    SparkTableConfig,
)
from pysetl.enums import SaveMode
from pysetl.storage import ConnectorBuilder
from pysetl.storage.connector import (
    BaseConnector,
    Connector,
    CsvConnector,
    GenericFileConnector,
    JdbcConnector,
    JsonConnector,
    OrcConnector,
    ParquetConnector,
    SparkTableConnector,
)

MakeConfig = Callable[[SaveMode], Config]  # type: ignore[type-arg]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


FILE_CONFIGS = {
    "csv": CsvConfig,
    "json": JsonConfig,
    "parquet": ParquetConfig,
    "orc": OrcConfig,
}


def _case(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> MakeConfig:
    # Each case returns a factory: the same dataset, configured with a save mode.
    path = str(tmp_path / "people")
    if kind in FILE_CONFIGS:
        return lambda mode: FILE_CONFIGS[kind](path=path, savemode=mode)
    if kind == "generic":
        return lambda mode: GenericFileConfig(path=path, format="json", savemode=mode)
    if kind == "spark_table":
        table = _unique("people")
        return lambda mode: SparkTableConfig(table=table, savemode=mode)
    if kind == "jdbc_derby":
        url = f"jdbc:derby:memory:{_unique('db')};create=true"
        return lambda mode: JdbcConfig(url=url, table="PEOPLE", savemode=mode)
    server = request.getfixturevalue("postgres")
    table = _unique("people")
    return lambda mode: JdbcConfig(
        url=server.url,
        table=table,
        user=server.user,
        password=server.password,
        savemode=mode,
    )


EXPECTED_CLASS = {
    "csv": CsvConnector,
    "json": JsonConnector,
    "parquet": ParquetConnector,
    "orc": OrcConnector,
    "generic": GenericFileConnector,
    "spark_table": SparkTableConnector,
    "jdbc_derby": JdbcConnector,
    "jdbc_postgres": JdbcConnector,
}


@pytest.fixture(params=sorted(EXPECTED_CLASS))
def case(request, tmp_path, spark) -> tuple[str, MakeConfig]:
    return request.param, _case(request, tmp_path, request.param)


def rows(data: DataFrame) -> list[tuple[object, ...]]:
    typed = data.select(
        F.col("id").cast("long"), F.col("name").cast("string"), "country"
    )
    return sorted(tuple(row) for row in typed.collect())


class TestConnectorContract:
    def test_builder_picks_the_connector_and_repr_hides_secrets(self, case):
        kind, make = case
        config = make(SaveMode.ERRORIFEXISTS)
        connector = ConnectorBuilder(config).getOrCreate()
        assert type(connector) is EXPECTED_CLASS[kind]
        assert isinstance(connector, Connector)
        assert isinstance(connector, BaseConnector)
        assert repr(connector).startswith(f"{EXPECTED_CLASS[kind].__name__}(")
        if "password" in config:
            assert config.get("password") not in repr(connector)

    def test_written_data_is_read_back_appended_and_overwritten(self, case, people):
        """One test per connector keeps the Spark work (and the suite) short."""
        _, make = case
        expected = rows(people)
        ConnectorBuilder(make(SaveMode.ERRORIFEXISTS)).getOrCreate().write(people)
        appender = ConnectorBuilder(make(SaveMode.APPEND)).getOrCreate()
        assert rows(appender.read()) == expected
        appender.write(people)
        assert appender.read().count() == 2 * len(expected)
        overwriter = ConnectorBuilder(make(SaveMode.OVERWRITE)).getOrCreate()
        overwriter.write(people)
        assert rows(overwriter.read()) == expected
