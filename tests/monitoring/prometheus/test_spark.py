"""A real Spark factory's figures reach Prometheus through the exporter."""

from __future__ import annotations

from typing import Any

from pysetl.monitoring.prometheus import PrometheusExporter
from pysetl.runtime import Session
from pysetl.workflow import Factory

ROWS = 321


def test_spark_figures_are_pushed_scraped_and_queried(
    spark, tmp_path, pushgateway, prometheus, pipeline_name
):
    target = tmp_path / "out"

    class WriteNumbers(Factory[Any]):
        def read(self) -> WriteNumbers:
            self.frame = spark.range(ROWS)
            return self

        def process(self) -> WriteNumbers:
            return self

        def write(self) -> WriteNumbers:
            self.frame.write.mode("overwrite").parquet(str(target))
            return self

        def get(self) -> Any:
            return self.frame

    exporter = PrometheusExporter(pushgateway=pushgateway.url, push_interval=None)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    with Session(history=url, observe=True, spark=spark, observers=[exporter]) as s:
        s.pipeline(pipeline_name).add_stage_from_type(WriteNumbers).run()
    assert exporter.pusher is not None
    assert exporter.pusher.pushes == 1
    selector = f'pipeline="{pipeline_name}",factory="WriteNumbers"'
    written = prometheus.wait_for(f"pysetl_factory_spark_output_records{{{selector}}}")
    assert float(written[0]["value"][1]) == ROWS
    tasks = prometheus.wait_for(f"pysetl_factory_spark_tasks{{{selector}}}")
    assert float(tasks[0]["value"][1]) >= 1
    out_bytes = prometheus.wait_for(f"pysetl_factory_spark_output_bytes{{{selector}}}")
    assert float(out_bytes[0]["value"][1]) > 0
