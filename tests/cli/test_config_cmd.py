"""``pysetl config``: every sub-command on real files and a real SQLite history."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import app
from pysetl.cli.config_cmd import PROTECTED_ENVS_VAR, protected_envs
from pysetl.config.crypto import ConfigCipher
from pysetl.monitoring.history import ConfigStore, SqliteRunHistory
from pysetl.utils.redaction import MASK

BASE_APP = """\
app:
  name: orders
  spark:
    shuffle_partitions: 8
templates:
  jdbc_default:
    driver: org.postgresql.Driver
    fetchsize: 1000
"""
BASE_CATALOG = """\
connectors:
  orders:
    storage: parquet
    path: /data/dev/orders
  warehouse:
    storage: JDBC
    extends: templates.jdbc_default
    url: jdbc:postgresql://localhost:5432/shop
    table: public.orders
    user: etl
    password: ${secret:env:SHOP_DB_PASSWORD}
"""
PROD_APP = """\
app:
  spark:
    shuffle_partitions: 200
"""
PROD_CATALOG = """\
connectors:
  orders:
    path: s3://shop-prod/orders
  warehouse:
    fetchsize: 10000
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(0o640)
    return path


_NO_ROOT = {"history", "audit", "schema"}


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    root = tmp_path / "conf"
    write(root / "base" / "app.yaml", BASE_APP)
    write(root / "base" / "catalog.yaml", BASE_CATALOG)
    write(root / "prod" / "app.yaml", PROD_APP)
    write(root / "prod" / "catalog.yaml", PROD_CATALOG)
    write(root / "dev" / "app.yaml", "app:\n  spark:\n    shuffle_partitions: 1\n")
    return root


@pytest.fixture
def key() -> str:
    return ConfigCipher.generate_key()


@pytest.fixture
def cli(tmp_path: Path, conf: Path, key: str, monkeypatch: pytest.MonkeyPatch):
    """``cli(*args, input=None, env=None)``: run ``pysetl config`` in the project."""
    monkeypatch.delenv(PROTECTED_ENVS_VAR, raising=False)
    monkeypatch.delenv("PYSETL_ENV", raising=False)
    monkeypatch.delenv("PYSETL_CONFIG_KEY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / ".pysetl" / "history.db"
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None):  # noqa: A002
        environ = {"PYSETL_HISTORY_URL": str(db), "PYSETL_CONFIG_KEY": key}
        root = ["--root", str(conf)] if args and args[0] not in _NO_ROOT else []
        return runner.invoke(
            app, ["config", *args, *root], input=input, env={**environ, **(env or {})}
        )

    run.db = db
    return run


def store_of(cli) -> ConfigStore:
    return ConfigStore(SqliteRunHistory(cli.db))


class TestExplainAndShow:
    def test_explain_lists_every_source_winner_first(self, cli, conf):
        result = cli("explain", "connectors.warehouse.fetchsize", "--env", "prod")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "connectors.warehouse.fetchsize (env prod), winner first:"
        assert lines[1].split()[:4] == [
            "1.",
            "prod",
            f"{conf}/prod/catalog.yaml:5",
            "10000",
        ]
        assert "(via extends templates.jdbc_default)" in lines[2]
        assert f"{conf}/base/app.yaml:8" in lines[2]

    def test_explain_masks_secrets(self, cli):
        result = cli("explain", "connectors.warehouse.password", "--env", "prod")
        assert result.exit_code == 0
        assert MASK in result.stdout
        assert "SHOP_DB_PASSWORD" not in result.stdout

    def test_explain_of_a_missing_key_is_a_config_error(self, cli):
        result = cli("explain", "nope.nothing", "--env", "prod")
        assert result.exit_code == commands.EXIT_CONFIG
        assert "has no key 'nope.nothing'" in result.output
        assert "hint: list the keys with 'pysetl config show'" in result.output

    def test_show_prints_the_resolved_config_in_yaml_or_json(self, cli):
        result = cli("show", "--env", "prod")
        assert result.exit_code == 0
        assert "shuffle_partitions: 200" in result.stdout
        assert f"password: '{MASK}'" in result.stdout
        data = json.loads(cli("show", "--env", "prod", "--format", "json").stdout)
        assert data["connectors"]["orders"]["path"] == "s3://shop-prod/orders"
        assert data["connectors"]["warehouse"]["password"] == MASK

    def test_the_env_comes_from_pysetl_env(self, cli):
        result = cli("show", "-f", "json", env={"PYSETL_ENV": "dev"})
        assert json.loads(result.stdout)["app"]["spark"]["shuffle_partitions"] == 1

    def test_an_unknown_format_is_a_usage_error(self, cli):
        result = cli("show", "--format", "xml")
        assert result.exit_code == commands.EXIT_USAGE
        assert "'xml' is not one of yaml, json" in result.output


