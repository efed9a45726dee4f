"""Output samples without Spark: what is sampled, redacted, logged and handed on."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from pysetl.utils.redaction import MASK
from pysetl.workflow._sample import OutputSampler, sample_rows


class TestSampleRows:
    def test_a_sequence_gives_its_first_items(self) -> None:
        assert sample_rows([1, 2, 3], 2) == [1, 2]
        assert sample_rows((["a", dt.date(2026, 12, 4)],), 5) == [["a", "2026-12-04"]]
        assert sample_rows({7}, 5) == [7]

    def test_a_mapping_gives_key_value_rows(self) -> None:
        rows = sample_rows({"a": {"b": (1, 2)}, "c": 3}, 1)
        assert rows == [{"key": "a", "value": {"b": [1, 2]}}]

    def test_a_single_value_is_not_sampled(self) -> None:
        assert sample_rows(42, 5) is None
        assert sample_rows("text", 5) is None


class TestOutputSampler:
    def test_samples_are_redacted_logged_and_handed_on(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        got: list[dict[str, Any]] = []
        sampler = OutputSampler(2, sink=lambda **kw: got.append(kw))
        output = [{"user": "ada", "api_key": "k-123456789"}, {"user": "alan"}, {}]
        with caplog.at_level(logging.INFO, logger="pysetl.sample"):
            sampler.after_factory_run(
                run_id="R1", stage_id=3, factory_name="Users", output=output
            )
            sampler.after_factory_run(
                run_id="R1", stage_id=3, factory_name="Count", output=3
            )
        assert got == [
            {
                "run_id": "R1",
                "stage_id": 3,
                "factory_name": "Users",
                "rows": [{"user": "ada", "api_key": MASK}, {"user": "alan"}],
            }
        ]
        [record] = caplog.records
        assert record.getMessage().startswith("sample of Users (2 rows): ")
        assert "k-123456789" not in record.getMessage()
        assert (record.run_id, record.factory) == ("R1", "Users")  # type: ignore[attr-defined]

    def test_a_long_sample_line_is_cut(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.INFO, logger="pysetl.sample"):
            OutputSampler(3).after_factory_run(
                run_id="R", stage_id=0, factory_name="Big", output=["x" * 5000]
            )
        assert caplog.records[0].getMessage().endswith(" ...")
        assert len(caplog.records[0].getMessage()) < 4100

    @pytest.mark.parametrize("rows", [0, 1001, True])
    def test_the_row_count_is_checked(self, rows: Any) -> None:
        with pytest.raises(ValueError, match="between 1 and 1000"):
            OutputSampler(rows)
