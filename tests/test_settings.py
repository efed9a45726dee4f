"""``pysetl.settings``: every ``PYSETL_*`` process variable parsed once, in a model."""

from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path

import pytest

from pysetl.errors import ConfigError
from pysetl.settings import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    PREFIX,
    SPARK_LOG_LEVELS,
    Settings,
    parse_bool,
    parse_spark_log_level,
    reset_settings,
    settings,
    settings_of,
)

TOKEN = "canary-ui-token"  # noqa: S105 - a test value
FULL = {
    "PYSETL_OBSERVE": "0",
    "PYSETL_HISTORY_URL": "sqlite:///runs.db",
    "PYSETL_ENV": "prod",
    "PYSETL_DEBUG": "yes",
    "PYSETL_LOG_FORMAT": "json",
    "PYSETL_LOG_LEVEL": "WARNING",
    "PYSETL_SPARK_LOG_LEVEL": "info",
    "PYSETL_DISABLE_HOOKS": "a, b",
    "PYSETL_UI_TOKEN": TOKEN,
    "PYSETL_PROTECTED_ENVS": "live,staging",
}


class TestFromEnviron:
    def test_every_field(self):
        parsed = Settings.from_environ(FULL)
        assert parsed == Settings(
            observe=False,
            history_url="sqlite:///runs.db",
            env="prod",
            debug=True,
            log_format="json",
            log_level="WARNING",
            spark_log_level="INFO",
            disabled_hooks=("a", "b"),
            ui_token=TOKEN,
            protected_envs=("live", "staging"),
        )

    def test_nothing_set_gives_the_defaults(self):
        assert Settings.from_environ({}) == Settings()
        assert Settings() == Settings(
            observe=None,
            history_url=None,
            env=None,
            debug=False,
            log_format=None,
            log_level=None,
            spark_log_level=None,
            disabled_hooks=(),
            ui_token=None,
            protected_envs=None,
        )

    def test_other_variables_are_ignored(self):
        environ = {"PYSETL_DB__HOST": "h", "HOME": "/"}
        assert Settings.from_environ(environ) == Settings()

    @pytest.mark.parametrize(
        "name",
        [
            "PYSETL_HISTORY_URL",
            "PYSETL_ENV",
            "PYSETL_LOG_FORMAT",
            "PYSETL_LOG_LEVEL",
            "PYSETL_SPARK_LOG_LEVEL",
            "PYSETL_UI_TOKEN",
        ],
    )
    @pytest.mark.parametrize("blank", ["", "  ", "\t"])
    def test_a_blank_text_is_unset(self, name, blank):
        assert Settings.from_environ({name: blank}) == Settings()

    def test_texts_are_stripped(self):
        parsed = Settings.from_environ({"PYSETL_ENV": " dev \n"})
        assert parsed.env == "dev"

    @pytest.mark.parametrize("blank", ["", "  "])
    def test_a_blank_boolean_is_unset(self, blank):
        parsed = Settings.from_environ({"PYSETL_DEBUG": blank, "PYSETL_OBSERVE": blank})
        assert parsed.debug is False
        assert parsed.observe is None

    @pytest.mark.parametrize("text", sorted(BOOLEAN_TRUE | {"TRUE", " Yes ", "On"}))
    def test_true_booleans(self, text):
        names = ("PYSETL_DEBUG", "PYSETL_OBSERVE", "PYSETL_SPARK_LISTENER")
        parsed = Settings.from_environ(dict.fromkeys(names, text))
        assert parsed.debug is True
        assert parsed.observe is True
        assert parsed.spark_listener is True

    @pytest.mark.parametrize("text", sorted(BOOLEAN_FALSE | {"FALSE", " No ", "Off"}))
    def test_false_booleans(self, text):
        names = ("PYSETL_DEBUG", "PYSETL_OBSERVE", "PYSETL_SPARK_LISTENER")
        parsed = Settings.from_environ(dict.fromkeys(names, text))
        assert parsed.debug is False
        assert parsed.observe is False
        assert parsed.spark_listener is False

    @pytest.mark.parametrize(
        "name", ["PYSETL_DEBUG", "PYSETL_OBSERVE", "PYSETL_SPARK_LISTENER"]
    )
    @pytest.mark.parametrize("text", ["maybe", "2", "enabled", "-1"])
    def test_a_bad_boolean_names_the_variable(self, name, text):
        with pytest.raises(ConfigError) as info:
            Settings.from_environ({name: text})
        assert info.value.message == f"{name}={text!r} is not a boolean"
        assert info.value.hint is not None
        assert name in info.value.hint
        assert "0/false/no/off" in info.value.hint

    def test_the_error_is_a_value_error(self):
        with pytest.raises(ValueError, match="PYSETL_DEBUG"):
            Settings.from_environ({"PYSETL_DEBUG": "maybe"})

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("a", ("a",)),
            ("a,b", ("a", "b")),
            (" a , b ,, ", ("a", "b")),
            ("", ()),
            (" , ", ()),
        ],
    )
    def test_lists(self, text, names):
        parsed = Settings.from_environ(
            {"PYSETL_DISABLE_HOOKS": text, "PYSETL_PROTECTED_ENVS": text}
        )
        assert parsed.disabled_hooks == names
        assert parsed.protected_envs == names

    def test_protected_envs_unset_is_none_and_set_empty_is_none_protected(self):
        """Unset: the defaults apply (``None``); set but empty: nothing is protected."""
        assert Settings.from_environ({}).protected_envs is None
        assert Settings.from_environ({"PYSETL_PROTECTED_ENVS": ""}).protected_envs == ()

    @pytest.mark.parametrize(
        ("text", "disabled"),
        [("all", True), ("x,all", True), ("x", False), ("", False)],
    )
    def test_entry_points_disabled(self, text, disabled):
        parsed = Settings.from_environ({"PYSETL_DISABLE_HOOKS": text})
        assert parsed.entry_points_disabled is disabled

    def test_the_default_environ_is_os_environ(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "from-os")
        assert Settings.from_environ().env == "from-os"