class TestValidateAndSchema:
    def test_a_valid_config_passes(self, cli):
        result = cli("validate", "--env", "prod")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("OK: prod (4 files), version ")

    def test_every_problem_is_reported_at_once_with_file_line_and_key(self, cli, conf):
        write(conf / "prod" / "catalog.yaml", PROD_CATALOG + "    port: 5432\n")
        write(conf / "prod" / "app.yaml", "connectors:\n  bad:\n    storage: ftp\n")
        result = cli("validate", "--env", "prod")
        assert result.exit_code == commands.EXIT_CONFIG
        assert "2 problem(s) in the config of 'prod':" in result.stderr
        assert (
            f"{conf}/prod/catalog.yaml:6 connectors.warehouse.port: "
            "Extra inputs are not permitted"
        ) in result.stderr
        assert (
            f"{conf}/prod/app.yaml:2 connectors.bad: storage must be" in result.stderr
        )

    def test_a_problem_under_a_secret_key_is_readable(self, cli, conf, key):
        """The redactor leaves the prose after ``api.token:`` alone."""
        token = ConfigCipher([key]).encrypt("tok-12345")
        write(conf / "prod" / "app.yaml", f"api:\n  token: '{token}'\n")
        result = cli("validate", "--env", "prod", env={"PYSETL_CONFIG_KEY": ""})
        assert result.exit_code == commands.EXIT_CONFIG
        assert "api.token: no decryption key is set" in result.stderr

    def test_a_value_the_key_cannot_decrypt_fails_validation(self, cli, conf, key):
        """The key-rotation guide's last step: validate with the new key alone."""
        old = ConfigCipher.generate_key()
        token = ConfigCipher([old]).encrypt("tok-12345")
        write(
            conf / "prod" / "app.yaml", f"app:\n  name: x\napi:\n  token: '{token}'\n"
        )
        result = cli("validate", "--env", "prod")
        assert result.exit_code == commands.EXIT_CONFIG, result.output
        assert "OK" not in result.stdout
        assert (
            f"{conf}/prod/app.yaml:4 api.token: cannot decrypt config entry "
            "'api.token': it was encrypted with a key that is not among the 1 "
            "configured"
        ) in result.stderr
        assert "keep the old ones after it" in result.stderr
        assert "tok-12345" not in result.output
        both = cli(
            "validate", "--env", "prod", env={"PYSETL_CONFIG_KEY": f"{key},{old}"}
        )
        assert both.exit_code == 0, both.output
        assert both.stdout.startswith("OK: prod")

    def test_misspelled_options_are_warned_with_the_closest_name(self, cli, conf):
        write(
            conf / "prod" / "app.yaml",
            "connectors:\n  lines:\n    storage: csv\n    path: /data/l.csv\n"
            "    headr: 'false'\n    delimter: ';'\n    escape: '\\\\'\n",
        )
        result = cli("validate", "--env", "prod")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("OK: prod")
        warnings = [
            line for line in result.stderr.splitlines() if line.startswith("warning:")
        ]
        why = "neither a pysetl setting nor a Spark csv option, so Spark ignores it"
        assert warnings == [
            (
                f"warning: {conf}/prod/app.yaml:5 [connectors.lines.headr] unknown "
                f"option 'headr' of a csv connector: {why}; did you mean 'header'?"
            ),
            (
                f"warning: {conf}/prod/app.yaml:6 [connectors.lines.delimter] unknown "
                f"option 'delimter' of a csv connector: {why}; did you mean "
                "'delimiter'?"
            ),
        ]
        strict = cli("validate", "--env", "prod", "--strict")
        assert strict.exit_code == commands.EXIT_CONFIG
        assert "--strict: 2 unknown option(s)" in strict.stdout

    def test_a_file_that_does_not_parse_is_reported(self, cli, conf):
        write(conf / "prod" / "app.yaml", "app: [unclosed\n")
        result = cli("validate", "--env", "prod")
        assert result.exit_code == commands.EXIT_CONFIG
        assert f"{conf}/prod/app.yaml" in result.stderr

    def test_hidden_files_are_ignored_as_the_loader_ignores_them(self, cli, conf):
        """A hidden file in a layer (an editor's swap file) is not a config file."""
        hidden = write(conf / "prod" / ".app.yaml.swp.yaml", "app: [unclosed\n")
        hidden.chmod(0o666)
        result = cli("validate", "--env", "prod", "--strict")
        assert result.exit_code == 0, result.output
        assert str(hidden) not in result.output
        assert result.stdout.startswith("OK: prod (4 files)")

    def test_permission_problems_are_printed_and_fail_only_when_strict(
        self, cli, conf, tmp_path
    ):
        (conf / "prod" / "app.yaml").chmod(0o666)
        key_file = tmp_path / "config.key"
        key_file.write_text(ConfigCipher.generate_key() + "\n")
        key_file.chmod(0o644)
        env = {"PYSETL_CONFIG_KEY_FILE": str(key_file)}
        result = cli("validate", "--env", "prod", env=env)
        assert result.exit_code == 0, result.output
        assert "writable by the group or by others" in result.stderr
        assert f"chmod 600 {key_file}" in result.stderr
        strict = cli("validate", "--env", "prod", "--strict", env=env)
        assert strict.exit_code == commands.EXIT_CONFIG
        assert "--strict: 4 file problem(s)" in strict.stdout

    def test_a_secret_file_others_can_read_is_reported(self, cli, conf, tmp_path):
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        pw = secrets / "api_token"
        pw.write_text("canary-tok-8811\n")
        pw.chmod(0o604)
        write(conf / "prod" / "app.yaml", "api:\n  token: ${secret:file:api_token}\n")
        env = {"PYSETL_SECRET_ROOTS": str(secrets)}
        result = cli("validate", "--env", "prod", env=env)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == [
            (
                f"warning: {pw} (mode 0604) is readable by others: chmod 600 {pw} "
                "(the secret file of config entry 'api.token')"
            )
        ]
        assert "canary-tok-8811" not in result.output
        strict = cli("validate", "--env", "prod", "--strict", env=env)
        assert strict.exit_code == commands.EXIT_CONFIG
        assert "--strict: 1 file problem(s)" in strict.stdout
        pw.chmod(0o400)
        assert cli("validate", "--env", "prod", "--strict", env=env).exit_code == 0

    def test_other_warnings_of_a_load_are_warned_again(
        self, cli, tmp_path, monkeypatch
    ):
        (tmp_path / "warning_schema.py").write_text(
            "import warnings\n"
            "from pydantic import BaseModel, ConfigDict, model_validator\n\n"
            "class Loud(BaseModel):\n"
            "    model_config = ConfigDict(extra='allow')\n\n"
            "    @model_validator(mode='after')\n"
            "    def shout(self):\n"
            "        warnings.warn('deprecated section', DeprecationWarning)\n"
            "        return self\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        with pytest.warns(DeprecationWarning, match="deprecated section"):
            result = cli("validate", "--schema", "warning_schema:Loud")
        assert result.exit_code == 0, result.output
        assert "warning:" not in result.stderr

    def test_a_config_directory_others_can_write_to_is_reported(self, cli, conf):
        (conf / "prod").chmod(0o777)
        try:
            result = cli("validate", "--env", "prod")
        finally:
            (conf / "prod").chmod(0o755)
        assert result.exit_code == 0, result.output
        assert f"{conf}/prod (mode 0777) is a directory writable" in result.stderr
        assert f"chmod go-w {conf}/prod" in result.stderr
        (conf / "base").chmod(0o1777)  # sticky: others cannot swap files
        try:
            assert "directory" not in cli("validate", "--env", "prod").stderr
        finally:
            (conf / "base").chmod(0o755)

    def test_a_custom_schema_is_imported_by_module_and_name(self, cli):
        result = cli("validate", "--schema", "pysetl.config.models:ProjectConfigModel")
        assert result.exit_code == 0, result.output
        bad = cli("validate", "--schema", "no-colon")
        assert bad.exit_code == commands.EXIT_USAGE
        missing = cli("validate", "--schema", "pysetl.nowhere:Model")
        assert missing.exit_code == commands.EXIT_CONFIG
        assert "Cannot import the schema" in missing.output

    def test_schema_writes_json_schema_to_stdout_or_a_file(self, cli, tmp_path):
        result = cli("schema")
        assert result.exit_code == 0
        schema = json.loads(result.stdout)
        assert "connectors" in schema["properties"]
        out = tmp_path / "schema.json"
        result = cli("schema", "-o", str(out))
        assert result.stdout == f"Wrote the JSON Schema to {out}\n"
        assert json.loads(out.read_text()) == schema


class TestVersions:
    def test_record_history_and_diff(self, cli, conf):
        assert cli("history").stdout == "No config versions.\n"
        first = cli("record", "--env", "prod")
        assert first.stdout.startswith("Recorded prod version ")
        v1 = first.stdout.split()[-1]
        write(conf / "prod" / "app.yaml", PROD_APP.replace("200", "400"))
        v2 = cli("record", "--env", "prod").stdout.split()[-1]
        cli("record", "--env", "dev")
        history = cli("history", "--env", "prod").stdout.splitlines()
        assert history[0].split() == [
            "VERSION",
            "ENV",
            "RECORDED",
            "(UTC)",
            "BY",
            "RESTORABLE",
        ]
        assert [line.split()[0] for line in history[1:]] == [v2, v1]
        assert all(line.endswith("yes") for line in history[1:])
        diff = cli("diff", v1[:6], v2[:6]).stdout.splitlines()
        assert diff[0].startswith(f"--- {v1} (prod, ")
        assert diff[1:] == [f"+++ {v2}", "~ app.spark.shuffle_partitions: 200 -> 400"]
        write(conf / "prod" / "app.yaml", PROD_APP.replace("200", "800"))
        current = cli("diff", v1, "--env", "prod").stdout.splitlines()
        assert current[1:] == [
            "+++ current files",
            "~ app.spark.shuffle_partitions: 200 -> 800",
        ]
        same = cli("diff", v1, v1).stdout.splitlines()
        assert same[-1] == "No differences."

    def test_history_pages_with_a_cursor(self, cli, conf):
        for n in range(3):
            write(conf / "dev" / "app.yaml", f"app:\n  n: {n}\n")
            cli("record", "--env", "dev")
        page = cli("history", "--limit", "2").stdout.splitlines()
        assert len(page) == 4
        assert page[-1].startswith("More: --cursor ")
        cursor = page[-1].split()[-1]
        rest = cli("history", "--limit", "2", "--cursor", cursor).stdout.splitlines()
        assert len(rest) == 2

    def test_record_audits_a_change_of_the_env(self, cli, conf):
        cli("record", "--env", "prod")
        write(conf / "prod" / "app.yaml", PROD_APP.replace("200", "400"))
        cli("record", "--env", "prod")
        audit = cli("audit", "--env", "prod").stdout.splitlines()
        assert " prod record by " in audit[0]
        assert audit[1] == "    ~ app.spark.shuffle_partitions: 200 -> 400"

    def test_an_unknown_version_is_a_history_error(self, cli):
        result = cli("diff", "abcdef")
        assert result.exit_code == commands.EXIT_HISTORY
        assert "No config version 'abcdef'" in result.output


class TestRollback:
    def record_two(self, cli, conf) -> tuple[str, str]:
        v1 = cli("record", "--env", "prod").stdout.split()[-1]
        write(conf / "prod" / "app.yaml", PROD_APP.replace("200", "400"))
        v2 = cli("record", "--env", "prod").stdout.split()[-1]
        return v1, v2

    def test_a_protected_env_asks_and_no_aborts(self, cli, conf):
        v1, _ = self.record_two(cli, conf)
        result = cli("rollback", v1[:8], "--env", "prod", input="n\n")
        assert result.exit_code == commands.EXIT_INTERRUPTED
        assert "'prod' is a protected environment. Roll it back to" in result.output
        assert "400" in (conf / "prod" / "app.yaml").read_text()
        assert cli("audit", "--env", "prod").stdout.count("rollback") == 0

    def test_yes_at_the_prompt_rolls_back_and_audits(self, cli, conf):
        v1, v2 = self.record_two(cli, conf)
        result = cli("rollback", v1[:8], "--env", "prod", input="y\n")
        assert result.exit_code == 0, result.output
        assert f"Rolled prod back to {v1} (now {v1})." in result.stdout
        assert f"  wrote   {conf}/prod/app.yaml" in result.stdout
        assert "  ~ app.spark.shuffle_partitions: 400 -> 200" in result.stdout
        assert (conf / "prod" / "app.yaml").read_text() == PROD_APP
        audit = cli("audit", "--env", "prod").stdout.splitlines()
        assert "prod rollback by " in audit[0]
        assert audit[0].endswith(f"{v2[:12]} -> {v1[:12]}")
        assert audit[1] == f"    rollback to {v1[:12]}"

    def test_yes_flag_and_unprotected_envs_do_not_ask(self, cli, conf):
        v1, _ = self.record_two(cli, conf)
        assert cli("rollback", v1, "--env", "prod", "--yes").exit_code == 0
        d1 = cli("record", "--env", "dev").stdout.split()[-1]
        write(conf / "dev" / "app.yaml", "app:\n  debug: true\n")
        result = cli("rollback", d1, "--env", "dev")
        assert result.exit_code == 0, result.output
        assert "is a protected environment" not in result.output

    def test_base_changes_give_a_warning(self, cli, conf):
        v1 = cli("record", "--env", "dev").stdout.split()[-1]
        write(conf / "base" / "app.yaml", BASE_APP.replace("orders", "billing"))
        result = cli("rollback", v1, "--env", "dev")
        assert result.exit_code == 0
        assert "--with-base restores base too" in result.stderr
        result = cli("rollback", v1, "--env", "dev", "--with-base", "--yes")
        assert "warning" not in result.output
        assert (conf / "base" / "app.yaml").read_text() == BASE_APP

    def test_with_base_changes_prod_too_so_it_asks(self, cli, conf):
        v1 = cli("record", "--env", "dev").stdout.split()[-1]
        changed = BASE_APP.replace("orders", "billing")
        write(conf / "base" / "app.yaml", changed)
        result = cli("rollback", v1, "--env", "dev", "--with-base", input="n\n")
        assert result.exit_code == commands.EXIT_INTERRUPTED
        assert "this changes the protected environment(s) 'prod'" in result.output
        assert (conf / "base" / "app.yaml").read_text() == changed
        result = cli("rollback", v1, "--env", "dev", "--with-base", input="y\n")
        assert result.exit_code == 0, result.output
        assert (conf / "base" / "app.yaml").read_text() == BASE_APP

    def test_a_version_with_literal_secrets_is_refused_with_the_reason(self, cli, conf):
        write(conf / "dev" / "app.yaml", "api:\n  token: literal-token-123\n")
        v1 = cli("record", "--env", "dev").stdout.split()[-1]
        assert "no (literal secrets)" in cli("history").stdout
        result = cli("rollback", v1, "--env", "dev")
        assert result.exit_code == commands.EXIT_CONFIG
        assert "held literal secrets" in result.output
        assert "hint: keep secrets out of the files" in result.output
        assert "literal-token-123" not in result.output

    def test_the_env_is_required(self, cli):
        result = cli("rollback", "abcd")
        assert result.exit_code == commands.EXIT_USAGE


class TestProtectedEnvs:
    def test_the_default_is_prod_and_production(self, monkeypatch, tmp_path):
        monkeypatch.delenv(PROTECTED_ENVS_VAR, raising=False)
        assert protected_envs(tmp_path) == {"prod", "production"}

    def test_the_variable_wins(self, monkeypatch, tmp_path):
        monkeypatch.setenv(PROTECTED_ENVS_VAR, "live, staging,")
        assert protected_envs(tmp_path) == {"live", "staging"}

    def test_pyproject_lists_them(self, monkeypatch, tmp_path):
        monkeypatch.delenv(PROTECTED_ENVS_VAR, raising=False)
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pysetl.config]\nprotected_envs = ["live"]\n'
        )
        assert protected_envs(tmp_path) == {"live"}
        (tmp_path / "pyproject.toml").write_text("not toml [")
        assert protected_envs(tmp_path) == {"prod", "production"}

    def test_a_protected_dev_asks_too(self, cli):
        d1 = cli("record", "--env", "dev").stdout.split()[-1]
        result = cli(
            "rollback", d1, "--env", "dev", input="n\n", env={PROTECTED_ENVS_VAR: "dev"}
        )
        assert result.exit_code == commands.EXIT_INTERRUPTED


