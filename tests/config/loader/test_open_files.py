"""Loading a config reports secret files and config directories open to other users."""

from __future__ import annotations

import warnings

import pytest

from pysetl.config.permissions import InsecureFileWarning
from pysetl.config.secrets import FileSecretBackend, SecretResolver


@pytest.fixture
def secrets(tmp_path):
    root = tmp_path / "secrets"
    root.mkdir()
    return root


def _load_quietly(conf, env=None, **kwargs):
    """Load, and return the config with the messages of its insecure-file warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = conf.load(env, **kwargs)
    assert all(issubclass(w.category, InsecureFileWarning) for w in caught)
    return cfg, [str(w.message) for w in caught]


class TestSecretFiles:
    def test_a_secret_file_others_can_read_is_reported_when_loading(
        self, conf, secrets
    ):
        pw = secrets / "db_password"
        pw.write_text("canary-pw-4411\n")
        pw.chmod(0o644)
        conf.write("base/app.yaml", "db:\n  password: ${secret:file:db_password}\n")
        environ = {"PYSETL_SECRET_ROOTS": str(secrets)}
        cfg, messages = _load_quietly(conf, environ=environ)
        entry = "(the secret file of config entry 'db.password')"
        assert messages == [
            f"{pw} (mode 0644) is readable by others: chmod 600 {pw} {entry}",
            f"{pw} (mode 0644) is readable by the group: chmod 600 {pw} {entry}",
        ]
        assert not cfg.get("db.password").is_resolved  # reported, not read
        assert cfg.get("db.password").get_secret_value() == "canary-pw-4411"
        pw.chmod(0o600)
        assert _load_quietly(conf, environ=environ)[1] == []

    def test_a_kubernetes_volume_key_and_a_template_are_checked(self, conf, secrets):
        volume = secrets / "db"
        volume.mkdir()
        (volume / "password").write_text("canary-pw-5522")
        (volume / "password").chmod(0o660)
        conf.write(
            "base/app.yaml",
            "db:\n  url: postgresql://etl:${secret:file:db#password}@db/shop\n",
        )
        _, messages = _load_quietly(conf, environ={"PYSETL_SECRET_ROOTS": str(secrets)})
        pw, entry = volume / "password", "(the secret file of config entry 'db.url')"
        assert messages == [
            (
                f"{pw} (mode 0660) is writable by the group or by others: "
                f"chmod 600 {pw} {entry}"
            ),
            f"{pw} (mode 0660) is readable by the group: chmod 600 {pw} {entry}",
        ]

    def test_missing_files_and_other_backends_report_nothing(
        self, conf, secrets, tmp_path
    ):
        outside = tmp_path / "outside"
        outside.write_text("canary-pw-6633")
        outside.chmod(0o644)
        conf.write(
            "base/app.yaml",
            f"a: ${{secret:file:nope}}\nb: ${{secret:file:{outside}}}\n"
            "c: ${secret:env:PW}\n",
        )
        resolver = SecretResolver(load_entry_points=False)
        resolver.register(FileSecretBackend([secrets]), replace=True)
        _, messages = _load_quietly(conf, environ={"PW": "x"}, secrets=resolver)
        assert messages == []


class TestConfigDirectories:
    def test_a_directory_others_can_write_to_is_reported_when_loading(self, conf):
        conf.write("base/app.yaml", "a: 1\n")
        conf.write("prod/app.yaml", "a: 2\n")
        (conf.root / "prod").chmod(0o777)
        try:
            cfg, messages = _load_quietly(conf, "prod")
        finally:
            (conf.root / "prod").chmod(0o755)
        assert cfg["a"] == 2  # loaded all the same
        assert messages == [
            (
                f"{conf.root / 'prod'} (mode 0777) is a directory writable by the "
                f"group or by others: chmod go-w {conf.root / 'prod'}"
            )
        ]
        assert _load_quietly(conf, "prod")[1] == []
