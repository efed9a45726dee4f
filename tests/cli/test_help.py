"""``--help`` shows flags as flags, and options with their value type."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app


def help_of(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


class TestHelp:
    @pytest.mark.parametrize(
        ("command", "flag"),
        [
            ((), "--debug"),
            ((), "--version"),
            ((), "--help"),
            (("runs", "prune"), "--yes"),
        ],
    )
    def test_a_flag_has_no_value_type(self, command, flag):
        line = next(
            ln for ln in help_of(*command).splitlines() if re.search(rf"{flag}\b", ln)
        )
        assert "<bool>" not in line

    def test_an_option_keeps_its_value_type(self):
        line = next(ln for ln in help_of().splitlines() if "--history" in ln)
        assert "<str>" in line
