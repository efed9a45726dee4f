"""``pysetl config keygen`` and ``rotate-key``: rotation on real files and history."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import app
from pysetl.cli.config_cmd import PROTECTED_ENVS_VAR
from pysetl.config import load_config
from pysetl.config.crypto import ConfigCipher
from pysetl.errors import ConfigCryptoError
from pysetl.monitoring.history import ConfigStore, SqliteRunHistory


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A conf/ with encrypted values under an old key, and a runner."""
    for name in ("PYSETL_CONFIG_KEY", "PYSETL_CONFIG_KEY_FILE", PROTECTED_ENVS_VAR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    old = ConfigCipher.generate_key()
    cipher = ConfigCipher([old])
    root = tmp_path / "conf"
    (root / "base").mkdir(parents=True)
    (root / "prod").mkdir()
    (root / "dev").mkdir()
    (root / "base" / "db.yaml").write_text(
        "# the shop database\n"
        f"db:\n  user: etl\n  password: {cipher.encrypt('base-pw-123')}\n",
        encoding="utf-8",
    )
    (root / "prod" / "db.toml").write_text(
        f'[db]\npassword = "{cipher.encrypt("prod-pw-456")}"\n', encoding="utf-8"
    )
    (root / "dev" / "db.yaml").write_text("db:\n  user: me\n", encoding="utf-8")
    key_file = tmp_path / "keys" / "pysetl.key"
    key_file.parent.mkdir()
    key_file.write_text(f"{old}\n", encoding="utf-8")
    key_file.chmod(0o600)
    db = tmp_path / "history.db"
    runner = CliRunner()

    def run(*args: str, input: str | None = None):  # noqa: A002
        return runner.invoke(app, ["--history", str(db), "config", *args], input=input)

    return root, key_file, old, db, run


def _password(root: Path, env: str, key: str) -> str:
    config = load_config(root, env, environ={"PYSETL_CONFIG_KEY": key})
    return config.get("db.password").get_secret_value()


class TestKeygen:
    def test_prints_a_usable_key(self, project):
        *_, run = project
        result = run("keygen")
        assert result.exit_code == 0, result.output
        key = result.stdout.strip()
        cipher = ConfigCipher([key])
        assert cipher.decrypt(cipher.encrypt("x")) == "x"

    def test_puts_the_new_key_first_and_keeps_the_old_ones(self, project):
        _, key_file, old, _, run = project
        result = run("keygen", "--key-file", str(key_file))
        assert result.exit_code == 0, result.output
        assert "1 older key(s) kept" in result.stdout
        assert "rotate-key" in result.stdout
        new, kept = key_file.read_text(encoding="utf-8").split()
        assert kept == old
        assert new != old
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    def test_creates_a_private_key_file(self, project, tmp_path):
        *_, run = project
        fresh = tmp_path / "new" / "k"
        result = run("keygen", "--key-file", str(fresh))
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
        assert len(fresh.read_text(encoding="utf-8").split()) == 1


class TestRotateKey:
    def test_every_value_moves_to_the_new_key_and_is_audited(self, project):
        root, key_file, old, db, run = project
        assert run("keygen", "--key-file", str(key_file)).exit_code == 0
        new = key_file.read_text(encoding="utf-8").split()[0]
        before = (root / "base" / "db.yaml").read_text(encoding="utf-8")
        result = run(
            "rotate-key", "--root", str(root), "--key-file", str(key_file), "--yes"
        )
        assert result.exit_code == 0, result.output
        assert "Re-encrypted 2 value(s) in 3 file(s)." in result.stdout
        after = (root / "base" / "db.yaml").read_text(encoding="utf-8")
        assert after != before
        assert after.startswith("# the shop database\n")  # layout kept
        # The new key alone reads everything; the old one alone no longer does.
        assert _password(root, "prod", new) == "prod-pw-456"
        assert _password(root, "dev", new) == "base-pw-123"
        with pytest.raises(ConfigCryptoError):
            ConfigCipher([old]).decrypt(
                after.split("password: ")[1].strip(), entry="db.password"
            )
        audit = ConfigStore(SqliteRunHistory(db)).list_audit().items
        assert sorted((a.env, a.action) for a in audit) == [
            ("base", "rotate-key"),
            ("prod", "rotate-key"),
        ]
        assert "prod-pw" not in result.output
        assert "base-pw" not in result.output

    def test_a_protected_environment_asks_first(self, project):
        root, key_file, _, _, run = project
        before = (root / "prod" / "db.toml").read_text(encoding="utf-8")
        result = run(
            "rotate-key", "--root", str(root), "--key-file", str(key_file),
            "--env", "prod", input="n\n",
        )  # fmt: skip
        assert result.exit_code == commands.EXIT_INTERRUPTED
        assert (root / "prod" / "db.toml").read_text(encoding="utf-8") == before

    def test_one_environment_leaves_the_others(self, project):
        root, key_file, _, _, run = project
        result = run(
            "rotate-key", "--root", str(root), "--key-file", str(key_file),
            "--env", "dev",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "Re-encrypted 1 value(s) in 2 file(s)." in result.stdout

    def test_an_unknown_environment_is_a_config_error(self, project):
        root, key_file, _, _, run = project
        result = run(
            "rotate-key", "--root", str(root), "--key-file", str(key_file),
            "--env", "qa",
        )  # fmt: skip
        assert result.exit_code == commands.EXIT_CONFIG
        assert "No config folder" in result.output

    def test_a_value_no_key_opens_stops_it_before_any_write(self, project):
        root, key_file, _, _, run = project
        stranger = ConfigCipher([ConfigCipher.generate_key()])
        (root / "prod" / "extra.yaml").write_text(
            f"api:\n  token: {stranger.encrypt('t-0123456789')}\n", encoding="utf-8"
        )
        files = sorted(root.rglob("*.*"))
        before = [f.read_text(encoding="utf-8") for f in files]
        result = run(
            "rotate-key", "--root", str(root), "--key-file", str(key_file), "--yes"
        )
        assert result.exit_code == commands.EXIT_CONFIG
        assert "extra.yaml" in result.output
        # base/db.yaml comes first and could be rotated: it is left as it was.
        assert [f.read_text(encoding="utf-8") for f in files] == before
