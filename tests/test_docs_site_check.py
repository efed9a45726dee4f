"""scripts/check_docs_site.py fails on what the strict mkdocs build lets through.

The two known problems of the API reference (a ``>>>`` doctest rendered as
nested block quotes, ``Deliverable[int](42, delivery_id="n")`` rendered as a
link) are reproduced twice: on crafted HTML, and in a small mkdocs site built
with the mkdocstrings options of our own mkdocs.yml, whose strict build passes.
Spark-free.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_docs_site.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("check_docs_site", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


checker = load_checker()


def write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


def kinds(problems) -> list[tuple[str, str, str]]:
    return sorted((p.kind, p.page, p.near) for p in problems)


class TestCraftedHtml:
    def test_a_clean_site_has_no_problem(self, tmp_path):
        write(
            tmp_path / "index.html",
            '<h2 id="top">Top</h2><p><a href="guide/#usage">usage</a>'
            ' <a href="https://example.org/x">out</a> <a href="#top">top</a></p>'
            "<pre><code>&gt;&gt;&gt; 1 + 1\n2</code></pre>"
            "<blockquote><p>A real quotation.</p></blockquote>",
        )
        write(tmp_path / "guide" / "index.html", '<h2 id="usage">Usage</h2>')
        assert checker.check_site(tmp_path) == []

    def test_the_doctest_rendered_as_nested_block_quotes_is_found(self, tmp_path):
        # What Markdown makes of ">>> builder = ...": the prompts are gone.
        write(
            tmp_path / "reference" / "index.html",
            '<h3 id="pysetl.PySetl">PySetl</h3><details class="example">'
            "<blockquote><blockquote><blockquote><p>builder = PySetl.builder()</p>"
            "</blockquote></blockquote></blockquote></details>",
        )
        problems = checker.check_site(tmp_path)
        assert kinds(problems)[0] == (
            "doctest-blockquote",
            "reference/index.html",
            "pysetl.PySetl",
        )
        assert "builder = PySetl.builder()" in str(problems[0])

    def test_the_type_argument_rendered_as_a_link_is_found(self, tmp_path):
        write(
            tmp_path / "reference" / "index.html",
            '<h3 id="pysetl.workflow.Deliverable">Deliverable</h3>'
            '<p>Deliverable<a href="42, delivery_id=" title="n">int</a></p>',
        )
        (problem,) = checker.check_site(tmp_path)
        assert (problem.kind, problem.near) == (
            "broken-link",
            "pysetl.workflow.Deliverable",
        )
        assert "[int]('42, delivery_id='" in problem.detail

    def test_prompts_in_prose_missing_anchors_and_rest_markup_are_found(self, tmp_path):
        write(
            tmp_path / "index.html",
            '<h2 id="a">A</h2><p>&gt;&gt;&gt; x = 1</p>'
            '<p><a href="page/#nowhere">gone</a> <a href="../../up.html">up</a></p>'
            "<p>Usage::</p><p>See :func:<code>load_config</code>, not"
            " <code>:func:</code> nor a:b:<code>c</code>.</p>",
        )
        write(tmp_path / "page" / "index.html", '<h2 id="here">Here</h2>')
        problems = checker.check_site(tmp_path)
        assert kinds(problems) == [
            ("broken-link", "index.html", "a"),
            ("broken-link", "index.html", "a"),
            ("doctest-prose", "index.html", "a"),
            ("rest-literal", "index.html", "a"),
            ("rest-role", "index.html", "a"),
        ]
        details = " ".join(p.detail for p in problems)
        assert "no element with id 'nowhere' on page/index.html" in details
        assert "'../../up.html': no such page" in details

    def test_the_command_exits_1_with_a_hint_and_2_without_a_site(
        self, tmp_path, capsys
    ):
        write(tmp_path / "site" / "index.html", "<p>&gt;&gt;&gt; x</p>")
        assert checker.main([str(tmp_path / "site")]) == 1
        err = capsys.readouterr().err
        assert "doctest-prose" in err
        assert "hint: write doctests under an `Examples:` section" in err
        (tmp_path / "empty").mkdir()
        assert checker.main([str(tmp_path / "empty")]) == 2
        assert "build the site first" in capsys.readouterr().err


BAD_AND_GOOD = '''
"""Two functions with the same example, written two ways."""


def bad(n: int) -> int:
    """Documented the way the reference used to be.

    Example:
        >>> pipeline.set_input_from_deliverable(Deliverable[int](42, delivery_id="n"))
    """
    return n


def good(n: int) -> int:
    """Documented the way it is now.

    Examples:
        >>> pipeline.set_input_from_deliverable(Deliverable[int](42, delivery_id="n"))
    """
    return n
'''


def test_a_strict_mkdocs_build_passes_and_the_checker_fails_it(tmp_path):
    """Our mkdocs.yml's mkdocstrings options over a bad and a good docstring."""
    pytest.importorskip("mkdocstrings_handlers.python", reason="docs dependency group")
    yaml = pytest.importorskip("yaml")
    ours = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    (handler,) = [
        p for p in ours["plugins"] if isinstance(p, dict) and "mkdocstrings" in p
    ]
    options = handler["mkdocstrings"]["handlers"]["python"]["options"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "sample_api.py").write_text(BAD_AND_GOOD, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# API\n\n::: sample_api.bad\n\n::: sample_api.good\n", encoding="utf-8"
    )
    config = {
        "site_name": "check",
        "strict": True,
        "theme": {"name": "material"},
        "markdown_extensions": ours["markdown_extensions"],
        "plugins": [
            {
                "mkdocstrings": {
                    "handlers": {"python": {"paths": ["src"], "options": options}}
                }
            }
        ],
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", "site"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert build.returncode == 0, build.stderr
    problems = checker.check_site(tmp_path / "site")
    assert kinds(problems) == [
        ("broken-link", "index.html", "sample_api.bad"),
        ("doctest-blockquote", "index.html", "sample_api.bad"),
    ]
    # The good one renders as Python code, its prompt kept.
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    good = page[page.index('id="sample_api.good"') :]
    assert '<span class="gp">&gt;&gt;&gt; </span>' in good