class TestEncrypt:
    def test_a_value_is_printed_encrypted(self, cli, key):
        result = cli("encrypt", "s3cret-pw")
        assert result.exit_code == 0, result.output
        token = result.stdout.strip()
        assert ConfigCipher([key]).decrypt(token) == "s3cret-pw"

    def test_stdin_and_a_key_file(self, cli, tmp_path):
        other = ConfigCipher.generate_key()
        key_file = tmp_path / "k"
        key_file.write_text(other + "\n")
        key_file.chmod(0o644)
        result = cli("encrypt", "--stdin", "--key-file", str(key_file), input="pw-in\n")
        assert result.exit_code == 0, result.output
        assert ConfigCipher([other]).decrypt(result.stdout.strip()) == "pw-in"
        assert f"chmod 600 {key_file}" in result.stderr

    def test_nothing_to_encrypt_is_a_usage_error(self, cli):
        assert cli("encrypt").exit_code == commands.EXIT_USAGE

    def test_no_key_is_a_config_error(self, cli):
        result = cli("encrypt", "x", env={"PYSETL_CONFIG_KEY": ""})
        assert result.exit_code == commands.EXIT_CONFIG

    def test_in_place_encrypts_the_file_value_and_audits(self, cli, conf):
        dev = write(
            conf / "dev" / "app.yaml", "api:\n  # the token\n  token: tok-12345\n"
        )
        before = cli("record", "--env", "dev").stdout.split()[-1]
        result = cli("encrypt", "--in-place", str(dev), "api.token")
        assert result.exit_code == 0, result.output
        text = dev.read_text()
        assert "tok-12345" not in text
        assert "  # the token\n" in text
        assert oct(dev.stat().st_mode & 0o777) == "0o640"
        data = json.loads(cli("show", "--env", "dev", "-f", "json").stdout)
        assert data["api"]["token"] == MASK
        entry = store_of(cli).list_audit(env="dev").items[0]
        assert entry.action == "encrypt"
        assert entry.old_hash == entry.new_hash
        assert entry.old_hash.startswith(before)
        assert entry.note == f"encrypted api.token in {dev}"
        assert store_of(cli).get_version(before, env="dev").restorable
        again = cli("encrypt", "--in-place", str(dev), "api.token")
        assert again.exit_code == commands.EXIT_CONFIG
        assert "already a reference" in again.output

    def test_in_place_with_a_value_in_a_toml_file_of_a_protected_env(
        self, cli, conf, key
    ):
        toml = write(conf / "prod" / "db.toml", '[db]\nhost = "h"\npassword = "x"\n')
        result = cli(
            "encrypt", "new-pw-99", "--in-place", str(toml), "db.password", input="y\n"
        )
        assert result.exit_code == 0, result.output
        assert "'prod' is a protected environment" in result.output
        token = toml.read_text().split('password = "')[1].split('"')[0]
        assert ConfigCipher([key]).decrypt(token) == "new-pw-99"
        assert store_of(cli).list_audit(env="prod").items[0].action == "encrypt"

    def test_in_place_in_base_asks_for_the_protected_envs_it_changes(self, cli, conf):
        base = conf / "base" / "catalog.yaml"
        text = base.read_text()
        result = cli(
            "encrypt",
            "pw-77",
            "--in-place",
            str(base),
            "connectors.orders.path",
            input="n\n",
        )
        assert result.exit_code == commands.EXIT_INTERRUPTED
        assert "this changes the protected environment(s) 'prod'" in result.output
        assert base.read_text() == text
        result = cli(
            "encrypt",
            "pw-77",
            "--in-place",
            str(base),
            "connectors.orders.path",
            "--yes",
        )
        assert result.exit_code == 0, result.output
        assert base.read_text() != text

    def test_in_place_of_a_missing_key_or_mapping_fails_unchanged(self, cli, conf):
        dev = conf / "dev" / "app.yaml"
        text = dev.read_text()
        missing = cli("encrypt", "v", "--in-place", str(dev), "app.nope")
        assert missing.exit_code == commands.EXIT_CONFIG
        assert "holds the key 'app.nope'" in missing.output
        mapping = cli("encrypt", "--in-place", str(dev), "app.spark")
        assert mapping.exit_code == commands.EXIT_CONFIG
        assert dev.read_text() == text


