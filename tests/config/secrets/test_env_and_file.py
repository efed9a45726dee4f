"""The environment and file backends (Docker and Kubernetes secret mounts)."""

from __future__ import annotations

import json
import os

import pytest

from pysetl.config.secrets import (
    DEFAULT_SECRET_ROOTS,
    EnvSecretBackend,
    FileSecretBackend,
)
from pysetl.errors import SecretAccessError, SecretBackendError, SecretNotFoundError


class TestEnvSecretBackend:
    def test_reads_a_variable(self, secret_value):
        assert (
            EnvSecretBackend({"PG_PW": secret_value}).fetch("PG_PW", None)
            == secret_value
        )

    def test_reads_the_process_environment_by_default(self, monkeypatch, secret_value):
        backend = EnvSecretBackend()
        monkeypatch.setenv("PYSETL_TEST_SECRET", secret_value)
        assert backend.fetch("PYSETL_TEST_SECRET", None) == secret_value

    def test_a_key_picks_a_json_field(self, secret_value):
        environ = {"DB": json.dumps({"user": "etl", "password": secret_value})}
        assert EnvSecretBackend(environ).fetch("DB", "password") == secret_value

    def test_a_missing_variable_is_not_found_with_a_hint(self):
        with pytest.raises(SecretNotFoundError, match="'NOPE' is not set") as caught:
            EnvSecretBackend({}).fetch("NOPE", None)
        assert caught.value.reference == "env:NOPE"
        assert "export NOPE=" in (caught.value.hint or "")

    def test_a_missing_key_lists_the_keys_never_the_values(self, secret_value):
        environ = {"DB": json.dumps({"user": "etl", "password": secret_value})}
        with pytest.raises(SecretNotFoundError, match="no key 'pwd'") as caught:
            EnvSecretBackend(environ).fetch("DB", "pwd")
        assert "password, user" in (caught.value.hint or "")
        assert secret_value not in str(caught.value)

    def test_a_key_in_unstructured_text_is_not_found(self, secret_value):
        with pytest.raises(SecretNotFoundError, match="not a JSON object"):
            EnvSecretBackend({"PW": secret_value}).fetch("PW", "password")

    def test_repr_shows_no_values(self, secret_value):
        assert secret_value not in repr(EnvSecretBackend({"X": secret_value}))


@pytest.fixture
def docker_root(tmp_path):
    root = tmp_path / "run" / "secrets"
    root.mkdir(parents=True)
    return root


@pytest.fixture
def kubernetes_volume(tmp_path, secret_value):
    """A secret volume as the kubelet writes it: keys are symlinks into ..data."""
    mount = tmp_path / "etc" / "secrets" / "db"
    stamp = mount / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir(parents=True)
    (stamp / "password").write_text(secret_value)
    (stamp / "username").write_text("etl")
    (mount / "..data").symlink_to(stamp.name)
    for key in ("password", "username"):
        (mount / key).symlink_to(f"..data/{key}")
    return mount


