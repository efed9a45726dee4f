"""The tutorials of docs/tutorials run as written: the reader's code is the tested code.

Each page is read from top to bottom, in a scratch folder that is the
reader's project, with the test session's SparkSession running (the pages'
``getOrCreate()`` and ``pysetl run`` reuse it). The same mechanism as
tests/test_docs_examples.py, plus files and commands:

- a fenced block with ``title="PATH"`` is a file the reader writes: it is
  written to PATH; one titled ``PATH (continued)`` adds to that file;
- a ``python`` block without a title runs, all of a page's blocks in one
  module namespace, in order; a block titled ``Output`` right after it is
  what it prints;
- a ``console`` block holds ``$ pysetl ...`` and ``$ python -m pytest ...``
  commands, each followed by what it prints; they run in this process
  (through the ``pysetl`` command's own app, and ``pytest.main`` with the
  installed ``pysetl.testing`` plugin, whose ``pysetl_spark`` is the suite's
  session), must exit 0 (or the code a ``$ echo $?`` line shows), and print
  what the page shows.

Printed text is compared after replacing what changes from run to run (run
ids, dates, times, durations, the scratch folder, the host name) word by
word; a line ``...`` in the page stands for any number of words. ``bash``
and ``text`` blocks without a title are only shown.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
FENCE = re.compile(
    r"^```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
OUTPUT = "Output"
CONTINUED = " (continued)"
PAGE_FOLDER = "/home/you/shop"  # where the pages say the reader's project is
PAGE_HOST = "laptop"  # and the reader's machine

# What changes from run to run, replaced on both sides before comparing.
VOLATILE = [
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"), "<RUN>"),  # ULIDs
    (re.compile(r"\b[0-9a-f]{64}\b"), "<SHA>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\b"), "<TIME>"),
    (re.compile(r"\b\d+\.\d+ ?s\b( \(\d+:\d\d:\d\d\))?"), "<S>"),
    (re.compile(r"\b\d+[hm] \d+[ms]\b"), "<S>"),  # 1m 06s, 2h 05m
    (re.compile(r"\b\d+(\.\d+)? ms\b"), "<MS>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<PORT>"),
    (re.compile(r"pid \d+|/ \d+$", re.MULTILINE), "<PID>"),
]


@dataclass(frozen=True)
class Block:
    lang: str
    title: str | None
    body: str


def blocks(page: Path) -> list[Block]:
    found = []
    for match in FENCE.finditer(page.read_text(encoding="utf-8")):
        title = TITLE.search(match["attrs"])
        found.append(
            Block(match["lang"], title["title"] if title else None, match["body"])
        )
    return found


def normalize(text: str, folder: Path) -> list[str]:
    """The words of ``text``, what changes from run to run replaced.

    Words, not lines: rich wraps a table's title at the table's width, which
    depends on the paths and names in it. A line ``...`` becomes ``<ANY>``.
    """
    for path in (str(folder.resolve()), str(folder), PAGE_FOLDER):
        text = text.replace(path, "<DIR>")
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    hosts = rf"\b({re.escape(socket.gethostname())}|{PAGE_HOST})\b"
    text = re.sub(hosts, "<HOST>", text)
    words: list[str] = []
    for line in text.splitlines():
        # Log records (JSON on a pipe) come and go with the machine's speed: a
        # slow observer's warning, say. The pages show what commands print.
        if line.startswith('{"ts": '):
            continue
        if line.strip() == "...":
            words.append("<ANY>")
        elif re.fullmatch(r"\s*[─━-]{3,}\s*", line):
            words.append("<RULE>")  # rich draws rules as wide as the table
        else:
            words.extend(line.split())
    return words


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected``, each ``<ANY>`` standing for any words."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i] == "<ANY>":
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and expected[i] == actual[j] and match(i + 1, j + 1)

    return match(0, 0)


def assert_printed(expected: str, actual: str, folder: Path, what: str) -> None:
    want, got = normalize(expected, folder), normalize(actual, folder)
    assert matches(want, got), (
        f"{what} printed something else than the page shows.\n"
        f"--- page (normalized)\n{' '.join(want)}\n"
        f"--- actual (normalized)\n{' '.join(got)}"
    )


def commands(body: str) -> list[tuple[str, str, int]]:
    """``(command, expected output, expected exit code)`` of a console block."""
    found: list[list] = []
    for line in body.splitlines():
        if line.startswith("$ echo $?"):
            found[-1][2] = None  # the next line holds the code
        elif line.startswith("$ "):
            found.append([line[2:], [], 0])
        elif found and found[-1][2] is None:
            found[-1][2] = int(line)
        elif found:
            found[-1][1].append(line)
        else:
            pytest.fail(f"console block output before any command: {line!r}")
    return [(cmd, "\n".join(out), code) for cmd, out, code in found]


class SharedSpark:
    """The reader's ``pysetl_spark``: the suite's session, left running.

    A nested pytest run of the reader's tests gets every fixture of the
    ``pysetl.testing`` plugin as installed, but one Spark session per
    process: the plugin's would stop the suite's session at its end.
    """

    def __init__(self, session) -> None:
        self.session = session

    @pytest.fixture(scope="session")
    def pysetl_spark(self):
        return self.session


def run_pytest(args: list[str]) -> tuple[str, int]:
    from pyspark.sql import SparkSession

    # The suite's session: this thread's active one, else the process's
    # (getOrCreate returns the running session; a None here would let the
    # plugin start its own session and stop it, the suite's with it).
    shared = SharedSpark(
        SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    )
    # As in our own pyproject: anyio's plugin (a dependency of the dashboard's
    # stack) imports a name pytest 9 deprecates; randomly would reorder the
    # dots; the cache would write a .pytest_cache into the reader's folder.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = pytest.main(
            [
                *args,
                "-p",
                "pysetl.testing.plugin",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:anyio",
            ],
            plugins=[shared],
        )
    return printed.getvalue(), int(code)


def run_command(command: str) -> tuple[str, int]:
    """Run a ``pysetl`` or ``python -m pytest`` command of a page in-process."""
    from pysetl.cli.__main__ import app

    argv = shlex.split(command)
    if argv[:3] == ["python", "-m", "pytest"]:
        return run_pytest(argv[3:])
    assert argv[0] == "pysetl", f"tutorials run pysetl and pytest, not {command!r}"
    # A wide terminal: rich wraps tables at the console's width.
    result = CliRunner().invoke(app, argv[1:], env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.output, result.exit_code


def write_file(block: Block, folder: Path) -> None:
    """Write the file of ``block``, or add to it when titled ``PATH (continued)``."""
    assert block.title is not None
    name = block.title.removesuffix(CONTINUED)
    path = folder / name
    if block.title.endswith(CONTINUED):
        assert path.is_file(), f"{block.title!r} continues no file written before"
        with path.open("a", encoding="utf-8") as out:
            out.write(block.body)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.body, encoding="utf-8")


def write_files(page: Path, folder: Path) -> None:
    """Only the files ``page`` has the reader write (where a later page starts)."""
    for block in blocks(page):
        if block.title and block.title != OUTPUT:
            write_file(block, folder)


def run_page(page: Path, folder: Path, monkeypatch) -> dict[str, object]:
    """Run every block of ``page`` in ``folder``; the Python namespace."""
    name = f"tutorial_{page.stem.replace('-', '_')}"
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    last_printed: str | None = None
    for block in blocks(page):
        if block.title == OUTPUT:
            assert last_printed is not None, "an Output block follows no python block"
            assert_printed(block.body, last_printed, folder, "a python block")
            last_printed = None
            continue
        last_printed = None
        if block.title:
            write_file(block, folder)
        elif block.lang == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(block.body, name, "exec"), module.__dict__)  # noqa: S102
            last_printed = printed.getvalue()
            sys.stdout.write(last_printed)
        elif block.lang == "console":
            for command, expected, code in commands(block.body):
                output, exit_code = run_command(command)
                assert exit_code == code, f"{command!r} exited {exit_code}:\n{output}"
                assert_printed(expected, output, folder, repr(command))
    return module.__dict__


@pytest.fixture
def project(monkeypatch):
    """An empty folder as the reader's project, recording runs as users do.

    The reader's modules are imported from it; they, ``sys.path``, the
    environment and the default hook manager are put back afterwards.

    Not under ``tmp_path``: ``pysetl runs list`` titles its table with the
    history's path, and rich folds a title longer than the table, mid-word.
    ``tmp_path``'s length grows with pytest's numbering and with xdist's
    worker folder (``popen-gw0``); this one's length is fixed.
    """
    base = Path(tempfile.mkdtemp(prefix="pysetl-tut-"))
    folder = base / "shop"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYSETL_OBSERVE", "1")  # the suite's default is off
    for variable in ("PYSETL_HISTORY_URL", "PYSETL_ENV"):
        monkeypatch.delenv(variable, raising=False)
    modules, environ = set(sys.modules), dict(os.environ)
    yield folder
    for module in set(sys.modules) - modules:
        if getattr(sys.modules[module], "__file__", "") and str(folder) in str(
            sys.modules[module].__file__
        ):
            del sys.modules[module]
    os.environ.clear()
    os.environ.update(environ)

    from pysetl.testing import reset_state

    # Before the folder goes: the default runtime writes its history there.
    reset_state()
    shutil.rmtree(base, ignore_errors=True)


TESTED = [
    "configs-and-secrets.md",
    "first-pipeline.md",
    "observing-runs.md",
    "testing-factories.md",
]


def test_every_tutorial_is_tested():
    pages = sorted(p.name for p in TUTORIALS.glob("*.md") if p.name != "index.md")
    assert pages == sorted(TESTED), "add a test for each tutorial page"


def test_first_pipeline(spark, project, monkeypatch):
    namespace = run_page(TUTORIALS / "first-pipeline.md", project, monkeypatch)
    assert (project / ".pysetl" / "history.db").exists()
    assert (project / "output" / "daily_totals").is_dir()
    assert "run" in namespace


def test_configs_and_secrets(spark, project, monkeypatch):
    write_files(TUTORIALS / "first-pipeline.md", project)
    namespace = run_page(TUTORIALS / "configs-and-secrets.md", project, monkeypatch)
    assert (project / "output" / "daily_totals").is_dir()
    # The secret was read, and is masked from then on.
    from pysetl.utils.redaction import default_redactor

    masked = default_redactor().redact_text("pw-only-in-the-environment")
    assert "pw-only" not in masked
    assert namespace["password"].is_resolved


def test_testing_factories(spark, project, monkeypatch):
    write_files(TUTORIALS / "first-pipeline.md", project)
    run_page(TUTORIALS / "testing-factories.md", project, monkeypatch)
    assert (project / "tests" / "test_factories.py").is_file()


def test_observing_runs(spark, project, monkeypatch):
    write_files(TUTORIALS / "first-pipeline.md", project)
    namespace = run_page(TUTORIALS / "observing-runs.md", project, monkeypatch)
    assert namespace["server"].should_exit
