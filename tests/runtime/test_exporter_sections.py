"""The exporter sections of ``monitoring:``: each turns its observer on."""

from __future__ import annotations

import sys

import pytest

from pysetl.config import load_config
from pysetl.errors import ConfigError, ConfigLoadError
from pysetl.monitoring.lineage import OpenLineageExporter
from pysetl.monitoring.prometheus import PrometheusExporter
from pysetl.monitoring.tracing import OpenTelemetryExporter
from pysetl.runtime import Session
from pysetl.runtime._monitoring import ObserverSpec, load_observer
from pysetl.workflow import Factory


class One(Factory[int]):
    def read(self) -> One:
        return self

    def process(self) -> One:
        return self

    def write(self) -> One:
        return self

    def get(self) -> int:
        return 1


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder, recording on, as the working directory."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path  # the root conftest resets the default hook manager


def config_with(root, text):
    conf = root / "conf"
    (conf / "base").mkdir(parents=True, exist_ok=True)
    (conf / "base" / "monitoring.yaml").write_text(text)
    return load_config(conf, None)


def test_the_prometheus_section_writes_the_textfile_after_a_run(project):
    prom = project / "metrics" / "pysetl.prom"
    prom.parent.mkdir()
    config = config_with(project, f"monitoring:\n  prometheus:\n    textfile: {prom}\n")
    with Session(config=config) as session:
        exporters = [
            p for p in session.hooks.observers if isinstance(p, PrometheusExporter)
        ]
        assert len(exporters) == 1
        session.pipeline(name="numbers").add_stage_from_type(One).run()
    text = prom.read_text()
    assert 'pipeline="numbers"' in text
    assert "pysetl_" in text


def test_every_section_registers_its_exporter_after_the_observers(project):
    config = config_with(
        project,
        "monitoring:\n"
        "  tracing:\n    endpoint: http://127.0.0.1:9\n"
        "  lineage:\n    url: http://127.0.0.1:9\n    namespace: team\n",
    )
    with Session(config=config) as session:
        kinds = [type(p) for p in session.hooks.observers]
        assert OpenTelemetryExporter in kinds
        assert OpenLineageExporter in kinds
        targets = [spec.target for spec in session.monitoring.observers]
        assert targets == [
            "pysetl.monitoring.tracing:OpenTelemetryExporter",
            "pysetl.monitoring.lineage:OpenLineageExporter",
        ]


def test_a_bad_option_is_located_and_named_without_its_value(project):
    config = config_with(
        project,
        "monitoring:\n  prometheus:\n"
        "    pushgatewy: http://127.0.0.1:9091\n"
        "    password: Hunter2-Canary\n",
    )
    with pytest.raises(ConfigLoadError) as caught:
        Session(config=config, observe=False)
    (error,) = caught.value.errors
    assert error["key"] == "monitoring.prometheus"
    assert error["line"]
    assert "pushgatewy" in str(caught.value.errors)
    assert "Hunter2-Canary" not in str(caught.value)
    assert "Hunter2-Canary" not in str(caught.value.errors)


def test_a_missing_extra_names_what_to_install(monkeypatch):
    for name in list(sys.modules):
        if name.startswith(("pysetl.monitoring.prometheus", "prometheus_client")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # not installed
    spec = ObserverSpec.model_validate(
        {"class": "pysetl.monitoring.prometheus:PrometheusExporter"}
    )
    with pytest.raises(ConfigError, match=r"monitoring\.prometheus needs") as caught:
        load_observer(spec)
    assert caught.value.hint == "pip install 'pysetl[prometheus]'"
