"""Pure-Python workflows never load pyspark or pysetl.storage."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
import pysetl
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline

class Double(Factory[int]):
    n = Delivery[int]()
    def read(self):
        self.v = self.n.get()
        return self
    def process(self):
        return self
    def write(self):
        return self
    def get(self):
        return self.v * 2

pipeline = Pipeline().set_input_from_deliverable(Deliverable[int](2))
assert pipeline.add_stage_from_type(Double).run().get_last_output() == 4
pipeline.describe()
pipeline.to_diagram()
loaded = [m for m in ("pyspark", "typedspark", "pysetl.storage") if m in sys.modules]
assert not loaded, loaded
"""


class TestImports:
    def test_running_a_pure_pipeline_loads_no_spark(self):
        subprocess.run([sys.executable, "-c", SCRIPT], check=True, timeout=120)  # noqa: S603

    def test_compatibility_modules_are_importable(self):
        import importlib

        for name in (
            "external",
            "dispatcher",
            "inspector",
            "dag",
            "node",
            "node_output",
            "flow",
            "expected_deliverable",
            "delivery_type",
            "factory",
            "delivery",
            "deliverable",
            "stage",
            "pipeline",
            "hooks",
        ):
            importlib.import_module(f"pysetl.workflow.{name}")
