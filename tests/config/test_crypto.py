"""``ConfigCipher``: ``enc:`` values, key rotation, keys from env or a key file."""

from __future__ import annotations

import sys
import uuid

import pytest

from pysetl.config.crypto import ENC_PREFIX, KEY_ENV, KEY_FILE_ENV, ConfigCipher
from pysetl.config.permissions import InsecureFileWarning
from pysetl.config.secrets import LazySecret
from pysetl.errors import ConfigCryptoError, ConfigError
from pysetl.utils import redaction
from pysetl.utils.redaction import MASK, redact_text


@pytest.fixture
def plain():
    return f"pl41n-{uuid.uuid4().hex}"


@pytest.fixture
def key():
    return ConfigCipher.generate_key()


@pytest.fixture
def cipher(key):
    return ConfigCipher([key])


class TestRoundTrip:
    def test_encrypt_then_decrypt(self, cipher, plain):
        token = cipher.encrypt(plain)
        assert token.startswith(ENC_PREFIX)
        assert plain not in token
        assert cipher.decrypt(token) == plain

    def test_unicode_survives(self, cipher):
        assert (
            cipher.decrypt(cipher.encrypt("mot de passe: été ☃"))
            == "mot de passe: été ☃"
        )

    def test_each_encryption_differs(self, cipher, plain):
        assert cipher.encrypt(plain) != cipher.encrypt(plain)

    def test_is_encrypted(self, cipher, plain):
        assert ConfigCipher.is_encrypted(cipher.encrypt(plain))
        assert not ConfigCipher.is_encrypted(plain)
        assert not ConfigCipher.is_encrypted(42)

    def test_encrypting_twice_is_refused(self, cipher, plain):
        with pytest.raises(ConfigCryptoError, match="encrypted already") as caught:
            cipher.encrypt(cipher.encrypt(plain))
        assert "rotate" in (caught.value.hint or "")

    def test_keys_may_be_bytes(self, key, plain):
        cipher = ConfigCipher([key.encode()])
        assert cipher.decrypt(cipher.encrypt(plain)) == plain

    def test_plain_texts_are_registered_with_the_redactor(self, cipher, plain):
        token = cipher.encrypt(plain)
        redaction.reset_default_redactor()
        assert redact_text(plain) == plain
        cipher.decrypt(token)
        assert redact_text(f"x {plain}") == f"x {MASK}"

    def test_repr_shows_no_key(self, cipher, key):
        assert repr(cipher) == "ConfigCipher(keys=1)"
        assert key not in repr(cipher)


