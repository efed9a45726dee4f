"""The flights demo's factories (CSV in, Parquet out) on a small sample, with lineage.

The demo's own factories, schemas and stages run on real Spark (local mode)
over a few rows written to ``tmp_path``; every OpenLineage event the exporter
sends to a loopback receiver is validated against the spec's JSON schema.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pysetl.config import CsvConfig, ParquetConfig
from pysetl.enums import SaveMode
from pysetl.monitoring.lineage import OpenLineageExporter, file_dataset
from pysetl.workflow import Deliverable, Pipeline, Stage
from pysetl.workflow.hooks import HookManager

ROOT = Path(__file__).resolve().parents[3]

FLIGHTS = """year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,\
arr_delay,carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour
2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01 05:00
2013,1,1,533,529,4,850,830,20,UA,1714,N24211,LGA,IAH,227,1416,5,29,2013-01-01 05:00
2013,1,1,542,540,2,923,850,33,AA,1141,N619AA,JFK,MIA,160,1089,5,40,2013-01-01 05:00
2013,1,1,544,545,-1,1004,1022,-18,B6,725,N804JB,JFK,BQN,183,1576,5,45,2013-01-01 05:00
2013,1,1,NA,1630,NA,NA,1815,NA,EV,4308,N18120,EWR,RDU,NA,416,16,30,2013-01-01 16:00
"""
AIRLINES = """carrier,name
AA,American Airlines Inc.
B6,JetBlue Airways
EV,ExpressJet Airlines Inc.
UA,United Air Lines Inc.
"""
AIRPORTS = """faa,name,lat,lon,alt,tz,dst,tzone
IAH,George Bush Intercontinental,29.98,-95.34,97,-6,A,America/Chicago
MIA,Miami Intl,25.79,-80.29,8,-5,A,America/New_York
BQN,Rafael Hernandez,18.49,-67.13,237,-4,N,America/Puerto_Rico
"""


@pytest.fixture(scope="module")
def demo():
    sys.path.insert(0, str(ROOT))
    try:
        from demo import flights_etl
    finally:
        sys.path.remove(str(ROOT))
    return flights_etl


def csv(path: Path, text: str) -> CsvConfig:
    path.write_text(text)
    return CsvConfig(path=str(path), header="true", inferSchema="false", nullValue="NA")


def flights_pipeline(demo, tmp_path: Path, hooks: HookManager) -> Pipeline:
    """The demo's ``build()``, on a sample and without its data package."""
    from pysetl.storage.connector import CsvConnector, ParquetConnector
    from pysetl.storage.repository import SparkRepository

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    sources = {
        "flights": (demo.Flight, CsvConnector(csv(raw / "flights.csv", FLIGHTS))),
        "airlines": (demo.Airline, CsvConnector(csv(raw / "airlines.csv", AIRLINES))),
        "airports": (demo.Airport, CsvConnector(csv(raw / "airports.csv", AIRPORTS))),
    }
    for key, schema in (
        ("carrier_delays", demo.CarrierDelays),
        ("route_traffic", demo.RouteTraffic),
    ):
        config = ParquetConfig(path=str(out / key), savemode=SaveMode.OVERWRITE)
        sources[key] = (schema, ParquetConnector(config))
    pipeline = Pipeline(name="flights", hooks=hooks)
    for key, (schema, connector) in sources.items():
        repository = SparkRepository[schema](connector)  # type: ignore[valid-type]
        pipeline.set_input_from_deliverable(
            Deliverable[SparkRepository[schema]](repository, delivery_id=key)  # type: ignore[valid-type]
        )
    reports = (
        Stage(parallel=True)
        .add_factory_from_type(demo.CarrierDelaysReport)
        .add_factory_from_type(demo.RouteTrafficReport)
    )
    return (
        pipeline.add_stage_from_type(demo.CleanFlights)
        .add_stage(reports)
        .add_stage_from_type(demo.Headlines)
    )


def names(datasets):
    return {(d["namespace"], d["name"]) for d in datasets}


