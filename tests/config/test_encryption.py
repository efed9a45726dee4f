"""``pysetl.config.encryption``: key files, encrypting in place, key rotation.

The commands that call these (``pysetl config encrypt|keygen|rotate-key``)
are tested end to end in ``tests/cli``; these pin the library's own rules.
"""

from __future__ import annotations

import stat

import pytest

from pysetl.config.crypto import ConfigCipher
from pysetl.config.encryption import add_key, encrypt_in_place, rotate_keys
from pysetl.config.loader import load_config
from pysetl.config.versions import ConfigStore
from pysetl.errors import ConfigError
from pysetl.monitoring.history import InMemoryRunHistory


def refuse(env: str, action: str, root: object) -> None:
    msg = f"asked about {env}: {action}"
    raise AssertionError(msg)


class TestAddKey:
    def test_a_new_file_is_private_and_counts_no_old_key(self, tmp_path):
        key_file = tmp_path / "keys" / ".pysetl.key"
        assert add_key(key_file, "k1") == 0
        assert key_file.read_text() == "k1\n"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    def test_the_new_key_goes_first_and_old_ones_stay(self, tmp_path):
        key_file = tmp_path / ".pysetl.key"
        key_file.write_text("# keys\nold1\n\nold2\n")
        assert add_key(key_file, "new") == 2
        assert key_file.read_text() == "new\n# keys\nold1\n\nold2\n"


class TestEncryptInPlace:
    def test_the_file_value_is_encrypted_and_audited(self, tmp_path):
        root = tmp_path / "conf"
        (root / "dev").mkdir(parents=True)
        (root / "base").mkdir()
        file = root / "dev" / "app.yaml"
        file.write_text("api:\n  token: tok-12345\n")
        cipher = ConfigCipher([ConfigCipher.generate_key()])
        store = ConfigStore(InMemoryRunHistory())
        asked: list[tuple[str, str, object]] = []
        loaded: list[str | None] = []
        entry = encrypt_in_place(
            file,
            "api.token",
            None,
            root=root,
            env=None,
            cipher=lambda: cipher,
            store=lambda: store,
            confirm=lambda *args: asked.append(args),
            load=lambda r, e: loaded.append(e) or load_config(r, e, cipher=cipher),
        )
        assert loaded == ["dev", "dev"]  # the file's layer, before and after
        assert asked == [("dev", f"Rewrite api.token in {file}", None)]
        assert (entry.env, entry.action) == ("dev", "encrypt")
        assert "tok-12345" not in file.read_text()
        assert len(store.list_versions(env="dev").items) == 1

    def test_a_reference_is_not_encrypted_again(self, tmp_path):
        file = tmp_path / "a.yaml"
        file.write_text("db:\n  password: ${secret:env:PW}\n")
        with pytest.raises(ConfigError, match="already a reference"):
            encrypt_in_place(
                file,
                "db.password",
                None,
                root=tmp_path,
                env=None,
                cipher=lambda: pytest.fail("no cipher needed"),
                store=lambda: pytest.fail("no store needed"),
                confirm=refuse,
            )


class TestRotateKeys:
    def test_a_missing_layer_is_a_config_error(self, tmp_path):
        cipher = ConfigCipher([ConfigCipher.generate_key()])
        with pytest.raises(ConfigError, match="No config folder"):
            rotate_keys(
                tmp_path,
                env="qa",
                cipher=cipher,
                store=lambda: pytest.fail("no store needed"),
                confirm=refuse,
            )

    def test_only_rotated_layers_are_audited(self, tmp_path):
        old = ConfigCipher.generate_key()
        new = ConfigCipher.generate_key()
        (tmp_path / "base").mkdir()
        (tmp_path / "dev").mkdir()
        (tmp_path / "base" / "a.yaml").write_text("x: 1\n")
        token = ConfigCipher([old]).encrypt("v")
        (tmp_path / "dev" / "a.yaml").write_text(f"pw: {token}\n")
        store = ConfigStore(InMemoryRunHistory())
        seen: list[tuple[object, int]] = []
        result = rotate_keys(
            tmp_path,
            env=None,
            cipher=ConfigCipher([new, old]),
            store=lambda: store,
            confirm=lambda *_: None,
            on_file=lambda path, count: seen.append((path, count)),
        )
        assert result.rotated == {"dev": 1}
        assert result.total == 1
        assert len(result.files) == 2
        assert seen == [(tmp_path / "dev" / "a.yaml", 1)]
        (entry,) = store.list_audit().items
        assert (entry.env, entry.action) == ("dev", "rotate-key")
