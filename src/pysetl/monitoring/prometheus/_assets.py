"""The Grafana dashboards and Prometheus alerting rules shipped with pysetl.

They are package data (``grafana/*.json``, ``rules/*.yml``); copy them where
Grafana provisions dashboards and where Prometheus loads rules::

    from pysetl.monitoring.prometheus import alert_rules, dashboards

    for asset in [*dashboards(), *alert_rules()]:
        (target / asset.name).write_bytes(asset.read_bytes())

Added in 0.5.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = ["alert_rules", "dashboards"]


def _files(folder: str, suffix: str) -> list[Traversable]:
    root = resources.files("pysetl.monitoring.prometheus") / folder
    return sorted(
        (f for f in root.iterdir() if f.name.endswith(suffix)), key=lambda f: f.name
    )


def dashboards() -> list[Traversable]:
    """The Grafana dashboards (JSON): overview, one pipeline, one factory."""
    return _files("grafana", ".json")


def alert_rules() -> list[Traversable]:
    """The Prometheus alerting-rule files (YAML)."""
    return _files("rules", ".yml")