@pytest.fixture
def demo_run(spark, demo, tmp_path, receiver, writer):
    """The demo's pipeline, run once with the exporter; ``(pipeline, exporter)``."""
    exporter = OpenLineageExporter(url=receiver.url, namespace="flights-demo")
    hooks = HookManager(observers=[exporter], writer=writer, drain_timeout=30)
    try:
        pipeline = flights_pipeline(demo, tmp_path, hooks).run()
        writer.drain(30)
    finally:
        exporter.close()
    return pipeline, exporter


def test_every_event_of_the_demo_is_valid_openlineage(
    demo_run, demo, tmp_path, receiver, validate_event
):
    pipeline, exporter = demo_run
    headline = pipeline.get_last_output()
    assert headline.flights_flown == 4
    bodies = receiver.wait_for(10)
    assert len(bodies) == 10  # START and COMPLETE: the run and 4 factories
    for body in bodies:
        validate_event(body)
    assert exporter.sent == 10
    events = {(b["job"]["name"], b["eventType"]): b for b in bodies}
    raw, out = tmp_path / "raw", tmp_path / "out"

    clean = events["flights.CleanFlights", "COMPLETE"]
    assert names(clean["inputs"]) == {("file", str(raw / "flights.csv"))}
    assert clean["outputs"] == []
    (flights,) = clean["inputs"]
    fields = flights["facets"]["schema"]["fields"]
    assert [f["name"] for f in fields] == list(demo.Flight.get_structtype().names)
    assert {f["type"] for f in fields} == {"string"}

    report = events["flights.CarrierDelaysReport", "COMPLETE"]
    assert ("file", str(raw / "airlines.csv")) in names(report["inputs"])
    assert names(report["outputs"]) == {("file", str(out / "carrier_delays"))}
    (written,) = report["outputs"]
    typed = {f["name"]: f["type"] for f in written["facets"]["schema"]["fields"]}
    assert typed["flights"] == "bigint"
    assert typed["on_time_rate"] == "double"

    assert events["flights.Headlines", "COMPLETE"]["inputs"] == []
    whole = events["flights", "COMPLETE"]
    assert names(whole["outputs"]) == {
        ("file", str(out / "carrier_delays")),
        ("file", str(out / "route_traffic")),
    }
    assert ("file", str(raw / "airports.csv")) in names(whole["inputs"])


def test_a_spark_catalog_table_is_named_by_its_warehouse_folder(
    spark, demo, receiver, writer
):
    """A factory saving to a managed table: its output is the table's folder."""
    from pysetl.config.table_config import SparkTableConfig
    from pysetl.storage.connector import SparkTableConnector
    from pysetl.storage.repository import SparkRepository
    from pysetl.workflow import Delivery, Factory

    table = SparkTableConnector(
        SparkTableConfig(table="lineage_airlines", savemode=SaveMode.OVERWRITE)
    )
    repository = SparkRepository[demo.Airline](table)

    class SaveAirlines(Factory[int]):
        target = Delivery[SparkRepository[demo.Airline]](delivery_id="t")

        def read(self):
            self.rows = spark.createDataFrame(
                [("AA", "American")], "carrier string, name string"
            )
            return self

        def process(self):
            return self

        def write(self):
            self.target.get().save(self.rows)
            return self

        def get(self):
            return 1

    exporter = OpenLineageExporter(url=receiver.url)
    hooks = HookManager(observers=[exporter], writer=writer, drain_timeout=30)
    try:
        pipeline = Pipeline(name="tables", hooks=hooks).set_input_from_deliverable(
            Deliverable[SparkRepository[demo.Airline]](repository, delivery_id="t")
        )
        pipeline.add_stage_from_type(SaveAirlines).run()
        writer.drain(30)
    finally:
        exporter.close()
    done = {(b["job"]["name"], b["eventType"]): b for b in receiver.wait_for(4)}
    (output,) = done["tables.SaveAirlines", "COMPLETE"]["outputs"]
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    expected = file_dataset(f"{warehouse}/lineage_airlines")
    assert (output["namespace"], output["name"]) == (expected.namespace, expected.name)
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [
        "carrier",
        "name",
    ]
