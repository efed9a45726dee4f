"""What pysetl adds to start Spark quietly (``pysetl.utils._spark_console``).

Spark-free: these tests compute the settings and variables; the JVM start
itself is tested in ``tests/context/test_pysetl.py::TestQuietSpark``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from pysetl.errors import ConfigError
from pysetl.utils._spark_console import spark_console, spark_log_level


def quiet(settings=None, *, master="local[2]", environ=None, terminal=False, **kw):
    return spark_console(
        settings or {},
        master=master,
        environ={} if environ is None else environ,
        stderr_is_terminal=terminal,
        **kw,
    )


def log4j_file(options: str) -> Path:
    match = re.search(r"-Dlog4j2\.configurationFile=(\S+)", options)
    assert match is not None, options
    return Path(urlparse(match.group(1)).path)


class TestLevel:
    def test_warn_by_default(self, monkeypatch):
        monkeypatch.delenv("PYSETL_SPARK_LOG_LEVEL", raising=False)
        assert spark_log_level() == ("WARN", False)

    def test_the_variable(self, monkeypatch):
        monkeypatch.setenv("PYSETL_SPARK_LOG_LEVEL", "error")
        assert spark_log_level() == ("ERROR", True)

    def test_an_explicit_level_beats_the_variable(self, monkeypatch):
        """``pysetl --verbose`` or ``set_spark_log_level`` win over the variable."""
        monkeypatch.setenv("PYSETL_SPARK_LOG_LEVEL", "ERROR")
        assert spark_log_level("info") == ("INFO", True)

    def test_a_bad_level_is_a_config_error(self):
        with pytest.raises(ConfigError, match="is not a log4j level"):
            spark_log_level("loud")

    def test_the_level_goes_to_the_jvm(self, monkeypatch):
        monkeypatch.setenv("PYSETL_SPARK_LOG_LEVEL", "DEBUG")
        options = quiet().environ["SPARK_SUBMIT_OPTS"]
        assert "-Dpysetl.spark.logLevel=DEBUG" in options


class TestLog4jConfig:
    def test_the_jvm_starts_with_pysetl_s_log4j_file(self):
        config = log4j_file(quiet().environ["SPARK_SUBMIT_OPTS"])
        text = config.read_text(encoding="utf-8")
        assert "rootLogger.level = ${sys:pysetl.spark.logLevel:-warn}" in text
        assert "org.apache.hadoop.util.NativeCodeLoader" in text

    def test_the_user_s_options_come_later_and_win(self):
        """Java keeps the last -D of a name: a log4j file of the user's own wins."""
        mine = "-Dlog4j2.configurationFile=file:///etc/mine.properties"
        options = quiet(environ={"SPARK_SUBMIT_OPTS": mine}).environ[
            "SPARK_SUBMIT_OPTS"
        ]
        assert options.endswith(mine)
        assert options.index("pysetl.spark.logLevel") < options.index(mine)


class TestProgressBars:
    def test_off_when_stderr_is_not_a_terminal(self):
        assert quiet().settings == {"spark.ui.showConsoleProgress": "false"}

    def test_spark_s_default_on_a_terminal(self):
        assert quiet(terminal=True).settings == {}

    def test_the_user_s_setting_is_kept(self):
        given = {"spark.ui.showConsoleProgress": "true"}
        assert quiet(given).settings == {}


class TestLoopback:
    def test_a_local_master_binds_to_loopback(self):
        assert quiet().environ["SPARK_LOCAL_IP"] == "127.0.0.1"

    @pytest.mark.parametrize("master", ["yarn", "spark://host:7077", "k8s://x"])
    def test_not_for_a_cluster(self, master):
        assert "SPARK_LOCAL_IP" not in quiet(master=master).environ

    @pytest.mark.parametrize(
        ("settings", "environ"),
        [
            ({}, {"SPARK_LOCAL_IP": "10.0.0.5"}),
            ({}, {"SPARK_LOCAL_HOSTNAME": "box"}),
            ({"spark.driver.host": "10.0.0.5"}, {}),
            ({"spark.driver.bindAddress": "10.0.0.6"}, {}),
        ],
    )
    def test_not_when_the_user_chose_an_address(self, settings, environ):
        assert "SPARK_LOCAL_IP" not in quiet(settings, environ=environ).environ


class TestSparkConnect:
    @pytest.mark.parametrize(
        ("settings", "environ"),
        [({"spark.remote": "sc://h"}, {}), ({}, {"SPARK_REMOTE": "sc://h"})],
    )
    def test_no_jvm_of_ours_nothing_added(self, settings, environ):
        added = quiet(settings, environ=environ)
        assert (added.settings, added.environ) == ({}, {})


class TestStarting:
    def test_variables_are_set_while_starting_then_restored(self, monkeypatch):
        monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-Dmine=1")
        monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
        added = quiet(environ=dict(os.environ))
        with added.starting():
            assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"
            assert os.environ["SPARK_SUBMIT_OPTS"] == added.environ["SPARK_SUBMIT_OPTS"]
        assert "SPARK_LOCAL_IP" not in os.environ
        assert os.environ["SPARK_SUBMIT_OPTS"] == "-Dmine=1"

    def test_restored_when_the_start_fails(self, monkeypatch):
        monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
        monkeypatch.delenv("SPARK_SUBMIT_OPTS", raising=False)
        with pytest.raises(RuntimeError), quiet().starting():
            raise RuntimeError
        assert "SPARK_LOCAL_IP" not in os.environ
        assert "SPARK_SUBMIT_OPTS" not in os.environ

    def test_one_info_line_says_spark_binds_to_loopback(self, caplog, monkeypatch):
        monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
        with caplog.at_level(logging.INFO), quiet().starting():
            pass
        (record,) = caplog.records
        assert record.levelno == logging.INFO
        assert record.getMessage().startswith("spark_binds_to_loopback:")
        assert "127.0.0.1" in record.getMessage()
        assert "SPARK_LOCAL_IP" in record.getMessage()

    def test_no_line_when_the_user_chose_an_address(self, caplog):
        added = quiet(environ={"SPARK_LOCAL_IP": "10.0.0.5"})
        with caplog.at_level(logging.INFO), added.starting():
            pass
        assert not caplog.records
