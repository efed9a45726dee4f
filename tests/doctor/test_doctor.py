"""``pysetl doctor``: each check on real conditions, the table, JSON and exit code.

Spark-free: Java runs as ``java -version`` and pyspark is imported in a
process of its own; no JVM starts here.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.doctor import FAIL, OK, WARN, check_extras, check_java, check_spark
from pysetl.doctor._java import java_major, pyspark_version
from pysetl.doctor._project import (
    check_config,
    check_history,
    check_permissions,
    check_pipelines,
    load_project,
    needed_extras,
)
from pysetl.monitoring.history import LATEST_VERSION, SqliteRunHistory
from pysetl.monitoring.history import _schema as s

_NAMES = itertools.count()

PIPELINE = '''
def build():
    """A pipeline function; the doctor only imports it."""
    raise RuntimeError("not built by the doctor")
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A small project: one pipeline, a valid config in conf/base and conf/dev."""
    module = f"doctor_jobs_{next(_NAMES)}"
    (tmp_path / f"{module}.py").write_text(PIPELINE)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.pysetl]\n[tool.pysetl.pipelines]\njobs = "{module}:build"\n'
    )
    for env in ("base", "dev"):
        (tmp_path / "conf" / env).mkdir(parents=True)
    (tmp_path / "conf" / "base" / "catalog.yaml").write_text(
        "connectors:\n  orders:\n    storage: csv\n    path: data/orders.csv\n"
    )
    (tmp_path / "conf" / "dev" / "catalog.yaml").write_text(
        "connectors:\n  orders:\n    header: 'false'\n"
    )
    for path in (tmp_path / "conf").rglob("*"):  # private: no permission findings
        path.chmod(0o700 if path.is_dir() else 0o600)
    (tmp_path / "conf").chmod(0o700)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    monkeypatch.delenv("PYSETL_ENV", raising=False)
    return tmp_path


