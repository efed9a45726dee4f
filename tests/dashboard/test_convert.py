"""Stored error dicts of any shape become ErrorOut payloads, secrets masked."""
# ruff: noqa: S105 - fake secrets planted to check that they are masked

from __future__ import annotations

from pysetl.dashboard._convert import clean, error_out


def test_a_sparse_or_odd_error_dict_still_fits():
    out = error_out({"stage": "3", "attempt": True, "phase": None, "extra": [1]})
    assert out == {
        "type": "Error",
        "message": "",
        "hint": None,
        "factory": None,
        "stage": 3,
        "phase": None,
        "attempt": None,
        "error_class": None,
        "context": {"extra": [1]},
    }
    assert error_out(None) is None
    assert error_out({}) is None
    assert error_out({"stage": "x"})["stage"] is None


def test_clean_masks_secret_keys_and_values_in_keys():
    data = clean({"password": "hunter2", "nested": {"token": "abc", "ok": "fine"}})
    assert data["password"] != "hunter2"
    assert data["nested"]["token"] != "abc"
    assert data["nested"]["ok"] == "fine"
