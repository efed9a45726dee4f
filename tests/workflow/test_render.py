"""Drawing a pipeline: Mermaid, Graphviz dot (Debian's ``dot`` reads it), SVG, HTML."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from typing_extensions import Self

from pysetl.workflow import (
    Deliverable,
    Delivery,
    Factory,
    HookManager,
    Pipeline,
    Stage,
    render,
)
from pysetl.workflow.inspector import Inspector
from pysetl.workflow.view import LastRun, PipelineView, describe_pipeline

PAYLOAD = '<script>alert("x")</script> & "quotes" | pipes'


class _Plain:
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self


class Source(_Plain, Factory[list[int]]):
    """Gives numbers."""

    def get(self) -> list[int]:
        return [1]


class Double(_Plain, Factory[list[int]]):
    numbers = Delivery[list[int]](producer=Source)

    def get(self) -> list[int]:
        return [2]


class Sum(_Plain, Factory[int]):
    numbers = Delivery[list[int]](producer=Double)
    offset = Delivery[int](delivery_id="offset")

    def get(self) -> int:
        return 3


class _Evil(_Plain, Factory[int]):
    def get(self) -> int:
        return 1


# A class named like a payload: every format must show it as text.
Evil = type(PAYLOAD, (_Evil,), {"__doc__": PAYLOAD})


def _view() -> PipelineView:
    pipeline = (
        Pipeline(name='shop "daily"', hooks=HookManager())
        .set_input_from_deliverable(Deliverable[int](1, delivery_id="offset"))
        .add_stage_from_type(Source)
        .add_stage(Stage().add_factory_from_type(Double).add_factory_from_type(Evil))
        .add_stage_from_type(Sum)
    )
    view = describe_pipeline(pipeline)
    states = {"Source": "succeeded", "Double": "failed"}
    factories = tuple(
        dataclasses.replace(
            f, last_run=LastRun(states[f.name], "run-1", 1.0, 0.5, "boom")
        )
        if f.name in states
        else f
        for f in view.factories
    )
    return dataclasses.replace(view, factories=factories)


class TestMermaid:
    def test_a_flowchart_with_a_subgraph_per_stage_and_every_edge(self):
        text = render.to_mermaid(_view())
        lines = text.splitlines()
        assert lines[0] == "flowchart LR"
        assert [
            line.strip() for line in lines if line.strip().startswith("subgraph")
        ] == [
            'subgraph s0["Stage 0"]',
            'subgraph s1["Stage 1"]',
            'subgraph s2["Stage 2"]',
        ]
        assert sum(1 for line in lines if line.strip() == "end") == 3
        defined = set(re.findall(r"^\s+([fi]\d+)[\[(]", text, flags=re.MULTILINE))
        edges = re.findall(
            r"^\s+([fi]\d+) -->\|\"[^\"]*\"\| ([fi]\d+)$", text, re.MULTILINE
        )
        assert len(edges) == 3
        assert {n for edge in edges for n in edge} <= defined
        assert defined == {"i0", "f0", "f1", "f2", "f3"}

    def test_labels_carry_no_raw_special_characters(self):
        text = render.to_mermaid(_view())
        label = next(line for line in text.splitlines() if "script" in line)
        assert "<script" not in label
        assert "#lt;script#gt;" in label
        inner = label.split('["', 1)[1].rsplit('"]', 1)[0]
        assert '"' not in inner
        assert "|" not in inner

    def test_states_become_classes(self):
        text = render.to_mermaid(_view())
        assert "classDef succeeded" in text
        assert "class f0 succeeded" in text
        assert "class f1 failed" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="apt-get install graphviz")
class TestDot:
    def test_graphviz_renders_it(self, tmp_path):
        source = tmp_path / "shop.dot"
        source.write_text(render.to_dot(_view()), encoding="utf-8")
        result = subprocess.run(  # noqa: S603 - Debian's dot on our own file
            [shutil.which("dot") or "dot", "-Tsvg", str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        svg = ET.fromstring(  # noqa: S314 - our own output
            result.stdout
        )
        texts = "".join(
            t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")
        )
        assert PAYLOAD in texts  # the name survived quoting, as text
        assert "Stage 2" in texts
        edges = [
            g
            for g in svg.iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "edge"
        ]
        assert len(edges) == 3

    def test_clusters_per_stage(self):
        text = render.to_dot(_view())
        assert text.count("subgraph cluster_s") == 3
        assert 'digraph "shop \\"daily\\"" {' in text


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


class TestHtml:
    def test_self_contained_and_escaped(self):
        page = render.to_html(_view())
        parser = _Collect()
        parser.feed(page)
        assert "script" not in parser.tags
        assert PAYLOAD in "".join(parser.text)
        assert "http" not in page.replace("http://www.w3.org/2000/svg", "")
        assert page.count("<details") == 4

    def test_svg_is_well_formed_and_coloured_by_state(self):
        svg = ET.fromstring(  # noqa: S314 - our own output
            render.to_svg(_view())
        )
        groups = {
            g.get("data-name"): g.get("data-status")
            for g in svg.iter("{http://www.w3.org/2000/svg}g")
        }
        assert groups["Source"] == "succeeded"
        assert groups["Double"] == "failed"
        assert groups["Sum"] is None
        assert groups["input:0"] is None
        assert (
            len(
                [
                    p
                    for p in svg.iter("{http://www.w3.org/2000/svg}path")
                    if p.get("class") == "edge"
                ]
            )
            == 3
        )

    def test_several_pipelines_and_a_broken_one(self):
        broken = PipelineView("broken", doc="Fails.", error="RuntimeError: <no>")
        page = render.to_html([_view(), broken], title="shop")
        assert "<h1>shop</h1>" in page
        assert "RuntimeError: &lt;no&gt;" in page


class TestText:
    def test_lists_stages_factories_and_sources(self):
        text = render.to_text(_view())
        assert "  stage 0\n    Source -> list[int] [succeeded]" in text
        assert "numbers: list[int] from Double" in text
        assert "offset: int from input offset" in text

    def test_an_unbuildable_pipeline_and_problems(self):
        text = render.to_text(PipelineView("x", problems=("p1",), error="E: no"))
        assert "cannot be described: E: no" in text
        assert "problem: p1" in text


class TestNotebookDisplay:
    def test_pipeline_and_inspector_show_html_mermaid_and_text(self):
        pipeline = Pipeline(hooks=HookManager()).add_stage_from_type(Source)
        pipeline.add_stage_from_type(Double)
        for shown in (pipeline, Inspector(pipeline)):
            bundle = shown._repr_mimebundle_()
            assert set(bundle) == {"text/html", "text/vnd.mermaid", "text/plain"}
            assert bundle["text/vnd.mermaid"].startswith("flowchart LR")
            assert "<svg" in shown._repr_html_()
            assert "Double -> list[int]" in bundle["text/plain"]