def doctor(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["doctor", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def named(report: dict, name: str) -> list[dict]:
    return [check for check in report["checks"] if check["name"] == name]


def project_checks(project: Path, env: str | None = None) -> dict:
    """The project's own checks, as ``--json`` shows them (no Java, no Spark)."""
    state = load_project(project, env)
    found = [
        *check_config(state),
        *check_pipelines(state),
        check_history(state),
        *check_permissions(state),
    ]
    return {"checks": [check.as_dict() for check in found]}


class TestJava:
    def test_the_java_on_path_is_found_with_its_version(self):
        check = check_java({"PATH": os.environ["PATH"]})
        assert check.status == OK, check
        assert check.detail.startswith("Java ")
        assert check.detail.endswith("(PATH)")

    def test_java_home_pointing_nowhere_fails_with_the_fix(self, tmp_path):
        nowhere = tmp_path / "no-such-jdk"
        check = check_java({"JAVA_HOME": str(nowhere), "PATH": os.environ["PATH"]})
        assert check.status == FAIL
        assert check.detail == (
            f"JAVA_HOME={str(nowhere)!r} has no runnable bin/java: Spark cannot start"
        )
        assert "JAVA_HOME" in check.fix

    def test_no_java_at_all_fails_with_how_to_install_one(self, tmp_path):
        check = check_java({"PATH": str(tmp_path)})
        assert check.status == FAIL
        assert "no java on PATH" in check.detail
        assert "openjdk-17-jre-headless" in check.fix

    def test_a_java_home_with_a_real_java_is_used(self, tmp_path):
        java = Path(shutil.which("java")).resolve()
        check = check_java({"JAVA_HOME": str(java.parent.parent), "PATH": ""})
        assert check.status == OK
        assert check.detail.endswith("(JAVA_HOME)")

    @pytest.mark.parametrize(
        ("raw", "major"),
        [("1.8.0_392", 8), ("11.0.21", 11), ("17.0.15", 17), ("21", 21), ("x", None)],
    )
    def test_version_strings(self, raw, major):
        assert java_major(raw) == major


class TestSpark:
    def test_the_installed_pyspark_imports(self):
        check = check_spark({})
        assert check.status == OK, check
        major, minor = pyspark_version()
        assert check.detail.startswith(f"pyspark {major}.{minor}.")

    def test_a_spark_home_of_another_version_fails_with_both_fixes(self, tmp_path):
        (tmp_path / "RELEASE").write_text("Spark 3.4.1 built for Hadoop 3.3.4\n")
        check = check_spark({"SPARK_HOME": str(tmp_path)})
        assert check.status == FAIL
        assert check.detail.endswith(
            f"but SPARK_HOME={str(tmp_path)!r} holds Spark 3.4.1"
        )
        assert "pip install 'pyspark==3.4.1'" in check.fix

    def test_a_spark_home_of_the_same_version_is_fine(self, tmp_path):
        major, minor = pyspark_version()
        (tmp_path / "jars").mkdir()
        (tmp_path / "jars" / f"spark-core_2.13-{major}.{minor}.0.jar").write_bytes(b"")
        check = check_spark({"SPARK_HOME": str(tmp_path)})
        assert check.status == OK
        assert check.detail.endswith(f"SPARK_HOME Spark {major}.{minor}.0")

    def test_a_spark_home_that_is_no_folder_fails(self, tmp_path):
        check = check_spark({"SPARK_HOME": str(tmp_path / "gone")})
        assert check.status == FAIL
        assert "is not a folder" in check.detail


EXTRAS = {
    "here": ["pytest>=1"],
    "needed": ["pysetl-no-such-dist>=1"],
    "unused": ["pysetl-no-such-dist>=1"],
    "old": ["pytest>=999"],
    "shared": ["pytest>=1", "pysetl-no-such-dist>=1"],
}


class TestExtras:
    def test_missing_fails_when_used_and_a_too_old_package_warns(self):
        checks = {c.name: c for c in check_extras({"needed"}, EXTRAS)}
        assert checks["extra: here"].status == OK
        assert checks["extra: needed"].status == FAIL
        assert checks["extra: needed"].detail == (
            "the project uses it, but: pysetl-no-such-dist missing"
        )
        assert checks["extra: needed"].fix == "pip install 'pysetl[needed]'"
        assert checks["extra: unused"].status == OK
        assert checks["extra: unused"].detail == (
            "not installed, not used by the project (pysetl-no-such-dist missing)"
        )
        assert checks["extra: old"].status == WARN
        assert "pytest" in checks["extra: old"].detail
        assert "(wants >=999)" in checks["extra: old"].detail
        assert checks["extra: shared"].status == OK  # a package of it comes anyway

    def test_the_installed_pysetl_extras_are_all_listed(self):
        names = {c.name for c in check_extras({"spark"})}
        assert {"extra: spark", "extra: monitoring", "extra: otel"} <= names
        assert "extra: all" not in names

    def test_the_project_config_says_which_extras_it_needs(self, project):
        (project / "conf" / "base" / "monitoring.yaml").write_text(
            "monitoring:\n  prometheus:\n    pushgateway: http://127.0.0.1:9091\n"
        )
        (project / "conf" / "base" / "db.yaml").write_text(
            "db:\n  password: ${secret:vault:secret/shop#pw}\n"
        )
        state = load_project(project, None)
        needed = needed_extras(state, "postgresql+psycopg://u@h/db")
        assert needed == {"spark", "config", "prometheus", "vault", "postgres"}


class TestProject:
    def test_a_healthy_project_passes(self, project):
        code, report = doctor("--env", "dev")
        assert code == 0, report
        assert report["ok"] is True
        assert report["env"] == "dev"
        (config,) = named(report, "config")
        assert config["status"] == "ok"
        assert config["detail"].endswith("(env dev): 2 files, valid")
        (pipeline,) = named(report, "pipeline: jobs")
        assert pipeline["status"] == "ok"
        (history,) = named(report, "history")
        assert history["status"] == "ok"
        assert "no runs yet" in history["detail"]
        assert not (project / ".pysetl").exists()  # nothing written

    def test_a_bad_config_fails_naming_the_file(self, project):
        bad = project / "conf" / "dev" / "catalog.yaml"
        bad.write_text("connectors:\n  orders:\n    header: [unclosed\n")
        (config,) = named(project_checks(project, "dev"), "config")
        assert config["status"] == "fail"
        assert str(bad) in config["detail"]
        assert config["fix"]

    def test_an_invalid_connector_fails_with_the_key(self, project):
        (project / "conf" / "dev" / "catalog.yaml").write_text(
            "connectors:\n  orders:\n    storage: nope\n"
        )
        report = project_checks(project, "dev")
        (config,) = named(report, "config")
        assert config["status"] == "fail"
        assert "orders" in config["detail"]

    def test_a_pipeline_that_cannot_be_imported_fails(self, project):
        (project / "pyproject.toml").write_text(
            '[tool.pysetl.pipelines]\njobs = "no_such_module_here:build"\n'
        )
        (pipeline,) = named(project_checks(project), "pipeline: jobs")
        assert pipeline["status"] == "fail"
        assert "cannot be imported" in pipeline["detail"]

    def test_a_pipeline_missing_a_package_says_which(self, project):
        module = f"doctor_needs_{next(_NAMES)}"
        (project / f"{module}.py").write_text("import pysetl_no_such_package\n")
        (project / "pyproject.toml").write_text(
            f'[tool.pysetl.pipelines]\njobs = "{module}:build"\n'
        )
        (pipeline,) = named(project_checks(project), "pipeline: jobs")
        assert pipeline["status"] == "fail"
        assert pipeline["fix"].startswith("install 'pysetl_no_such_package'")

    def test_java_home_pointing_nowhere_fails_the_run_with_the_fix(
        self, project, monkeypatch
    ):
        monkeypatch.setenv("JAVA_HOME", str(project / "no-jdk"))
        code, report = doctor()
        assert code == 1
        (java,) = named(report, "java")
        assert java["status"] == "fail"
        assert "no-jdk" in java["detail"]
        assert "JAVA_HOME" in java["fix"]

    def test_an_older_history_warns_to_upgrade_it(self, project):
        (project / ".pysetl").mkdir()
        old = SqliteRunHistory(project / ".pysetl" / "history.db", migrate=False)
        old.migrate(target=LATEST_VERSION - 1)
        old.close()
        (history,) = named(project_checks(project), "history")
        assert history["status"] == "warn"
        assert f"older schema version {LATEST_VERSION - 1}" in history["detail"]
        assert history["fix"] == "run any pipeline with this history once to upgrade it"

    def test_a_newer_history_fails(self, project):
        (project / ".pysetl").mkdir()
        store = SqliteRunHistory(project / ".pysetl" / "history.db")
        with store.engine.begin() as conn:
            conn.execute(
                s.SCHEMA_VERSION.insert().values(
                    version=LATEST_VERSION + 1, description="future", applied_at=0
                )
            )
        store.close()
        (history,) = named(project_checks(project), "history")
        assert history["status"] == "fail"
        assert history["fix"] == "upgrade pysetl to read this history"

    def test_a_current_history_reports_its_version(self, project):
        SqliteRunHistory(project / ".pysetl" / "history.db").close()
        (history,) = named(project_checks(project), "history")
        assert history["status"] == "ok"
        assert (
            f"schema version {LATEST_VERSION} (latest: {LATEST_VERSION})"
            in (history["detail"])
        )
        assert history["detail"].endswith("writable")

    def test_a_key_file_readable_by_others_fails_with_chmod(self, project):
        key = project / "conf" / "config.key"
        key.write_text("not a real key")
        key.chmod(0o644)
        (project / "conf" / "base" / "catalog.yaml").chmod(0o644)
        report = project_checks(project)
        found = {c["detail"]: c for c in named(report, "permissions")}
        for problem in ("readable by others", "readable by the group"):
            secret = found[f"secret {key} (mode 0644) is {problem}"]
            assert (secret["status"], secret["fix"]) == ("fail", f"chmod 600 {key}")
        config = project / "conf" / "base" / "catalog.yaml"
        assert found[f"{config} (mode 0644) is readable by others"]["status"] == "warn"

    def test_the_table_shows_each_status_and_fix(self, project, monkeypatch):
        monkeypatch.setenv("JAVA_HOME", str(project / "no-jdk"))
        result = CliRunner().invoke(app, ["doctor", "--env", "dev"])
        assert result.exit_code == 1
        lines = [line.strip() for line in result.stdout.splitlines()]
        assert lines[0] == f"pysetl doctor: {project} (env dev)"
        java = next(line for line in lines if line.startswith("java "))
        assert "FAIL" in java
        assert "no-jdk" in java
        assert "export JAVA_HOME=" in java or "unset JAVA_HOME" in java
        assert lines[-1].endswith("1 failed: fix the FAIL lines first")
