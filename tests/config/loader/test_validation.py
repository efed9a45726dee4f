"""Validation into pydantic models: every error at once, located; connectors; schema."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from pysetl.config import (
    CsvConfig,
    JdbcConfig,
    ParquetConfig,
    ProjectConfigModel,
    config_json_schema,
)
from pysetl.config.crypto import ConfigCipher
from pysetl.config.models import UnknownOptionWarning, unknown_options
from pysetl.config.secrets import LazySecret
from pysetl.enums import DbStorage, FileStorage, SaveMode
from pysetl.errors import ConfigError, ConfigLoadError
from pysetl.utils.redaction import MASK


class Db(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    host: str
    port: int
    ssl: bool = False
    timeout: float = 1.0
    password: SecretStr | None = None

    @field_validator("host")
    @classmethod
    def _no_localhost(cls, value: str) -> str:
        if value == "localhost":
            msg = "use a real host name in shared configs"
            raise ValueError(msg)
        return value


class App(BaseModel):
    db: Db
    workers: int = Field(ge=1)


class TestValidate:
    def test_every_error_at_once_with_file_line_and_key_path(self, conf):
        conf.write("base/app.yaml", "workers: 1\ndb:\n  host: db\n  port: 1\n")
        prod = conf.write(
            "prod/app.yaml",
            "workers: 0\ndb:\n  host: localhost\n  port: many\n  colour: red\n",
        )
        with pytest.raises(ConfigLoadError) as caught:
            conf.load("prod", schema=App)
        errors = {e["key"]: e for e in caught.value.errors}
        assert set(errors) == {"workers", "db.host", "db.port", "db.colour"}
        assert (errors["workers"]["file"], errors["workers"]["line"]) == (str(prod), 1)
        assert errors["db.host"]["line"] == 3
        assert "real host name" in errors["db.host"]["msg"]
        assert errors["db.port"]["line"] == 4
        assert errors["db.colour"]["type"] == "extra_forbidden"
        assert "4 problems" in str(caught.value)

    def test_a_missing_key_points_at_its_mapping(self, conf):
        path = conf.write("base/app.yaml", "workers: 2\ndb:\n  host: db\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=App)
        (error,) = caught.value.errors
        assert (error["key"], error["file"], error["line"]) == ("db.port", str(path), 2)

    def test_a_missing_top_level_key_names_the_root(self, conf):
        conf.write("base/app.yaml", "workers: 2\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=App)
        (error,) = caught.value.errors
        assert (error["key"], error["file"]) == ("db", str(conf.root))

    def test_safe_conversion_of_strings_from_variables(self, conf):
        conf.write(
            "base/app.yaml",
            "workers: ${env:WORKERS}\ndb: {host: db, port: '5432', ssl: 'yes'}\n",
        )
        cfg = conf.load(
            schema=App, environ={"WORKERS": "4", "PYSETL_DB__TIMEOUT": "2.5"}
        )
        assert isinstance(cfg.model, App)
        assert (cfg.model.workers, cfg.model.db.port, cfg.model.db.ssl) == (
            4,
            5432,
            True,
        )
        assert cfg.model.db.timeout == 2.5

    @pytest.mark.parametrize(
        ("value", "kind"), [("1.5", "int_parsing"), ("1.5e0", "int_parsing")]
    )
    def test_unsafe_conversions_are_refused(self, conf, value, kind):
        conf.write("base/app.yaml", f"db: {{host: db, port: '{value}'}}\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().section("db", Db)
        assert caught.value.errors[0]["type"] == kind

    def test_a_number_never_becomes_a_string(self, conf):
        conf.write("base/app.yaml", "db: {host: 5, port: 1}\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().section("db", Db)
        assert caught.value.errors[0]["key"] == "db.host"

    def test_secret_fields_keep_lazy_secrets_unresolved(self, conf):
        conf.write(
            "base/app.yaml", "db: {host: db, port: 1, password: '${secret:env:PW}'}\n"
        )
        db = conf.load(environ={"PW": "pw-424242"}).section("db", Db)
        assert isinstance(db.password, LazySecret)
        assert not db.password.is_resolved
        assert db.password.get_secret_value() == "pw-424242"

    def test_a_missing_section(self, conf):
        conf.write("base/app.yaml", "x: 1\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().section("db.main", Db)
        assert caught.value.errors[0]["key"] == "db.main"


class TestRules:
    def test_custom_rules_are_reported_with_model_errors(self, conf):
        path = conf.write("base/app.yaml", "workers: 0\ndb: {host: db, port: 80}\n")

        def no_privileged_ports(cfg):
            if cfg.get("db.port") < 1024:
                yield "db.port", "ports below 1024 need root"

        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=App, rules=[no_privileged_ports])
        errors = caught.value.errors
        assert [e["key"] for e in errors] == ["workers", "db.port"]
        assert (errors[1]["file"], errors[1]["line"], errors[1]["type"]) == (
            str(path),
            2,
            "rule",
        )

    def test_rules_without_a_schema(self, conf):
        conf.write("base/app.yaml", "a: 1\n")

        def needs_b(cfg):
            if "b" not in cfg:
                yield "b", "b is required in every environment"

        with pytest.raises(ConfigLoadError, match="b is required"):
            conf.load(rules=[needs_b])
        assert conf.load(rules=[lambda _cfg: iter(())]).get("a") == 1


class TestConnectors:
    CATALOG = """
        spark:
          app_name: shop
        connectors:
          orders:
            storage: csv
            path: /data/orders.csv
            sep: ";"
            savemode: append
          customers:
            storage: jdbc
            url: jdbc:postgresql://db:5432/shop
            table: customers
            fetchsize: ${env:FETCH:-100}
            password: ${secret:env:PG_PW}
          events:
            storage: PARQUET
            path: /data/events
            partition_by: [day]
        """

    def test_connector_sections_become_typed_configs(self, conf):
        conf.write("base/catalog.yaml", self.CATALOG)
        configs = conf.load(environ={"PG_PW": "pw-777777"}).connectors()
        assert isinstance(configs["orders"], CsvConfig)
        assert isinstance(configs["customers"], JdbcConfig)
        assert isinstance(configs["events"], ParquetConfig)
        orders = configs["orders"].config
        assert (orders.storage, orders.savemode) == (FileStorage.CSV, SaveMode.APPEND)
        assert configs["orders"].reader_config["sep"] == ";"
        customers = configs["customers"].config
        assert (customers.storage, customers.fetchsize) == (DbStorage.JDBC, 100)
        assert customers.password.get_secret_value() == "pw-777777"
        assert "pw-777777" not in str(configs["customers"])
        assert configs["events"].config.partition_by == ["day"]

    def test_every_invalid_connector_is_reported_with_its_location(self, conf):
        path = conf.write(
            "base/catalog.yaml",
            """
            connectors:
              orders:
                storage: csv
              customers:
                storage: jdbc
                url: not-jdbc
                table: customers
                fetchsize: lots
              other:
                storage: floppy
            """,
        )
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().connectors()
        errors = {e["key"]: e for e in caught.value.errors}
        assert set(errors) == {
            "connectors.orders.path",
            "connectors.customers.url",
            "connectors.customers.fetchsize",
            "connectors.other",
        }
        assert errors["connectors.orders.path"]["line"] == 2
        assert errors["connectors.customers.url"]["line"] == 6
        assert errors["connectors.other"]["file"] == str(path)
        assert errors["connectors.other"]["type"] == "unknown_storage"

    def test_no_connector_section_means_no_configs(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        assert conf.load().connectors() == {}

    def test_the_project_model_validates_everything(self, conf):
        conf.write("base/catalog.yaml", self.CATALOG)
        cfg = conf.load(environ={"PG_PW": "pw-777777"}, schema=ProjectConfigModel)
        assert cfg.model.connectors["customers"].url.startswith("jdbc:")
        assert cfg.model.spark == {"app_name": "shop"}

    def test_the_load_error_is_a_config_error(self, conf):
        conf.write("base/a.yaml", "a: [\n")
        with pytest.raises(ConfigError):
            conf.load()


class TestJsonSchema:
    def test_project_schema_lists_every_connector_model(self):
        schema = config_json_schema()
        assert schema["$schema"].startswith("https://json-schema.org/")
        text = json.dumps(schema)
        for name in ("CsvConfigModel", "JdbcConfigModel", "SparkTableConfigModel"):
            assert name in schema["$defs"], name
        assert '"writeOnly": true' in text

    def test_a_custom_schema(self):
        schema = config_json_schema(App)
        assert schema["properties"]["workers"]["minimum"] == 1
        assert schema["$defs"]["Db"]["additionalProperties"] is False

    def test_secret_defaults_and_examples_never_reach_the_schema(self):
        class Creds(BaseModel):
            password: str = Field("canary-default-1", examples=["canary-ex-2"])
            host: str = "db"

        class Project(BaseModel):
            creds: Creds = Creds()
            api_token: SecretStr = SecretStr("canary-token-3")
            threads: int = 4

        schema = config_json_schema(Project)
        assert "canary" not in json.dumps(schema)
        assert schema["properties"]["creds"]["default"] == {
            "password": MASK,
            "host": "db",
        }
        assert schema["$defs"]["Creds"]["properties"]["password"]["examples"] == [MASK]
        assert schema["properties"]["threads"]["default"] == 4


class TestEdgeCases:
    def test_a_list_item_error_points_at_the_list(self, conf):
        class Ports(BaseModel):
            ports: list[int]

        path = conf.write("base/a.yaml", "x: 1\nports:\n  - 1\n  - many\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=Ports)
        (error,) = caught.value.errors
        assert (error["key"], error["file"], error["line"]) == (
            "ports.1",
            str(path),
            2,
        )

    def test_a_connector_that_is_not_a_mapping(self, conf):
        conf.write("base/a.yaml", "connectors:\n  x: 5\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().connectors()
        assert caught.value.errors[0]["key"] == "connectors.x"

    def test_storage_names(self):
        from pysetl.config.models import storage_of

        assert storage_of("JDBC") is DbStorage.JDBC
        assert storage_of("spark_sql") is DbStorage.SPARK_SQL
        assert storage_of(FileStorage.ORC) is FileStorage.ORC
        assert storage_of(DbStorage.DELTA) is None
        assert storage_of(5) is None
        assert storage_of("floppy") is None

    def test_an_overrides_key_that_is_not_a_string(self, conf):
        conf.write("base/a.yaml", "a: 1\n")
        with pytest.raises(ConfigLoadError, match="overrides keys"):
            conf.load(overrides={1: "x"})

    def test_union_member_names_are_not_keys(self, conf):
        class Flexible(BaseModel):
            x: int | list[int]

        conf.write("base/a.yaml", "x: abc\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=Flexible)
        assert {e["key"] for e in caught.value.errors} == {"x"}

    def test_spark_settings_are_flattened(self, conf):
        from pysetl.config.models import spark_settings

        conf.write(
            "base/a.yaml",
            "spark:\n  app_name: x\n  sql: {shuffle: {partitions: 2}}\n"
            "  spark.ui.enabled: false\n",
        )
        cfg = conf.load()
        assert spark_settings(cfg) == {
            "app_name": "x",
            "spark.sql.shuffle.partitions": 2,
            "spark.ui.enabled": False,
        }
        assert spark_settings(cfg, "nope") == {}


class TestEchoedValuesAreMasked:
    """A validator or rule that echoes a secret-named value never leaks it."""

    def test_a_validator_echoing_its_input(self, conf):
        class Db(BaseModel):
            password: str

            @field_validator("password")
            @classmethod
            def strong(cls, value: str) -> str:
                msg = f"weak password {value!r}"
                raise ValueError(msg)

        conf.write("base/app.yaml", "db:\n  password: ${env:PW}\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(environ={"PW": "canary-hunter2"}).section("db", Db)
        text = str(caught.value) + repr(caught.value.errors)
        assert "canary-hunter2" not in text
        assert "weak password '**********'" in text
        assert caught.value.errors[0]["line"] == 2

    @pytest.mark.parametrize("secret", ["canary\\hunter2", "can'ary\"hunt\t3"])
    def test_a_validator_echoing_the_repr_of_an_escaped_secret(self, conf, secret):
        class Db(BaseModel):
            password: str

            @field_validator("password")
            @classmethod
            def strong(cls, value: str) -> str:
                msg = f"weak password {value!r}"
                raise ValueError(msg)

        conf.write("base/app.yaml", "db:\n  password: ${env:PW}\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(environ={"PW": secret}).section("db", Db)
        text = caught.value.errors[0]["msg"]
        assert text.endswith(f"weak password '{MASK}'")
        assert "hunt" not in str(caught.value) + repr(caught.value.errors)

    def test_a_section_under_a_secret_named_key(self, conf):
        class Creds(BaseModel):
            user: str

            @field_validator("user")
            @classmethod
            def known(cls, value: str) -> str:
                msg = f"unknown user {value}"
                raise ValueError(msg)

        conf.write("base/app.yaml", "credentials:\n  user: canary-user-x\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().section("credentials", Creds)
        assert "canary-user-x" not in caught.value.errors[0]["msg"]
        assert caught.value.errors[0]["key"] == "credentials.user"

    def test_a_rule_echoing_a_secret(self, conf):
        conf.write("base/app.yaml", "db:\n  token: canary-token-9\n")

        def echo(cfg):
            yield "db.token", f"token {cfg.get('db.token')} is revoked"

        with pytest.raises(ConfigLoadError) as caught:
            conf.load(rules=[echo])
        assert "canary-token-9" not in str(caught.value) + repr(caught.value.errors)
        assert "token ********** is revoked" in caught.value.errors[0]["msg"]

    def test_short_values_and_several_rule_problems(self, conf):
        conf.write("base/app.yaml", "db:\n  password: abc\n  token: canary-tok-5\n")

        def two(cfg):
            yield "db.password", "abc is too short"  # under 4 characters: kept
            yield "db.token", f"token {cfg.get('db.token')} expired"

        with pytest.raises(ConfigLoadError) as caught:
            conf.load(rules=[two])
        msgs = [error["msg"] for error in caught.value.errors]
        assert msgs == ["abc is too short", f"token {MASK} expired"]


class TestCheckEncrypted:
    """``ResolvedConfig.check_encrypted`` decrypts every ``enc:`` value now."""

    def test_every_value_no_key_opens_is_listed_with_file_and_line(self, conf):
        old, new = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        bad = ConfigCipher([old]).encrypt("canary-old-1")
        good = ConfigCipher([new]).encrypt("canary-new-2")
        text = (
            f"db:\n  password: '{good}'\n  hosts:\n    - '{bad}'\n"
            f"api:\n  token: '{bad}'\n"
        )
        path = conf.write("base/app.yaml", text)
        cfg = conf.load(environ={"PYSETL_CONFIG_KEY": new})
        with pytest.raises(ConfigLoadError) as caught:
            cfg.check_encrypted()
        errors = caught.value.errors
        assert [(e["key"], e["line"], e["type"]) for e in errors] == [
            ("db.hosts.0", 3, "decrypt"),  # a list item: its list's line
            ("api.token", 6, "decrypt"),
        ]
        assert all(e["file"] == str(path) for e in errors)
        assert "cannot decrypt config entry 'api.token'" in errors[1]["msg"]
        assert "PYSETL_CONFIG_KEY" in caught.value.hint
        assert "canary-old-1" not in str(caught.value) + repr(errors)
        # the value that decrypts is decrypted (and so masked from now on)
        assert cfg.get("db.password").is_resolved

    def test_a_config_without_encrypted_values_passes(self, conf):
        conf.write("base/app.yaml", "db:\n  password: ${env:PW}\n")
        conf.load(environ={"PW": "canary-pw-3"}).check_encrypted()


CATALOG_WITH_TYPOS = """\
connectors:
  orders:
    storage: csv
    path: /data/orders.csv
    headr: "false"
    delimter: ";"
    NullValue: ""
    fs.s3a.endpoint: http://minio:9000
    wibble: x
  events:
    storage: generic
    format: avro
    path: /data/events
    avroSchema: "{}"
    partiton_by: [day]
  sales:
    storage: Parquet
    path: /data/sales
    mergeschema: "true"
