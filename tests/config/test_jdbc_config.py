"""``JdbcConfig``: validation, Spark options, and a password that never shows."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pysetl.config import JdbcConfig
from pysetl.config.jdbc_config import JdbcConfigModel
from pysetl.enums import DbStorage, SaveMode
from pysetl.errors import ConfigError

CANARY = "canary-4c1e5b7d"
URL = "jdbc:postgresql://db.internal:5433/shop"


def config(**overrides):
    params = {"url": URL, "table": "orders", "user": "etl", "password": CANARY}
    return JdbcConfig(**(params | overrides))


class TestJdbcConfigModel:
    def test_validates_with_defaults(self):
        model = config().config
        assert isinstance(model, JdbcConfigModel)
        assert model.storage is DbStorage.JDBC
        assert model.savemode is SaveMode.ERRORIFEXISTS
        assert (model.connect_timeout, model.login_timeout) == (10, 10)
        assert model.socket_timeout is None

    def test_password_becomes_a_secret(self):
        password = config().config.password
        assert isinstance(password, SecretStr)
        assert password.get_secret_value() == CANARY

    def test_password_may_be_given_as_a_secret(self):
        model = config(password=SecretStr(CANARY)).config
        assert model.password is not None
        assert model.password.get_secret_value() == CANARY

    def test_url_must_be_a_jdbc_url(self):
        with pytest.raises(ConfigError, match="url"):
            _ = config(url="postgresql://db/shop").config

    @pytest.mark.parametrize(
        "overrides", [{"table": None}, {"query": "select 1"}], ids=["none", "both"]
    )
    def test_exactly_one_of_table_and_query(self, overrides):
        with pytest.raises(ConfigError, match="exactly one of 'table' and 'query'"):
            _ = config(**overrides).config

    def test_unknown_keys_are_rejected(self):
        with pytest.raises(ConfigError, match="dbtabel"):
            _ = config(dbtabel="typo").config

    def test_address_is_host_and_port(self):
        assert config().config.address == "db.internal:5433"
        assert config(url="jdbc:postgresql://db/shop").config.address == "db"

    def test_address_of_an_embedded_database_is_its_url_head(self):
        model = config(url="jdbc:derby:memory:shop;create=true").config
        assert model.address == "jdbc:derby:memory:shop"


class TestJdbcOptions:
    def test_reader_config_has_no_password(self):
        options = config(fetchsize=500).reader_config
        assert "password" not in options
        assert CANARY not in str(options)
        assert options == {
            "url": URL,
            "dbtable": "orders",
            "user": "etl",
            "driver": "org.postgresql.Driver",
            "fetchsize": "500",
            "connectTimeout": "10",
            "loginTimeout": "10",
        }

    def test_writer_config_uses_batchsize_and_the_table(self):
        options = config(batchsize=1000, fetchsize=7).writer_config
        assert options["batchsize"] == "1000"
        assert "fetchsize" not in options
        assert options["dbtable"] == "orders"
        assert "password" not in options

    def test_query_is_read_as_a_query(self):
        options = config(table=None, query="select 1 as x").reader_config
        assert options["query"] == "select 1 as x"
        assert "dbtable" not in options

    def test_postgres_gets_socket_timeout_when_set(self):
        options = config(socket_timeout=30, connect_timeout=3).reader_config
        assert options["socketTimeout"] == "30"
        assert options["connectTimeout"] == "3"

    def test_other_databases_get_only_the_generic_login_timeout(self):
        options = config(url="jdbc:derby:memory:x", login_timeout=4).reader_config
        assert options["loginTimeout"] == "4"
        assert "connectTimeout" not in options
        assert options["driver"] == "org.apache.derby.iapi.jdbc.AutoloadedDriver"

    def test_unknown_url_gets_no_driver_unless_given(self):
        assert "driver" not in config(url="jdbc:h2:mem:x").reader_config
        given = config(url="jdbc:h2:mem:x", driver="org.h2.Driver").reader_config
        assert given["driver"] == "org.h2.Driver"

    def test_extra_options_pass_through_and_win(self):
        options = config(options={"sessionInitStatement": "SET x=1"}).reader_config
        assert options["sessionInitStatement"] == "SET x=1"


class TestJdbcSecrets:
    def test_str_and_repr_mask_the_password(self):
        cfg = config()
        assert CANARY not in str(cfg)
        assert CANARY not in repr(cfg)
        assert CANARY not in repr(cfg.config)
        assert "password: **********" in str(cfg)

    def test_validation_error_never_shows_the_password(self):
        with pytest.raises(ConfigError) as info:
            _ = config(fetchsize="many").config
        error = info.value
        assert CANARY not in str(error)
        assert CANARY not in repr(error)
        assert CANARY not in str(error.errors)

    def test_a_wrongly_typed_password_is_not_shown(self):
        with pytest.raises(ConfigError) as info:
            _ = config(password=["canary-list"]).config
        assert "canary-list" not in str(info.value)
        assert "canary-list" not in str(info.value.errors)

    def test_a_query_config_writes_no_table(self):
        options = config(table=None, query="select 1").writer_config
        assert "dbtable" not in options
        assert "query" not in options


class TestJdbcSaveMode:
    def test_savemode_may_be_given_by_value(self):
        assert config(savemode="overwrite").config.savemode is SaveMode.OVERWRITE

    def test_an_unknown_savemode_is_rejected(self):
        with pytest.raises(ConfigError, match="savemode"):
            _ = config(savemode="upsert").config
