"""The process-wide state lives in ``pysetl._state``, and one reset puts it back."""

from __future__ import annotations

import dataclasses
import logging

import pytest

import pysetl._state as state_module
from pysetl._state import STATE, ProcessState, reset_state
from pysetl.logs import configure_logging, debug_enabled
from pysetl.settings import settings
from pysetl.storage.registry import default_registry
from pysetl.testing import reset_state as exported_reset_state
from pysetl.utils import redaction
from pysetl.utils.dataset_access import add_access_listener
from pysetl.workflow.hooks import default_hook_manager

# Left to their owners by reset_state (see the module docstring): live
# objects (sessions, their log captures, the writer thread) and exit facts.
NOT_RESET = {
    "shared_writer",
    "writer_closes_at_exit",
    "exiting",
    "open_sessions",
    "log_captures",
}


def _touch_every_piece() -> None:
    """Use each piece of state the way library code does, so it is built."""
    settings()
    redaction.register_secret("canary-state-secret")
    add_access_listener(lambda *_: None)
    configure_logging("json", "INFO", debug=True, levels={"py4j": "ERROR"})
    default_registry().register("mystore", object)  # type: ignore[arg-type]
    default_hook_manager()


class TestResetState:
    def test_every_piece_is_back_to_its_import_time_value(self, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "0")
        fresh = ProcessState()
        _touch_every_piece()
        touched = {
            f.name
            for f in dataclasses.fields(ProcessState)
            if getattr(STATE, f.name) != getattr(fresh, f.name)
        }
        assert touched >= {f.name for f in dataclasses.fields(ProcessState)} - (
            NOT_RESET | {"runtimes"}  # no runtime: PYSETL_OBSERVE=0
        )
        reset_state()
        for f in dataclasses.fields(ProcessState):
            if f.name not in NOT_RESET:
                assert getattr(STATE, f.name) == getattr(fresh, f.name), f.name

    def test_what_was_built_is_built_afresh(self, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "0")
        _touch_every_piece()
        manager, registry = default_hook_manager(), default_registry()
        reset_state()
        assert default_hook_manager() is not manager
        assert default_registry() is not registry
        assert "mystore" not in default_registry()
        assert redaction.redact_text("canary-state-secret") == "canary-state-secret"
        assert not debug_enabled()

    def test_logging_is_undone(self):
        root = logging.getLogger()
        before = list(root.handlers)
        py4j = logging.getLogger("py4j").level
        configure_logging("json", "INFO", levels={"py4j": "ERROR"})
        assert len(root.handlers) == len(before) + 1
        reset_state()
        assert root.handlers == before
        assert logging.getLogger("py4j").level == py4j

    def test_the_default_manager_is_closed(self, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "0")
        closed: list[bool] = []
        manager = default_hook_manager()
        monkeypatch.setattr(manager, "close", lambda: closed.append(True))
        reset_state()
        assert closed == [True]

    def test_is_idempotent(self):
        reset_state()
        reset_state()
        assert STATE.hook_manager is None
        assert STATE.redactor is None

    def test_is_exported_for_users_tests(self):
        assert exported_reset_state is reset_state


class TestOnePlace:
    @pytest.mark.parametrize(
        "field", [f.name for f in dataclasses.fields(ProcessState)]
    )
    def test_every_field_is_in_the_docstring_table(self, field):
        """A new piece of state is documented with its owner and import-time value."""
        assert f"``{field}``" in (state_module.__doc__ or "")