"""


class TestUnknownOptions:
    """Misspelled options of file connectors are reported, with the closest name."""

    def test_unknown_keys_are_located_with_the_closest_valid_name(self, conf):
        path = conf.write("base/catalog.yaml", CATALOG_WITH_TYPOS)
        problems = unknown_options(conf.load())
        found = [(p.key, p.line, p.type) for p in problems]
        assert found == [
            (("connectors", "orders", "headr"), 5, "unknown_option"),
            (("connectors", "orders", "delimter"), 6, "unknown_option"),
            (("connectors", "orders", "wibble"), 9, "unknown_option"),
            (("connectors", "events", "partiton_by"), 15, "unknown_option"),
        ]
        assert all(p.file == path for p in problems)
        msgs = [p.msg for p in problems]
        assert msgs[0].endswith("so Spark ignores it; did you mean 'header'?")
        assert msgs[1].endswith("did you mean 'delimiter'?")
        assert msgs[2].endswith("check its spelling")
        assert msgs[3] == (
            "unknown key 'partiton_by' of a generic connector; "
            "did you mean 'partition_by'?"
        )

    def test_building_the_connectors_warns_about_them(self, conf):
        conf.write("base/catalog.yaml", CATALOG_WITH_TYPOS)
        with pytest.warns(UnknownOptionWarning) as caught:
            configs = conf.load().connectors()
        assert len(caught) == 4
        assert "[connectors.orders.headr]" in str(caught[0].message)
        assert configs["orders"].reader_config["headr"] == "false"  # still passed on

    def test_known_options_and_other_sections_pass(self, conf):
        conf.write(
            "base/catalog.yaml",
            "connectors:\n  orders:\n    storage: csv\n    path: /x\n"
            "    sep: ';'\n    dateFormat: yyyy\n  db:\n    storage: JDBC\n"
            "    url: jdbc:derby:x\n    table: t\n  weird: 3\n",
        )
        assert unknown_options(conf.load()) == []
        assert unknown_options(conf.load(), "nothing") == []

    def test_a_jdbc_key_names_the_closest_field_or_options(self, conf):
        conf.write(
            "base/catalog.yaml",
            "connectors:\n  db:\n    storage: jdbc\n    url: jdbc:derby:x\n"
            "    table: t\n    fetchsze: 10\n    sslmode: require\n",
        )
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(schema=ProjectConfigModel)
        msgs = {e["key"]: e["msg"] for e in caught.value.errors}
        assert msgs == {
            "connectors.db.fetchsze": (
                "Extra inputs are not permitted; did you mean 'fetchsize'?"
            ),
            "connectors.db.sslmode": (
                "Extra inputs are not permitted; other options go under 'options:'"
            ),
        }
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().connectors()  # the section alone, as a run builds it
        assert {e["key"]: e["msg"] for e in caught.value.errors} == msgs

    def test_an_extra_key_of_a_custom_model_names_its_closest_field(self, conf):
        conf.write("base/app.yaml", "db:\n  host: h\n  port: 1\n  timout: 3\n")
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().section("db", Db)
        assert caught.value.errors[0]["msg"] == (
            "Extra inputs are not permitted; did you mean 'timeout'?"
        )
        conf.write("base/app.yaml", "dbs:\n  - host: h\n    port: 1\n    zzz: 3\n")

        class Dbs(BaseModel):
            dbs: list[Db]
            extra: dict[str, int | str] = {}

        with pytest.raises(ConfigLoadError) as caught:
            conf.load().validate(Dbs)
        assert caught.value.errors[0]["msg"] == "Extra inputs are not permitted"

    def test_members_of_a_plain_union_are_found_by_name(self, conf):
        class Either(BaseModel):
            db: Db | int
            dbs: dict[str, Db] | list[Db] = {}

        conf.write(
            "base/app.yaml",
            "db:\n  host: h\n  port: 1\n  timout: 3\n"
            "dbs:\n  a:\n    host: h\n    port: 1\n    timout: 3\n",
        )
        with pytest.raises(ConfigLoadError) as caught:
            conf.load().validate(Either)
        msgs = {e["key"]: e["msg"] for e in caught.value.errors}
        assert msgs["db.timout"].endswith("; did you mean 'timeout'?")
        # a member pydantic names by its type expression: no suggestion
        assert msgs["dbs.a.timout"] == "Extra inputs are not permitted"
