"""``RunReport``: the summary ``pysetl run`` prints, computed by the runtime."""

from __future__ import annotations

from pysetl.runtime.project import FactoryLine, RunReport


class TestRunReport:
    def test_rows_in_all_count_what_was_counted(self):
        report = RunReport(
            "shop",
            "01R",
            "succeeded",
            3.0,
            factories=(
                FactoryLine("Read", 0, "succeeded", 1.0, rows_in=10),
                FactoryLine("Count", 1, "succeeded", 2.0, rows_in=4, rows_out=2),
                FactoryLine("Other", 1, "succeeded", 0.5),
            ),
        )
        assert (report.rows_read, report.rows_written) == (14, 2)
        assert [line.name for line in report.slowest(2)] == ["Count", "Read"]

    def test_nothing_counted_is_zero(self):
        report = RunReport("shop", None, "failed", 0.1)
        assert (report.rows_read, report.rows_written) == (0, 0)
