"""Optional extras: a missing parser or watcher says which extra to install."""

from __future__ import annotations

import sys

import pytest
import tomllib

from pysetl.config import ConfigWatcher
from pysetl.errors import ConfigLoadError


class TestMissingExtras:
    def test_yaml_files_without_pyyaml(self, conf, monkeypatch):
        conf.write("base/a.yaml", "a: 1\n")
        monkeypatch.setitem(sys.modules, "yaml", None)
        with pytest.raises(ImportError, match=r"pip install 'pysetl\[config\]'"):
            conf.load()

    def test_toml_files_need_no_extra_on_python_311(self, conf, monkeypatch):
        conf.write("base/a.toml", "a = 1\n")
        monkeypatch.setitem(sys.modules, "yaml", None)
        assert conf.load().get("a") == 1

    def test_toml_falls_back_to_tomli(self, conf, monkeypatch):
        conf.write("base/a.toml", "a = 1\n")
        monkeypatch.setitem(sys.modules, "tomllib", None)
        monkeypatch.setitem(sys.modules, "tomli", tomllib)  # same API as tomli
        assert conf.load().get("a") == 1

    def test_toml_without_tomllib_or_tomli(self, conf, monkeypatch):
        conf.write("base/a.toml", "a = 1\n")
        monkeypatch.setitem(sys.modules, "tomllib", None)
        monkeypatch.setitem(sys.modules, "tomli", None)
        with pytest.raises(ImportError, match="tomli"):
            conf.load()

    def test_hot_reload_without_watchfiles(self, conf, monkeypatch):
        conf.write("base/a.yaml", "a: 1\n")
        watcher = ConfigWatcher(conf.root, environ={})
        monkeypatch.setitem(sys.modules, "watchfiles", None)
        with pytest.raises(ImportError, match=r"pip install 'pysetl\[config\]'"):
            watcher.start()

    def test_secret_references_without_the_secrets_module(self, conf, monkeypatch):
        conf.write("base/a.yaml", "pw: ${secret:env:PW}\n")
        monkeypatch.setitem(sys.modules, "pysetl.config.secrets", None)
        with pytest.raises(ConfigLoadError) as caught:
            conf.load(environ={"PW": "abcdef"})
        assert caught.value.errors[0]["key"] == "pw"

    def test_enc_values_without_the_crypto_module(self, conf, monkeypatch):
        conf.write("base/a.yaml", "pw: enc:abc\n")
        monkeypatch.setitem(sys.modules, "pysetl.config.crypto", None)
        with pytest.raises(ConfigLoadError) as caught:
            conf.load()
        assert caught.value.errors[0]["line"] == 1
