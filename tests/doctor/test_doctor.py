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
        (project / "conf" / "templates").mkdir()
        (project / "conf" / "templates" / "gone.yaml").symlink_to(project / "gone")
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

    def test_hidden_files_of_a_layer_are_not_config_files(self, project):
        """As the loader, doctor skips a hidden file (an editor's swap file)."""
        hidden = project / "conf" / "base" / ".catalog.yaml"
        hidden.write_text("a: 1\n")
        hidden.chmod(0o644)
        report = project_checks(project)
        details = [c["detail"] for c in named(report, "permissions")]
        assert not any(str(hidden) in detail for detail in details)

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


class TestProjectEdges:
    def test_no_conf_folder_and_no_pipeline_warn(self, tmp_path, monkeypatch):
        (tmp_path / "pyproject.toml").write_text("[tool.pysetl]\n")
        monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
        report = project_checks(tmp_path)
        (config,) = named(report, "config")
        assert config["status"] == "warn"
        assert config["detail"].startswith("no config folder at ")
        (pipelines,) = named(report, "pipelines")
        assert pipelines["status"] == "warn"
        assert (
            pipelines["fix"] == 'add [tool.pysetl.pipelines] name = "module:function"'
        )

    def test_an_unreadable_pyproject_fails_as_the_project(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text("[tool.pysetl\n")
        state = load_project(tmp_path, None)
        (problem,) = check_config(state)
        assert (problem.name, problem.status) == ("project", FAIL)
        assert "pyproject.toml" in problem.detail
        assert check_pipelines(state) == []

    def test_an_invalid_monitoring_section_fails_with_file_and_key(self, project):
        monitoring = project / "conf" / "base" / "monitoring.yaml"
        monitoring.write_text("monitoring:\n  heartbeat_interval: 0\n")
        (config,) = named(project_checks(project), "config")
        assert config["status"] == "fail"
        assert f"{monitoring}:2 [monitoring.heartbeat_interval]" in config["detail"]

    def test_a_misspelled_option_warns_with_the_right_name(self, project):
        (project / "conf" / "dev" / "catalog.yaml").write_text(
            "connectors:\n  orders:\n    headr: 'false'\n"
        )
        ok, misspelled = named(project_checks(project, "dev"), "config")
        assert ok["status"] == "ok"
        assert misspelled["status"] == "warn"
        assert "headr" in misspelled["detail"]
        assert "header" in misspelled["detail"]

    def test_the_configured_history_is_the_one_checked(self, project):
        folder = project / "not-a-file.db"
        folder.mkdir()
        (project / "conf" / "base" / "monitoring.yaml").write_text(
            f"monitoring:\n  history: sqlite:///{folder}\n"
        )
        (history,) = named(project_checks(project), "history")
        assert history["status"] == "fail"
        assert "it is a folder" in history["detail"]

    def test_secret_and_key_files_open_to_others_fail(self, project, monkeypatch):
        secret = project / "db-password.txt"
        secret.write_text("s3cr3t-password")
        secret.chmod(0o644)
        (project / "conf" / "base" / "db.yaml").write_text(
            f"db:\n  password: ${{secret:file:{secret}}}\n"
        )
        (project / "conf" / "base" / "db.yaml").chmod(0o600)
        key = project / "outside.key"
        key.write_text("k")
        key.chmod(0o640)
        monkeypatch.setenv("PYSETL_CONFIG_KEY_FILE", str(key))
        found = {c["detail"]: c for c in named(project_checks(project), "permissions")}
        assert found[f"secret {key} (mode 0640) is readable by the group"][
            "status"
        ] == ("fail")
        from_config = [d for d in found if d.startswith(f"secret {secret} ")]
        assert from_config, found
        assert all(found[d]["status"] == "fail" for d in from_config)
        assert "s3cr3t" not in json.dumps(found)

    def test_a_bad_process_setting_fails_the_history_check(self, project, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "maybe")
        (history,) = named(project_checks(project), "history")
        assert history["status"] == "fail"
        assert "PYSETL_OBSERVE" in history["detail"]

    def test_a_history_that_is_no_file_is_checked_without_writing(self, project):
        state = load_project(project, None)
        check = check_history(state, "memory://")
        assert (check.status, check.detail) == (
            OK,
            f"memory://: schema version {LATEST_VERSION} (latest: {LATEST_VERSION})",
        )

    def test_private_files_pass(self, project):
        (permissions,) = named(project_checks(project), "permissions")
        assert permissions["status"] == "ok"
        assert permissions["detail"] == "1 config and secret files private"


class TestBrokenPyspark:
    """A copy of a module shadowing the installed one, as PYTHONPATH can do."""

    def test_a_module_that_fails_to_import_fails_the_check(self, tmp_path, monkeypatch):
        (tmp_path / "py4j").mkdir()
        (tmp_path / "py4j" / "__init__.py").write_text("raise ImportError('broken')\n")
        monkeypatch.setenv("PYTHONPATH", str(tmp_path))
        check = check_spark({})
        assert check.status == FAIL
        assert check.detail == "pyspark does not import: ImportError: broken"

    @pytest.mark.parametrize(
        ("version", "problem"),
        [("3.0.0", "pysetl supports pyspark 3.5 to 4.x"), ("4.0.0", "shadows it")],
    )
    def test_another_pyspark_on_the_path_fails_the_check(
        self, tmp_path, monkeypatch, version, problem
    ):
        (tmp_path / "pyspark").mkdir()
        (tmp_path / "pyspark" / "__init__.py").write_text(f"__version__ = {version!r}")
        monkeypatch.setenv("PYTHONPATH", str(tmp_path))
        check = check_spark({})
        assert check.status == FAIL
        assert check.detail.startswith(f"pyspark {version} at {tmp_path / 'pyspark'}")
        assert problem in check.detail

    def test_a_java_that_cannot_be_executed_fails(self, tmp_path):
        (tmp_path / "bin").mkdir()
        java = tmp_path / "bin" / "java"
        java.write_bytes(b"")  # executable, but no program: the kernel refuses it
        java.chmod(0o755)
        check = check_java({"JAVA_HOME": str(tmp_path), "PATH": ""})
        assert check.status == FAIL
        assert "does not run" in check.detail

    def test_a_spark_home_of_unknown_version_is_noted(self, tmp_path):
        check = check_spark({"SPARK_HOME": str(tmp_path)})
        assert check.status == OK
        assert check.detail.endswith("SPARK_HOME Spark version unknown")

    def test_a_java_that_does_not_run_fails(self, tmp_path):
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "java").symlink_to(shutil.which("false"))
        check = check_java({"JAVA_HOME": str(tmp_path), "PATH": ""})
        assert check.status == FAIL
        assert "does not run" in check.detail
