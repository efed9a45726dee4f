"""Spark progress of the factories running now, sampled into the run history.

Added in 0.3.
"""

from __future__ import annotations

__all__ = ["SPARK_PROGRESS_EVENT"]

SPARK_PROGRESS_EVENT = "spark_progress"
"""The event that holds a run's last Spark progress sample (``{"jobs": [...]}``)."""