class TestModel:
    def test_frozen(self):
        parsed = Settings()
        with pytest.raises(dataclasses.FrozenInstanceError):
            parsed.debug = True  # type: ignore[misc]

    def test_the_token_is_not_in_the_repr(self):
        parsed = Settings.from_environ(FULL)
        assert TOKEN not in repr(parsed)
        assert "ui_token" not in repr(parsed)
        assert "history_url='sqlite:///runs.db'" in repr(parsed)


class TestParseBool:
    @pytest.mark.parametrize("value", [None, "", "   "])
    @pytest.mark.parametrize("default", [True, False])
    def test_unset_gives_the_default(self, value, default):
        assert parse_bool("X", value, default=default) is default

    def test_values(self):
        assert parse_bool("X", "1", default=False) is True
        assert parse_bool("X", "0", default=True) is False

    def test_a_bad_value(self):
        with pytest.raises(ConfigError, match=r"X='nah' is not a boolean"):
            parse_bool("X", "nah", default=False)


class TestSparkLogLevel:
    @pytest.mark.parametrize("level", SPARK_LOG_LEVELS)
    def test_every_log4j_level_in_any_case(self, level):
        for text in (level, level.lower(), f" {level.title()} "):
            parsed = Settings.from_environ({"PYSETL_SPARK_LOG_LEVEL": text})
            assert parsed.spark_log_level == level

    def test_python_s_warning_is_log4j_s_warn(self):
        assert parse_spark_log_level("X", "warning") == "WARN"

    @pytest.mark.parametrize("value", [None, "", "  "])
    def test_unset(self, value):
        assert parse_spark_log_level("X", value) is None

    @pytest.mark.parametrize("text", ["loud", "10", "CRITICAL"])
    def test_a_bad_level_names_the_variable_and_the_levels(self, text):
        with pytest.raises(ConfigError) as info:
            Settings.from_environ({"PYSETL_SPARK_LOG_LEVEL": text})
        error = info.value
        assert error.message == f"PYSETL_SPARK_LOG_LEVEL={text!r} is not a log4j level"
        assert error.hint is not None
        assert "PYSETL_SPARK_LOG_LEVEL" in error.hint
        assert "ERROR, WARN, INFO" in error.hint


class TestCache:
    def test_parsed_once(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "one")
        first = settings()
        monkeypatch.setenv("PYSETL_ENV", "two")
        assert settings() is first
        assert settings().env == "one"

    def test_reset_reads_the_environment_again(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "one")
        first = settings()
        reset_settings()
        monkeypatch.setenv("PYSETL_ENV", "two")
        assert settings() is not first
        assert settings().env == "two"

    def test_reset_is_idempotent(self):
        reset_settings()
        reset_settings()
        assert isinstance(settings(), Settings)

    def test_a_bad_value_raises_on_every_read_until_fixed(self, monkeypatch):
        """A failed parse is not cached: the next read sees the fixed variable."""
        monkeypatch.setenv("PYSETL_DEBUG", "maybe")
        with pytest.raises(ConfigError):
            settings()
        with pytest.raises(ConfigError):
            settings()
        monkeypatch.setenv("PYSETL_DEBUG", "1")
        assert settings().debug is True


