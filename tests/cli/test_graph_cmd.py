"""``pysetl graph``: a pipeline as Mermaid, dot, HTML or text, from the code."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from tests.shop_project import DOC_PAYLOAD, make_project
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.runtime.project import run_project


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """The sample project as the working directory, its history inside it."""
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    root, _ = make_project(tmp_path / "shop")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def runner():
    return CliRunner()


class TestGraph:
    def test_mermaid_of_the_default_pipeline_by_default(self, shop, runner):
        result = runner.invoke(app, ["graph"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("flowchart LR\n")
        assert 'subgraph s2["Stage 2"]' in result.output
        assert "CountOrders" in result.output
        assert not (shop / ".pysetl").exists()  # read-only: no history made

    def test_dot_to_a_file_that_graphviz_renders(self, shop, runner, tmp_path):
        out = tmp_path / "orders.dot"
        result = runner.invoke(
            app, ["graph", "orders", "--format", "dot", "--output", str(out)]
        )
        assert result.exit_code == 0, result.output
        text = out.read_text()
        assert text.startswith('digraph "orders" {')
        dot = shutil.which("dot")
        if dot is not None:
            done = subprocess.run(  # noqa: S603 - Debian's dot on our own file
                [dot, "-Tsvg", str(out)], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stderr

    def test_html_of_every_pipeline_escaped(self, shop, runner):
        result = runner.invoke(app, ["graph", "--format", "HTML"])
        assert result.exit_code == 0, result.output
        page = result.output
        assert page.startswith("<!doctype html>")
        for name in ("orders", "reports", "broken"):
            assert f'data-pipeline="{name}"' in page
        assert DOC_PAYLOAD not in page
        assert "&lt;img src=x" in page
        assert "RuntimeError: the catalog is missing" in page

    def test_the_last_run_colours_the_factories(self, shop, runner):
        run_project("orders", project_dir=shop, params={"fail": "1"})
        result = runner.invoke(app, ["graph", "orders", "-f", "text"])
        assert result.exit_code == 0, result.output
        assert "CountOrders -> Summary [failed]" in result.output
        assert "LoadOrders -> list[dict] [succeeded]" in result.output
        bare = runner.invoke(app, ["graph", "orders", "-f", "text", "--no-state"])
        assert "[failed]" not in bare.output

    def test_bad_input_says_what_to_do(self, shop, runner):
        wrong = runner.invoke(app, ["graph", "--format", "png"])
        assert wrong.exit_code == 2
        assert "'png' is not one of mermaid, dot, html, text" in wrong.output
        unknown = runner.invoke(app, ["graph", "nope"])
        assert unknown.exit_code != 0
        assert "No pipeline 'nope'" in unknown.output
        broken = runner.invoke(app, ["graph", "broken"])
        assert broken.exit_code != 0
        assert "cannot be built: RuntimeError: the catalog is missing" in broken.output
