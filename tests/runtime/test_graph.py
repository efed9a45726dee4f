"""``draw_project``: the drawing ``pysetl graph`` prints, called from Python."""

from __future__ import annotations

import pytest
from tests.shop_project import make_project

from pysetl.errors import PipelineError
from pysetl.runtime.graph import FORMATS, draw_project


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    root, _ = make_project(tmp_path / "shop")
    monkeypatch.chdir(root)
    return root


class TestDrawProject:
    def test_the_default_pipeline_in_mermaid(self, shop):
        text = draw_project()
        assert text.startswith("flowchart LR\n")
        assert not (shop / ".pysetl").exists()  # the history is only read

    def test_every_format(self, shop):
        for fmt in FORMATS:
            assert draw_project("orders", fmt=fmt, project_dir=shop, state=False)

    def test_a_history_that_cannot_be_read_only_loses_the_state(self, shop):
        bad = shop / "not-a-history.db"
        bad.write_bytes(b"not sqlite" * 100)
        reasons = []
        text = draw_project("orders", history_url=str(bad), on_no_state=reasons.append)
        assert text.startswith("flowchart LR\n")
        assert len(reasons) == 1

    def test_a_pipeline_that_cannot_be_built(self, shop):
        with pytest.raises(PipelineError, match="cannot be built"):
            draw_project("broken", state=False)
