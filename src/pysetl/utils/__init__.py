"""Helpers shared by every layer: type names, builders, benchmarks, mixins."""

from __future__ import annotations

from pysetl.utils._benchmark import BenchmarkModifier, BenchmarkResult
from pysetl.utils._builder import Builder
from pysetl.utils._pretty import pretty

__all__ = ["BenchmarkModifier", "BenchmarkResult", "Builder", "pretty"]
