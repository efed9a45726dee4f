"""``JdbcConnector`` against a real PostgreSQL server and embedded Derby."""

from __future__ import annotations

import logging
import socket
import time
import uuid

import pytest

from pysetl.config import CsvConfig, JdbcConfig
from pysetl.enums import SaveMode
from pysetl.errors import ConfigError, ConnectorError, ConnectorUnavailableError
from pysetl.storage.connector import JdbcConnector


def derby_url() -> str:
    return f"jdbc:derby:memory:db_{uuid.uuid4().hex[:10]};create=true"


def closed_port() -> int:
    # Bound then closed: nothing listens there, so connecting is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestJdbcConnector:
    def test_rejects_a_config_that_is_not_jdbc(self):
        with pytest.raises(ConfigError, match="Not a JdbcConfig for a JdbcConnector"):
            JdbcConnector(CsvConfig(path="/x"))

    def test_repr_names_table_and_address(self):
        config = JdbcConfig(url="jdbc:postgresql://db:5432/x", table="t", user="u")
        assert repr(JdbcConnector(config)) == "JdbcConnector('t at db:5432')"

    def test_writing_through_a_query_config_is_refused(self, people):
        connector = JdbcConnector(JdbcConfig(url=derby_url(), query="select 1"))
        with pytest.raises(ConfigError, match="Can't write to a JDBC query"):
            connector.write(people)

    @pytest.mark.usefixtures("spark")
    def test_a_query_is_read(self, postgres):
        config = JdbcConfig(
            url=postgres.url,
            query="select 42 as answer",
            user=postgres.user,
            password=postgres.password,
        )
        assert JdbcConnector(config).read().collect()[0].answer == 42

    @pytest.mark.usefixtures("spark")
    def test_a_missing_table_raises_a_connector_error_naming_it(self):
        connector = JdbcConnector(JdbcConfig(url=derby_url(), table="NOPE"))
        with pytest.raises(ConnectorError, match="JDBC read of table 'NOPE'") as info:
            connector.read()
        assert not isinstance(info.value, ConnectorUnavailableError)
        assert info.value.connector == repr(connector)
        assert info.value.__cause__ is not None

    def test_a_failed_write_raises_a_connector_error(self, people):
        connector = JdbcConnector(JdbcConfig(url=derby_url(), table="PEOPLE"))
        connector.write(people)
        with pytest.raises(ConnectorError, match="JDBC write of table 'PEOPLE'"):
            connector.write(people)


class TestJdbcSecrets:
    @pytest.mark.usefixtures("spark")
    def test_password_never_appears_in_repr_str_or_logs(self, postgres, people, caplog):
        caplog.set_level(logging.DEBUG)
        config = JdbcConfig(
            url=postgres.url,
            table=f"secret_{uuid.uuid4().hex[:8]}",
            user=postgres.user,
            password=postgres.password,
            savemode=SaveMode.OVERWRITE,
        )
        connector = JdbcConnector(config)
        connector.write(people)
        assert connector.read().count() == 3
        assert "Writing JDBC" in caplog.text
        for text in (caplog.text, repr(connector), str(config), repr(config.config)):
            assert postgres.password not in text

    @pytest.mark.usefixtures("spark")
    def test_wrong_password_fails_without_showing_it(self, postgres):
        canary = f"canary-wrong-{uuid.uuid4().hex}"
        config = JdbcConfig(
            url=postgres.url, table="t", user=postgres.user, password=canary
        )
        with pytest.raises(ConnectorError) as info:
            JdbcConnector(config).read()
        error = info.value
        assert not isinstance(error, ConnectorUnavailableError)
        assert "password authentication failed" in str(error)
        for text in (str(error), repr(error), str(error.context), str(error.__cause__)):
            assert canary not in text


class TestUnreachableDatabase:
    @pytest.mark.usefixtures("spark")
    def test_a_closed_port_fails_fast_naming_host_and_port(self):
        port = closed_port()
        canary = f"canary-{uuid.uuid4().hex}"
        config = JdbcConfig(
            url=f"jdbc:postgresql://127.0.0.1:{port}/nowhere",
            table="t",
            user="u",
            password=canary,
            connect_timeout=2,
            login_timeout=2,
        )
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailableError) as info:
            JdbcConnector(config).read()
        assert time.monotonic() - started < 10
        assert f"127.0.0.1:{port}" in str(info.value)
        assert canary not in str(info.value)
        assert info.value.hint is not None


class TestJdbcPushdown:
    def test_repository_find_reaches_the_jdbc_scan(self, people, postgres):
        from pyspark.sql import functions as F  # noqa: N812
        from tests.storage.conftest import Person

        from pysetl.storage.repository import SparkRepository

        config = JdbcConfig(
            url=postgres.url,
            table=f"find_{uuid.uuid4().hex[:8]}",
            user=postgres.user,
            password=postgres.password,
        )
        repo = SparkRepository[Person](JdbcConnector(config)).save(people)
        found = repo.find(F.col("id") > 1, country="UK")
        plan = found._jdf.queryExecution().executedPlan().toString()
        assert "*GreaterThan(id,1)" in plan
        assert "*EqualTo(country,UK)" in plan
        assert [r.id for r in found.collect()] == [3]
