"""The dashboard starts without a JVM: nothing it imports loads pyspark."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pysetl.dashboard


def test_importing_and_building_the_app_never_loads_pyspark():
    code = (
        "import sys\n"
        "from pysetl.dashboard import create_app\n"
        "from pysetl.monitoring.history import InMemoryRunHistory\n"
        "import pysetl.cli.ui_cmd\n"
        "create_app(InMemoryRunHistory())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))\n"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter and our code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


STATIC = Path(pysetl.dashboard.__file__).with_name("static")


def test_the_page_references_only_its_shipped_files():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    files = [r for r in refs if r.startswith("static/")]
    assert files, refs
    for ref in files:  # every asset the page loads ships in the package
        assert (STATIC / ref.removeprefix("static/")).is_file(), ref
    others = set(refs) - set(files)
    assert others <= {
        "#/",
        "#/pipelines",
        "#/errors",
        "#/alerts",
        "#/project",
        "#/api",
        "data:,",
        "openapi.json",
    }


def test_no_cdn_and_nothing_the_csp_would_block():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    # no inline script or style: every <script> has a src and is empty
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"<script[^>]*>\s*[^<\s]", page) == []
    assert "<style" not in page
    assert re.search(r"\sstyle=", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (path.name, urls)
        if path.suffix == ".js":  # data goes in with textContent/createElement
            for sink in (
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                'setAttribute("style"',
            ):
                assert sink not in text, (path.name, sink)