class TestRotation:
    def test_old_values_decrypt_with_new_and_old_keys(self, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        old_token = ConfigCipher([old_key]).encrypt(plain)
        both = ConfigCipher([new_key, old_key])
        assert both.decrypt(old_token) == plain

    def test_rotate_re_encrypts_under_the_primary_key(self, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        old_token = ConfigCipher([old_key]).encrypt(plain)
        rotated = ConfigCipher([new_key, old_key]).rotate(
            old_token, entry="db.password"
        )
        assert rotated.startswith(ENC_PREFIX)
        assert rotated != old_token
        assert ConfigCipher([new_key]).decrypt(rotated) == plain
        with pytest.raises(ConfigCryptoError):
            ConfigCipher([old_key]).decrypt(rotated)

    def test_new_values_are_encrypted_with_the_first_key(self, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        token = ConfigCipher([new_key, old_key]).encrypt(plain)
        assert ConfigCipher([new_key]).decrypt(token) == plain

    def test_rotating_with_the_wrong_keys_fails(self, cipher, plain):
        token = ConfigCipher([ConfigCipher.generate_key()]).encrypt(plain)
        with pytest.raises(ConfigCryptoError, match=r"'db\.password'"):
            cipher.rotate(token, entry="db.password")


class TestErrors:
    def test_wrong_key_names_the_entry_and_hints_at_rotation(self, cipher, plain):
        token = ConfigCipher([ConfigCipher.generate_key()]).encrypt(plain)
        with pytest.raises(ConfigCryptoError, match=r"'warehouse\.password'") as caught:
            cipher.decrypt(token, entry="warehouse.password")
        error = caught.value
        assert isinstance(error, ConfigError)
        assert error.config == "warehouse.password"
        assert KEY_ENV in (error.hint or "")
        assert "new,old" in (error.hint or "")
        text = f"{error} {error.context}"
        assert plain not in text
        assert token[len(ENC_PREFIX) :] not in text
        assert error.__cause__ is None
        assert error.__suppress_context__

    def test_a_damaged_token_is_a_crypto_error(self, cipher, plain):
        token = cipher.encrypt(plain)
        for damaged in (token[:-4] + "AAAA", "enc:not-a-token", "enc:ünïcode"):
            with pytest.raises(ConfigCryptoError, match="cannot decrypt an encrypted"):
                cipher.decrypt(damaged)

    def test_a_value_without_prefix_is_refused(self, cipher, plain):
        with pytest.raises(
            ConfigCryptoError, match=r"config entry 'a\.b' is not an encrypted"
        ):
            cipher.decrypt(plain, entry="a.b")
        with pytest.raises(
            ConfigCryptoError, match="a config value is not an encrypted"
        ):
            cipher.rotate(plain)

    @pytest.mark.parametrize("keys", [[], (), "a-single-string"])
    def test_no_keys_is_an_error(self, keys):
        with pytest.raises(ConfigCryptoError, match="non-empty list of keys") as caught:
            ConfigCipher(keys)
        assert KEY_ENV in (caught.value.hint or "")

    def test_an_invalid_key_is_named_by_position_only(self, key):
        bad = "this-is-not-a-fernet-key"
        with pytest.raises(ConfigCryptoError, match="config key #2 of 2") as caught:
            ConfigCipher([key, bad])
        assert bad not in str(caught.value)

    def test_missing_cryptography_names_the_extra(self, monkeypatch, key):
        monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
        with pytest.raises(ImportError, match=r"pip install 'pysetl\[config\]'"):
            ConfigCipher([key])


class TestLazy:
    def test_decrypts_on_first_use_only(self, cipher, plain):
        token = cipher.encrypt(plain)
        secret = cipher.lazy(token, entry="db.password")
        assert isinstance(secret, LazySecret)
        assert not secret.is_resolved
        assert str(secret) == MASK
        assert secret.reference == f"enc:{MASK}"
        assert token not in repr(secret)
        assert secret.get_secret_value() == plain
        assert secret.is_resolved

    def test_a_wrong_key_fails_on_use_naming_the_entry(self, cipher, plain):
        token = ConfigCipher([ConfigCipher.generate_key()]).encrypt(plain)
        secret = cipher.lazy(token, entry="api.token")
        with pytest.raises(ConfigCryptoError, match=r"'api\.token'"):
            secret.get_secret_value()

    def test_a_plain_value_is_refused_at_once(self, cipher, plain):
        with pytest.raises(ConfigCryptoError, match=r"'db\.password'"):
            cipher.lazy(plain, entry="db.password")


class TestKeysFromTheEnvironment:
    def test_comma_separated_keys_newest_first(self, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        old_token = ConfigCipher([old_key]).encrypt(plain)
        cipher = ConfigCipher.from_env({KEY_ENV: f" {new_key} , {old_key} ,"})
        assert cipher.key_count == 2
        assert cipher.decrypt(old_token) == plain
        assert ConfigCipher([new_key]).decrypt(cipher.encrypt(plain)) == plain
        assert cipher.problems == []

    def test_reads_the_process_environment_by_default(self, monkeypatch, key, plain):
        monkeypatch.setenv(KEY_ENV, key)
        monkeypatch.delenv(KEY_FILE_ENV, raising=False)
        token = ConfigCipher.from_env().encrypt(plain)
        assert ConfigCipher([key]).decrypt(token) == plain

    def test_no_key_anywhere_is_an_error_with_a_hint(self):
        with pytest.raises(
            ConfigCryptoError, match="no decryption key is set"
        ) as caught:
            ConfigCipher.from_env({})
        assert "generate_key" in (caught.value.hint or "")

    def test_a_private_key_file(self, tmp_path, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        path = tmp_path / "config.key"
        path.write_text(f"# newest first\n{new_key}\n\n{old_key}\n")
        path.chmod(0o600)
        cipher = ConfigCipher.from_env({KEY_FILE_ENV: str(path)})
        assert cipher.key_count == 2
        assert cipher.problems == []
        assert cipher.decrypt(ConfigCipher([old_key]).encrypt(plain)) == plain

    def test_the_key_variable_wins_over_the_file(self, tmp_path, key):
        path = tmp_path / "missing.key"
        cipher = ConfigCipher.from_env({KEY_ENV: key, KEY_FILE_ENV: str(path)})
        assert cipher.key_count == 1

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
    def test_a_key_file_readable_by_others_is_reported(self, tmp_path, key, mode):
        path = tmp_path / "config.key"
        path.write_text(key + "\n")
        path.chmod(mode)
        with pytest.warns(InsecureFileWarning, match="chmod 600"):
            cipher = ConfigCipher.from_key_file(path)
        assert cipher.problems
        assert all(problem.path == path for problem in cipher.problems)
        assert key not in " ".join(map(str, cipher.problems))

    def test_a_missing_key_file_is_an_error(self, tmp_path):
        path = tmp_path / "missing.key"
        with pytest.raises(
            ConfigCryptoError, match="cannot read the config key file"
        ) as caught:
            ConfigCipher.from_env({KEY_FILE_ENV: str(path)})
        assert KEY_FILE_ENV in (caught.value.hint or "")

    def test_an_empty_key_file_is_an_error(self, tmp_path):
        path = tmp_path / "empty.key"
        path.write_text("# nothing yet\n")
        path.chmod(0o600)
        with pytest.raises(ConfigCryptoError, match="holds no key"):
            ConfigCipher.from_key_file(path)

    def test_an_invalid_key_in_the_file_is_not_echoed(self, tmp_path):
        path = tmp_path / "bad.key"
        path.write_text("definitely-not-a-key\n")
        path.chmod(0o600)
        with pytest.raises(ConfigCryptoError, match="#1 of 1") as caught:
            ConfigCipher.from_key_file(path)
        assert "definitely-not-a-key" not in str(caught.value)

    def test_generate_key_makes_a_usable_key(self):
        key = ConfigCipher.generate_key()
        assert isinstance(key, str)
        assert len(key) == 44
        ConfigCipher([key])


class TestRotateFiles:
    def test_rotate_text_keeps_the_layout(self, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        old = ConfigCipher([old_key])
        first, second = old.encrypt(plain), old.encrypt("other-value")
        text = (
            "# production database\n"
            "db:\n"
            f"  password: {first}  # rotated yearly\n"
            f'  token: "{second}"\n'
            "  host: db.internal\n"
            "  note: not enc:this\n"
        )
        cipher = ConfigCipher([new_key, old_key])
        rotated, count = cipher.rotate_text(text)
        assert count == 2
        assert first not in rotated
        assert second not in rotated
        lines = rotated.splitlines()
        assert lines[0] == "# production database"
        assert lines[2].endswith("  # rotated yearly")
        assert lines[4:] == ["  host: db.internal", "  note: not enc:this"]
        new_only = ConfigCipher([new_key])
        value = lines[2].split()[1]
        assert new_only.decrypt(value) == plain
        assert new_only.decrypt(lines[3].split('"')[1]) == "other-value"

    def test_a_value_under_another_key_names_file_and_line(self, cipher, plain):
        foreign = ConfigCipher([ConfigCipher.generate_key()]).encrypt(plain)
        text = f"a: 1\nb: {foreign}\n"
        with pytest.raises(ConfigCryptoError, match=r"'conf/prod/db\.yaml:2'"):
            cipher.rotate_text(text, source="conf/prod/db.yaml")

    def test_rotate_file_in_place_keeps_the_mode(self, tmp_path, plain):
        old_key, new_key = ConfigCipher.generate_key(), ConfigCipher.generate_key()
        path = tmp_path / "db.yaml"
        path.write_text(f"password: {ConfigCipher([old_key]).encrypt(plain)}\n")
        path.chmod(0o640)
        assert ConfigCipher([new_key, old_key]).rotate_file(path) == 1
        assert path.stat().st_mode & 0o777 == 0o640
        value = path.read_text().split()[1]
        assert ConfigCipher([new_key]).decrypt(value) == plain
        assert list(tmp_path.iterdir()) == [path]

    def test_a_file_without_values_is_left_alone(self, tmp_path, cipher):
        path = tmp_path / "plain.yaml"
        path.write_text("a: 1\n")
        before = path.stat().st_mtime_ns
        assert cipher.rotate_file(path) == 0
        assert path.stat().st_mtime_ns == before

    def test_a_missing_file_is_a_crypto_error(self, tmp_path, cipher):
        with pytest.raises(ConfigCryptoError, match="cannot read the config file"):
            cipher.rotate_file(tmp_path / "missing.yaml")
