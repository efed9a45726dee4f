"""Output sampling: a few rows of each factory's output, redacted, for debugging.

``OutputSampler`` is an observer (``@hook_impl``, delivered inline in the
factory's thread) that takes the first ``rows`` rows of what each factory
returned and hands them on, masked by the project's one redaction point
(``pysetl.utils.redaction``: columns named like secrets, registered secret
values, tokens in text):

* a Spark DataFrame: ``limit(rows).collect()``, **one small Spark job** per
  factory, in its own job group (``pysetl-sample:<run_id>:<factory>``), so
  the factory's figures do not count it;
* a list, tuple or set: its first items; a dict: its first items as
  ``{"key": ..., "value": ...}`` rows;
* anything else is not sampled.

Each sample is logged as one INFO line on the ``pysetl.sample`` logger,
tagged with its run and factory (so the run history keeps it with the run's
log lines), and given to ``sink`` (the runtime records it as a
``factory_sample`` event: ``pysetl runs show`` and the dashboard's run page
show it).

Sampling is off unless asked for (``pysetl run --sample N``, or
``debug.sample_rows`` in the project config under debug mode): without
this observer registered, no row is read and no Spark job is started.

Added in 0.6.
"""

from __future__ import annotations

import json
import logging
from itertools import islice
from typing import TYPE_CHECKING, Any

from pysetl.utils.redaction import redact_text, redact_value
from pysetl.workflow import spark as _spark
from pysetl.workflow._checkpoint_values import is_dataframe
from pysetl.workflow._hook_specs import hook_impl

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SAMPLE_LOGGER", "OutputSampler", "sample_rows"]

SAMPLE_LOGGER = "pysetl.sample"
"""The logger of the sample lines."""
MAX_SAMPLE_ROWS = 1000
_MAX_TEXT = 4000  # a sample line is for eyes: long cells are cut


def _plain(value: Any) -> Any:
    """A row's value as JSON-ready data (nested rows, dates, decimals as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def sample_rows(
    output: Any, rows: int, *, job_group: tuple[str, str] | None = None
) -> list[Any] | None:
    """The first ``rows`` rows of ``output`` as JSON-ready data; ``None``: not sampled.

    Args:
        output: What a factory returned.
        rows: How many rows at most.
        job_group: The Spark job group id and description of the sample's job.
    """
    if is_dataframe(output):
        return _frame_rows(output, rows, job_group)
    if isinstance(output, dict):
        items = islice(output.items(), rows)
        return [{"key": _plain(k), "value": _plain(v)} for k, v in items]
    if isinstance(output, list | tuple | set | frozenset):
        return [_plain(v) for v in islice(output, rows)]
    return None


def _frame_rows(
    frame: Any, rows: int, job_group: tuple[str, str] | None
) -> list[dict[str, Any]]:
    sc = None
    if job_group is not None:
        try:
            sc = frame.sparkSession.sparkContext
        except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext to label
            sc = None
    if sc is not None and job_group is not None:
        sc.setJobGroup(*job_group)
    try:
        found = frame.limit(rows).collect()
    finally:
        if sc is not None:
            _spark.clear_job_group(sc)
    return [_plain(row.asDict(recursive=True)) for row in found]


class OutputSampler:
    """Samples a few rows of every factory's output (see the module docstring).

    Args:
        rows: Rows per factory (1 to 1000).
        sink: Called with ``run_id``, ``stage_id``, ``factory_name`` and
            ``rows`` (redacted) for each sample.
        logger: Where the sample lines go; default: ``pysetl.sample``.

    Raises:
        ValueError: ``rows`` is not between 1 and 1000.

    Attributes:
        pysetl_inline: Delivered in the factory's thread (it reads the output).
    """

    pysetl_inline = True

    def __init__(
        self,
        rows: int = 5,
        *,
        sink: Callable[..., None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """Sample ``rows`` rows per factory."""
        if isinstance(rows, bool) or not 1 <= rows <= MAX_SAMPLE_ROWS:
            msg = f"rows={rows!r}: sample between 1 and {MAX_SAMPLE_ROWS} rows"
            raise ValueError(msg)
        self.rows = rows
        self.sink = sink
        self.logger = logger or logging.getLogger(SAMPLE_LOGGER)

    @hook_impl
    def after_factory_run(
        self, *, run_id: str, stage_id: int, factory_name: str, output: Any
    ) -> None:
        """Sample ``output``, log it, and hand it to the sink."""
        group = (
            f"pysetl-sample:{run_id}:{factory_name}",
            f"pysetl sample / {factory_name} / {run_id}",
        )
        rows = sample_rows(output, self.rows, job_group=group)
        if rows is None:
            return
        rows = redact_value(rows)
        text = redact_text(json.dumps(rows, ensure_ascii=False))
        if len(text) > _MAX_TEXT:
            text = text[:_MAX_TEXT] + " ..."
        self.logger.info(
            "sample of %s (%d rows): %s",
            factory_name,
            len(rows),
            text,
            extra={"run_id": run_id, "factory": factory_name},
        )
        if self.sink is not None:
            self.sink(
                run_id=run_id, stage_id=stage_id, factory_name=factory_name, rows=rows
            )