class TestFileSecretBackend:
    def test_default_roots_are_docker_and_kubernetes(self):
        assert FileSecretBackend().roots[0].as_posix() == "/run/secrets"
        assert DEFAULT_SECRET_ROOTS == ("/run/secrets", "/var/run/secrets")

    def test_reads_a_docker_secret_by_name(self, docker_root, secret_value):
        (docker_root / "db_password").write_text(secret_value + "\n")
        backend = FileSecretBackend([docker_root])
        assert backend.fetch("db_password", None) == secret_value

    def test_reads_an_absolute_path_inside_a_root(self, docker_root, secret_value):
        (docker_root / "db_password").write_text(secret_value + "\r\n")
        backend = FileSecretBackend([docker_root])
        assert backend.fetch(str(docker_root / "db_password"), None) == secret_value

    def test_looks_under_each_root_in_turn(self, tmp_path, docker_root, secret_value):
        other = tmp_path / "other"
        other.mkdir()
        (other / "token").write_text(secret_value)
        backend = FileSecretBackend([docker_root, other])
        assert backend.fetch("token", None) == secret_value

    def test_reads_a_kubernetes_volume_key(self, kubernetes_volume, secret_value):
        backend = FileSecretBackend([kubernetes_volume.parent])
        assert backend.fetch(str(kubernetes_volume), "password") == secret_value
        assert backend.fetch("db", "username") == "etl"
        assert backend.fetch("db/password", None) == secret_value

    def test_a_key_picks_a_json_field(self, docker_root, secret_value):
        (docker_root / "app.json").write_text(
            json.dumps({"db": {"password": secret_value}, "api.token": "tok"})
        )
        backend = FileSecretBackend([docker_root])
        assert backend.fetch("app.json", "db.password") == secret_value
        assert backend.fetch("app.json", "api.token") == "tok"
        assert json.loads(backend.fetch("app.json", "db")) == {"password": secret_value}

    def test_a_key_picks_a_key_value_line(self, docker_root, secret_value):
        (docker_root / "db.env").write_text(
            f"# database\nexport DB_USER=etl\n\nDB_PASSWORD='{secret_value}'\n"
            'DB_NAME="shop"\n'
        )
        backend = FileSecretBackend([docker_root])
        assert backend.fetch("db.env", "DB_PASSWORD") == secret_value
        assert backend.fetch("db.env", "DB_USER") == "etl"
        assert backend.fetch("db.env", "DB_NAME") == "shop"

    def test_json_that_is_not_an_object_has_no_keys(self, docker_root):
        (docker_root / "list.json").write_text("[1, 2]")
        (docker_root / "broken.json").write_text("{not json")
        backend = FileSecretBackend([docker_root])
        for name in ("list.json", "broken.json"):
            with pytest.raises(SecretNotFoundError, match="not a JSON object"):
                backend.fetch(name, "k")

    @pytest.mark.parametrize(
        "path", ["../../etc/passwd", "/etc/passwd", "sub/../../outside"]
    )
    def test_refuses_paths_outside_the_roots(self, tmp_path, docker_root, path):
        (tmp_path / "run" / "outside").write_text("not a secret")
        backend = FileSecretBackend([docker_root])
        with pytest.raises(
            SecretAccessError, match="outside the secret directories"
        ) as caught:
            backend.fetch(path, None)
        assert "PYSETL_SECRET_ROOTS" in (caught.value.hint or "")

    def test_refuses_a_key_that_climbs_out_of_a_volume(self, kubernetes_volume):
        backend = FileSecretBackend([kubernetes_volume])
        with pytest.raises(SecretAccessError):
            backend.fetch(str(kubernetes_volume), "../../../../etc/passwd")

    def test_refuses_a_symlink_pointing_outside(self, tmp_path, docker_root):
        outside = tmp_path / "private.txt"
        outside.write_text("not yours")
        (docker_root / "link").symlink_to(outside)
        with pytest.raises(SecretAccessError):
            FileSecretBackend([docker_root]).fetch("link", None)

    def test_a_missing_file_is_not_found(self, docker_root):
        with pytest.raises(SecretNotFoundError, match="does not exist") as caught:
            FileSecretBackend([docker_root]).fetch("nope", None)
        assert str(docker_root) in str(caught.value)
        assert "mount the secret" in (caught.value.hint or "")

    def test_a_missing_key_file_in_a_volume_is_not_found(self, kubernetes_volume):
        with pytest.raises(SecretNotFoundError, match="has no file 'nope'"):
            FileSecretBackend([kubernetes_volume]).fetch(str(kubernetes_volume), "nope")

    def test_an_unreadable_file_is_a_backend_error(self, docker_root):
        (docker_root / "db" / "password").mkdir(parents=True)  # not a file
        with pytest.raises(SecretBackendError, match="cannot read") as caught:
            FileSecretBackend([docker_root]).fetch("db", "password")
        assert "may read the file" in (caught.value.hint or "")

    def test_undecodable_content_is_a_backend_error(self, docker_root):
        (docker_root / "binary").write_bytes(b"\xff\xfe\x00")
        with pytest.raises(SecretBackendError, match="UnicodeDecodeError"):
            FileSecretBackend([docker_root]).fetch("binary", None)

    def test_roots_from_the_environment(self, tmp_path, docker_root):
        value = os.pathsep.join([str(docker_root), str(tmp_path)])
        backend = FileSecretBackend.from_env({"PYSETL_SECRET_ROOTS": value})
        assert backend.roots == (docker_root, tmp_path)
        assert FileSecretBackend.from_env({}).roots == FileSecretBackend().roots