class TestAudit:
    def test_no_entries(self, cli):
        assert cli("audit").stdout == "No config changes audited.\n"

    def test_entries_page(self, cli):
        store = store_of(cli)
        for n in range(3):
            store.record_audit("qa", f"act{n}")
        page = cli("audit", "--limit", "2").stdout.splitlines()
        assert [line.split()[4] for line in page[:2]] == ["act2", "act1"]
        assert len(page) == 3
        assert page[-1].startswith("More: --cursor ")


class TestInPlaceEdges:
    def test_rollback_lists_removed_files(self, cli, conf):
        v1 = cli("record", "--env", "dev").stdout.split()[-1]
        write(conf / "dev" / "extra.yaml", "feature: on\n")
        result = cli("rollback", v1, "--env", "dev")
        assert f"  removed {conf}/dev/extra.yaml" in result.stdout

    def test_a_file_outside_the_root_is_audited_under_base(self, cli, tmp_path):
        other = write(tmp_path / "elsewhere" / "x.yaml", "db:\n  pw: abc12345\n")
        result = cli("encrypt", "--in-place", str(other), "db.pw")
        assert result.exit_code == 0, result.output
        (entry,) = store_of(cli).list_audit().items
        assert (entry.env, entry.action) == ("base", "encrypt")

    def test_a_broken_config_is_encrypted_in_place_without_hashes(self, cli, conf):
        write(conf / "dev" / "broken.yaml", "app: [unclosed\n")
        dev = write(conf / "dev" / "app.yaml", "api:\n  token: tok-99999\n")
        result = cli("encrypt", "--in-place", str(dev), "api.token")
        assert result.exit_code == 0, result.output
        (entry,) = store_of(cli).list_audit(env="dev").items
        assert (entry.old_hash, entry.new_hash) == (None, None)

    def test_a_mapping_value_is_not_encrypted(self, cli, conf):
        result = cli("encrypt", "--in-place", str(conf / "dev" / "app.yaml"), "app")
        assert result.exit_code == commands.EXIT_CONFIG
        assert "is not a plain value" in result.output


def test_diff_finds_versions_of_any_env_whatever_pysetl_env(cli):
    v_dev = cli("record", "--env", "dev").stdout.split()[-1]
    v_prod = cli("record", "--env", "prod").stdout.split()[-1]
    result = cli("diff", v_dev, v_prod, env={"PYSETL_ENV": "prod"})
    assert result.exit_code == 0, result.output
    assert "~ app.spark.shuffle_partitions: 1 -> 200" in result.stdout
