"""The generic ``Config``: raw params, lazy validation, merge, str, builder."""

from __future__ import annotations

import pytest

from pysetl.config import Config, ConfigBuilder, CsvConfig, FileConfig, JsonConfig
from pysetl.config.config import BaseConfigModel
from pysetl.enums import FileStorage
from pysetl.errors import ConfigError
from pysetl.utils.mixins import IsConfigurable


class TestConfig:
    def test_keeps_raw_params_without_validating(self):
        config = CsvConfig(path=123, savemode="not a mode")
        assert config.params == {"path": 123, "savemode": "not a mode"}

    def test_set_returns_the_config_and_get_returns_the_raw_value(self):
        config = Config()
        assert config.set("a", 1).set("b", [2]) is config
        assert config.get("a") == 1
        assert config.get("b") == [2]

    def test_get_of_a_missing_key_raises_key_error(self):
        with pytest.raises(KeyError):
            Config().get("missing")

    def test_has_and_in_say_whether_a_key_is_set(self):
        config = Config(a=None)
        assert config.has("a")
        assert "a" in config
        assert not config.has("b")
        assert "b" not in config

    def test_is_configurable(self):
        assert isinstance(Config(), IsConfigurable)

    def test_bare_config_has_no_model(self):
        config = Config(a=1)
        assert config.config is None
        assert config.config_dict == {}
        assert config.reader_config == {}
        assert config.writer_config == {}

    def test_base_model_has_a_storage_field(self):
        assert list(BaseConfigModel.model_fields) == ["storage"]


class TestMerge:
    def test_right_operand_wins_and_result_has_left_class(self):
        merged = CsvConfig(path="/a", header="false") | JsonConfig(path="/b", x=1)
        assert type(merged) is CsvConfig
        assert merged.params == {"path": "/b", "header": "false", "x": 1}

    def test_merge_builds_a_new_instance(self):
        left = CsvConfig(path="/a")
        merged = left | Config(sep=";")
        assert merged is not left
        assert left.params == {"path": "/a"}

    def test_merge_with_a_non_config_raises_type_error(self):
        with pytest.raises(
            TypeError,
            match=r"unsupported operand type\(s\) for \|: 'CsvConfig' and 'dict'",
        ):
            CsvConfig(path="/a") | {"x": 1}  # type: ignore[operator]


class TestStr:
    def test_lists_params_in_insertion_order(self):
        config = CsvConfig(path="/data/in.csv", header="true")
        expected = "PySetl CsvConfig:\n  path: /data/in.csv\n  header: true"
        assert str(config) == expected
        assert repr(config) == expected

    def test_empty_config_prints_only_the_title(self):
        assert str(Config()) == "PySetl Config:"

    def test_secret_looking_keys_are_masked(self):
        config = Config(user="etl", password="hunter2", api_token="tok")  # noqa: S106
        text = str(config)
        assert "hunter2" not in text
        assert "tok\n" not in text
        assert text.endswith("api_token: **********")
        assert "user: etl" in text

    def test_secrets_nested_in_dicts_are_masked(self):
        config = FileConfig(
            storage=FileStorage.CSV,
            path="/x",
            aws_credentials={"access_key": "AKIA1", "secret_key": "SK1"},
        )
        assert "AKIA1" not in str(config)
        assert "SK1" not in str(config)


class TestConfigBuilder:
    def test_builder_of_a_class_builds_that_class(self):
        builder = CsvConfig.builder()
        assert isinstance(builder, ConfigBuilder)
        assert type(builder.from_dict({"path": "/a"})) is CsvConfig

    def test_from_dict_sets_every_item(self):
        config = ConfigBuilder(Config).from_dict({"a": 1, "b": 2})
        assert config.params == {"a": 1, "b": 2}

    def test_from_object_collects_attributes_without_dunders(self):
        class Settings:
            path = "/data/x.csv"
            header = "false"

        config = CsvConfig.builder().from_object(Settings)
        assert config.params == {"path": "/data/x.csv", "header": "false"}
        assert config.config.header == "false"

    def test_from_object_of_an_instance_uses_its_attributes(self):
        class Settings:
            def __init__(self) -> None:
                self.path = "/data/y"

        assert Config.builder().from_object(Settings()).params == {"path": "/data/y"}


class TestCustomConfig:
    def test_a_config_with_a_model_validates_into_it(self):
        from enum import Enum

        from pydantic import BaseModel

        class Kind(Enum):
            MEMORY = "memory"

        class MemoryModel(BaseModel):
            storage: Kind = Kind.MEMORY
            size: int

        class MemoryConfig(Config):  # type: ignore[type-arg]
            model = MemoryModel

        model = MemoryConfig(size=3).config
        assert isinstance(model, MemoryModel)
        assert model.size == 3
        assert MemoryConfig(size=3).config_dict == {"storage": Kind.MEMORY, "size": 3}
        with pytest.raises(ConfigError, match="Invalid MemoryConfig: 1 problem"):
            _ = MemoryConfig(size="big").config


class TestRedact:
    def test_secrets_inside_lists_and_secret_types_are_masked(self):
        from pydantic import SecretStr

        from pysetl.config._redact import MASK, redact

        assert redact([{"token": "t1"}, ("password", "x")], "items") == [
            {"token": MASK},
            ("password", "x"),
        ]
        assert redact(SecretStr("s")) == MASK
        assert redact(["a", "b"], "passwords") == MASK
        assert redact({"password": None}) == {"password": None}
