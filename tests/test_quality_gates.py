"""The code-quality gates' scripts: commit messages, bandit's justifications,
the audit's verdict, the release's wheel check and the performance gate's
decision. Spark-free; the gate runs its real benchmark in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check_commits = _load("scripts/check_commits.py")
security_lint = _load("scripts/security_lint.py")
audit = _load("scripts/audit.py")
release = _load("scripts/release.py")


# ------------------------------------------------------------ commit messages
@pytest.mark.parametrize(
    "message",
    [
        "dashboard: the run list pages by cursor, so deep pages stay fast",
        "benchmarks/perf_gate.py: a planted slowdown is a switch\n\nbody here",
        "pysetl ui --alerts CONF: checks the absence rules while serving",
    ],
)
def test_messages_in_the_convention_pass(message):
    assert check_commits.problems(message) == []


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("Fix the bug in the dashboard", "not `area: what and why`"),
        ("dashboard:no space after the colon", "not `area: what and why`"),
        (" dashboard: leading space", "not `area: what and why`"),
        ("fixup! dashboard: cursor paging", "squash it"),
        ("WIP dashboard: half done", "squash it"),
        ("dashboard: subject\nbody right under it", "second line is not blank"),
        ("a" * 51 + ": too long an area", "longer than 50"),
        ("", "empty message"),
    ],
)
def test_messages_outside_the_convention_say_why(message, problem):
    found = check_commits.problems(message)
    assert found
    assert problem in "; ".join(found)


def test_the_commit_msg_hook_mode_exits_1_with_the_expected_form(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("ci: check commit messages\n# a comment git strips\n")
    bad.write_text("check commit messages\n")
    script = str(ROOT / "scripts" / "check_commits.py")
    ok = subprocess.run([sys.executable, script, str(good)], check=False)  # noqa: S603 - ours
    no = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, script, str(bad)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0
    assert no.returncode == 1
    assert "area: what and why" in no.stderr


# ------------------------------------------------------------ bandit
def _finding(path: Path, line: int, test_id: str, span: list[int] | None = None):
    return {
        "filename": str(path),
        "line_number": line,
        "line_range": span or [line],
        "test_id": test_id,
    }


def test_a_finding_is_justified_by_ruffs_noqa_or_bandits_nosec(tmp_path):
    code = tmp_path / "mod.py"
    code.write_text(
        "import subprocess\n"
        "subprocess.run(cmd)  # noqa: S603 - our arguments\n"
        'password = ""  # nosec B105 - empty\n'
        "subprocess.run(other)\n"
        "subprocess.run(x)  # noqa: S607 - another rule\n"
    )
    assert security_lint.justified(_finding(code, 2, "B603"))
    assert security_lint.justified(_finding(code, 3, "B105"))
    assert not security_lint.justified(_finding(code, 4, "B603"))
    # a noqa for another rule does not justify this one
    assert not security_lint.justified(_finding(code, 5, "B603"))


def test_a_multi_line_statement_is_justified_on_any_of_its_lines(tmp_path):
    code = tmp_path / "mod.py"
    code.write_text("run(\n    [  # noqa: S607 - git\n        'git'],\n)\n")
    assert security_lint.justified(_finding(code, 1, "B607", [1, 4]))
    assert not security_lint.justified(_finding(code, 1, "B603", [1, 4]))


# ------------------------------------------------------------ audit
def _dep(name, skip="", vulns=()):
    dep = {"name": name, "version": "1.0", "vulns": list(vulns)}
    if skip:
        dep["skip_reason"] = skip
    return dep


def test_an_audit_that_reached_no_service_says_skipped_visibly(capsys, monkeypatch):
    monkeypatch.delenv("PYSETL_AUDIT_REQUIRED", raising=False)
    report = {"dependencies": [_dep("a", "not found"), _dep("b", "not found")]}
    assert audit.verdict(report, 0, 2) == 0
    assert "skipped: advisory service unreachable" in capsys.readouterr().out
    monkeypatch.setenv("PYSETL_AUDIT_REQUIRED", "1")
    assert audit.verdict(report, 0, 2) == 1


def test_an_audit_fails_on_a_known_vulnerability_and_names_the_fix(capsys):
    vuln = {"id": "GHSA-xxxx", "fix_versions": ["1.1"]}
    report = {"dependencies": [_dep("a", vulns=[vuln]), _dep("b")]}
    assert audit.verdict(report, 1, 2) == 1
    out = capsys.readouterr().out
    assert "a 1.0: GHSA-xxxx (fixed in 1.1)" in out
    assert "1 known vulnerabilities" in out


def test_an_audit_lists_the_packages_it_could_not_audit(capsys, monkeypatch):
    monkeypatch.delenv("PYSETL_AUDIT_REQUIRED", raising=False)
    report = {"dependencies": [_dep("a", "not found"), _dep("b")]}
    assert audit.verdict(report, 0, 2) == 0
    assert "1 packages NOT audited: a 1.0" in capsys.readouterr().out


# ------------------------------------------------------------ release
def _wheel(path: Path, files: dict[str, str], version: str = "9.9.9") -> Path:
    info = f"pysetl-{version}.dist-info"
    meta = (
        f"Metadata-Version: 2.4\nName: pysetl\nVersion: {version}\n"
        "Requires-Python: >=3.10\nLicense-Expression: Apache-2.0\n"
        "Provides-Extra: spark\nRequires-Dist: pydantic<3,>=2.6\n"
        "Requires-Dist: typing-extensions>=4.8\nRequires-Dist: pluggy>=1.3\n\n"
        "# pysetl\n"
    )
    entry = (
        "[console_scripts]\npysetl = pysetl.cli.__main__:main\n\n"
        "[pysetl.runtime]\ndefault = x\n\n[pytest11]\nx = y\n"
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr(f"{info}/METADATA", meta)
        zf.writestr(f"{info}/entry_points.txt", entry)
    return path


@pytest.fixture
def tree(tmp_path):
    """A git repository with a package shaped like ours."""
    root = tmp_path / "tree"
    (root / "src" / "pysetl" / "dashboard" / "static").mkdir(parents=True)
    (root / "src" / "pysetl" / "__init__.py").write_text("")
    (root / "src" / "pysetl" / "py.typed").write_text("")
    (root / "src" / "pysetl" / "dashboard" / "static" / "index.html").write_text("")
    (root / "src" / "pysetl" / "t {{ name }}.jinja").write_text("")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "pysetl"\nrequires-python = ">=3.10"\n'
        'license = "Apache-2.0"\n'
        'dependencies = ["pydantic>=2.6,<3", "typing_extensions>=4.8", "pluggy>=1.3"]\n'
        '[project.optional-dependencies]\nspark = ["pyspark"]\n'
    )
    git = shutil.which("git")
    subprocess.run([git, "init", "-q", str(root)], check=True)  # noqa: S603
    subprocess.run([git, "-C", str(root), "add", "-A"], check=True)  # noqa: S603
    return root


def test_a_wheel_with_every_tracked_file_and_its_metadata_passes(tree, tmp_path):
    files = {
        "pysetl/__init__.py": "",
        "pysetl/py.typed": "",
        "pysetl/dashboard/static/index.html": "",
        "pysetl/t {{ name }}.jinja": "",
    }
    wheel = _wheel(tmp_path / "w.whl", files)
    assert release.check_wheel(wheel, tree, "9.9.9") == []


def test_a_wheel_missing_a_file_or_metadata_is_named(tree, tmp_path):
    files = {
        "pysetl/__init__.py": "",
        "pysetl/dashboard/static/index.html": "",
        "pysetl/t {{ name }}.jinja": "",
        "pysetl/__pycache__/x.cpython-311.pyc": "",
    }
    wheel = _wheel(tmp_path / "w.whl", files, version="9.9.8")
    problems = "\n".join(release.check_wheel(wheel, tree, "9.9.8"))
    assert "missing from the wheel: pysetl/py.typed" in problems
    assert "bytecode in the wheel" in problems
    assert "not tracked by git, yet in the wheel" in problems


def test_a_release_version_must_be_pep_440():
    with pytest.raises(release.ReleaseError, match=r"expected X\.Y\.Z"):
        release.check_version("v1.2")


# ------------------------------------------------------------ perf gate
def test_the_perf_gate_fails_a_confirmed_regression_and_keeps_its_figures(tmp_path):
    """A baseline far below the measured figure: the gate measures twice, fails."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps({"tolerance": 1.5, "cases": {"workflow-fanout": {"ratio": 1e-4}}})
    )
    out = tmp_path / "perf"
    proc = subprocess.run(  # noqa: S603 - our interpreter, our script
        [
            sys.executable,
            str(ROOT / "benchmarks" / "perf_gate.py"),
            "--case",
            "workflow-fanout",
            "--repeat",
            "1",
            "--baseline",
            str(baseline),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REGRESSION (confirmed" in proc.stdout
    result = json.loads((out / "latest.json").read_text())
    case = result["cases"]["workflow-fanout"]
    assert result["passed"] is False
    assert len(case["ratios"]) == 1
    assert case["confirmation"]["ratio"] > case["limit"]


def test_the_planted_slowdown_switch_refuses_nonsense(monkeypatch):
    gate = _load("benchmarks/perf_gate.py")
    monkeypatch.setenv("PYSETL_PERF_GATE_SLOWDOWN", "0")
    with pytest.raises(SystemExit, match="whole number >= 1"):
        gate.slowdown()
    monkeypatch.setenv("PYSETL_PERF_GATE_SLOWDOWN", "2")
    assert gate.slowdown() == 2
