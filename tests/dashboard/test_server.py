"""``serve``: the extra and the loopback rule, checked before anything listens."""

from __future__ import annotations

import sys

import pytest

from pysetl.dashboard.server import serve
from pysetl.errors import DashboardError
from pysetl.monitoring.history import InMemoryRunHistory


def test_without_uvicorn_serve_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(DashboardError, match="'uvicorn' is missing") as info:
        serve(InMemoryRunHistory())
    assert info.value.hint == "pip install 'pysetl[dashboard]'"


def test_a_public_address_without_a_token_is_refused_before_importing():
    with pytest.raises(DashboardError, match="without a token"):
        serve(InMemoryRunHistory(), host="0.0.0.0")  # noqa: S104