class TestConfigKeysSecretsAndWorkers:
    def test_the_config_key_secret_vault_and_worker_variables(self):
        parsed = Settings.from_environ(
            {
                "PYSETL_CONFIG_KEY": " new , old ,",
                "PYSETL_CONFIG_KEY_FILE": "/keys/pysetl key",
                "PYSETL_SECRET_ROOTS": os.pathsep.join(["/run/secrets", "", "/etc"]),
                "PYSETL_VAULT_MOUNT": "kv/",
                "PYSETL_VAULT_KV_VERSION": "1",
                "PYSETL_UI_WORKER": '{"history": null}',
            }
        )
        assert parsed.config_keys == ("new", "old")
        assert parsed.config_key_file == "/keys/pysetl key"
        assert parsed.secret_roots == ("/run/secrets", "/etc")
        assert parsed.vault_mount == "kv/"
        assert parsed.vault_kv_version == "1"
        assert parsed.ui_worker == '{"history": null}'

    def test_empty_means_not_set(self):
        names = (
            "PYSETL_CONFIG_KEY",
            "PYSETL_CONFIG_KEY_FILE",
            "PYSETL_SECRET_ROOTS",
            "PYSETL_VAULT_MOUNT",
            "PYSETL_VAULT_KV_VERSION",
            "PYSETL_UI_WORKER",
        )
        assert Settings.from_environ(dict.fromkeys(names, "")) == Settings()

    def test_the_keys_are_never_in_the_repr(self):
        assert "canary-key" not in repr(Settings(config_keys=("canary-key",)))

    def test_not_strict_takes_a_bad_value_as_unset(self, monkeypatch):
        """Readers of other variables (the config loader) do not fail on it."""
        bad = {
            "PYSETL_OBSERVE": "maybe",
            "PYSETL_DEBUG": "maybe",
            "PYSETL_SPARK_LOG_LEVEL": "loud",
            "PYSETL_HOST": "a host",
            "PYSETL_ENV": "dev",
        }
        with pytest.raises(ConfigError):
            Settings.from_environ(bad)
        assert Settings.from_environ(bad, strict=False) == Settings(env="dev")
        for name, value in bad.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError):
            settings_of()
        assert settings_of(strict=False) == Settings(env="dev")

    def test_settings_of_a_mapping_or_of_the_process(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "process")
        assert settings_of(None) is settings()
        assert settings_of({"PYSETL_ENV": "given"}).env == "given"


_SRC = Path(__file__).resolve().parents[1] / "src" / "pysetl"
_READERS = frozenset({"get", "getenv", "pop", "setdefault"})


def _constants(trees: dict[Path, ast.Module]) -> frozenset[str]:
    """Names bound to a ``"PYSETL_..."`` text anywhere in the package."""
    return frozenset(
        target.id
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and str(node.value.value).startswith(PREFIX)
        for target in node.targets
        if isinstance(target, ast.Name)
    )


def _names_a_variable(node: ast.expr, constants: frozenset[str]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.startswith(PREFIX)
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return name in constants
    return False


def _reads(tree: ast.Module, constants: frozenset[str]) -> list[int]:
    """Lines that look a ``PYSETL_*`` variable up in a mapping or the environment."""
    found = []
    for node in ast.walk(tree):
        looked_up: list[ast.expr] = []
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else None
            name = func.id if isinstance(func, ast.Name) else name
            if name in _READERS:
                looked_up.append(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            looked_up.append(node.slice)
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ):
            looked_up.append(node.left)
        if any(_names_a_variable(expr, constants) for expr in looked_up):
            found.append(node.lineno)
    return found


class TestReadInOnePlace:
    def test_no_module_but_settings_reads_a_pysetl_variable(self):
        """Every ``PYSETL_*`` process setting is read by ``pysetl.settings`` only.

        ``PYSETL_<KEY>__<SUBKEY>`` config overrides are read by the config
        loader by prefix (no fixed name), so they do not show up here.
        """
        trees = {
            path: ast.parse(path.read_text(encoding="utf-8"), str(path))
            for path in sorted(_SRC.rglob("*.py"))
        }
        constants = _constants(trees)
        offenders = [
            f"{path.relative_to(_SRC)}:{line}"
            for path, tree in trees.items()
            if path.name != "settings.py" or path.parent != _SRC
            for line in _reads(tree, constants)
        ]
        assert offenders == []

    def test_the_scan_sees_a_read(self):
        """The scan finds each form of read (so that an empty list means none)."""
        source = (
            "import os\n"
            "NAME = 'PYSETL_X'\n"
            "os.environ.get('PYSETL_A')\n"
            "os.getenv(NAME)\n"
            "os.environ['PYSETL_B']\n"
            "'PYSETL_C' in os.environ\n"
            "os.environ['PYSETL_D'] = '1'\n"
        )
        tree = ast.parse(source)
        assert _reads(tree, _constants({Path(): tree})) == [3, 4, 5, 6]
