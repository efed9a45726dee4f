"""A TPC-H-derived ETL: revenue per nation and market segment, from pysetl factories.

The data is TPC-H's, made by ``tpchgen-cli`` (a PyPI package, the Rust port of
``dbgen``) as Parquet at a small scale factor (0.01 by default: 60,175 line
items, 15,000 orders, 1,500 customers). The pipeline:

* stage 0, two factories side by side (``Stage(parallel=True)``):
  ``OrderRevenue`` sums each order's discounted revenue
  (``l_extendedprice * (1 - l_discount)``, TPC-H's revenue) over the line
  items shipped by ``SHIPPED_BY``; ``CustomerPlaces`` places every customer in
  its nation and region;
* stage 1 ``SegmentRevenue``: joins orders to both, then per nation and
  market segment counts orders and customers and sums the revenue, written
  as Parquet through its repository;
* stage 2 ``RegionRevenue``: reads that report back and sums it per region
  and segment, written as Parquet too.

Every delivery is typed (``typedspark`` schemas of the TPC-H columns) and
wired by type. The catalog is the project config's ``tpch_*`` connectors
(``demo/conf/base/tpch.yaml``). Run it with ``pysetl run tpch`` from the
repository root (``-p scale=0.1`` for more data); the data is made on the
first run, into ``PYSETL_TPCH_DATA`` (default ``demo/output/tpch/data``).
``tests/cluster`` runs it on a Spark standalone cluster and in local mode
and compares the reports.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's usual alias
from pyspark.sql.types import DateType, IntegerType, LongType, StringType
from typedspark import Column, DataSet, DecimalType, Schema

from pysetl.storage.repository import SparkRepository
from pysetl.workflow import Delivery, Factory, Pipeline, Stage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pysetl import PySetl

SHIPPED_BY = "1998-09-02"  # TPC-H Q1's cut-off (DATE '1998-12-01' - 90 days)
TABLES = ("lineitem", "orders", "customer", "nation", "region")
DEFAULT_SCALE = "0.01"

Money = DecimalType[Literal[15], Literal[2]]


class LineItem(Schema):
    """A TPC-H line item, as ``tpchgen-cli`` writes it."""

    l_orderkey: Column[LongType]
    l_partkey: Column[LongType]
    l_suppkey: Column[LongType]
    l_linenumber: Column[IntegerType]
    l_quantity: Column[Money]
    l_extendedprice: Column[Money]
    l_discount: Column[Money]
    l_tax: Column[Money]
    l_returnflag: Column[StringType]
    l_linestatus: Column[StringType]
    l_shipdate: Column[DateType]
    l_commitdate: Column[DateType]
    l_receiptdate: Column[DateType]
    l_shipinstruct: Column[StringType]
    l_shipmode: Column[StringType]
    l_comment: Column[StringType]


class Order(Schema):
    """A TPC-H order."""

    o_orderkey: Column[LongType]
    o_custkey: Column[LongType]
    o_orderstatus: Column[StringType]
    o_totalprice: Column[Money]
    o_orderdate: Column[DateType]
    o_orderpriority: Column[StringType]
    o_clerk: Column[StringType]
    o_shippriority: Column[IntegerType]
    o_comment: Column[StringType]


class Customer(Schema):
    """A TPC-H customer."""

    c_custkey: Column[LongType]
    c_name: Column[StringType]
    c_address: Column[StringType]
    c_nationkey: Column[LongType]
    c_phone: Column[StringType]
    c_acctbal: Column[Money]
    c_mktsegment: Column[StringType]
    c_comment: Column[StringType]


class Nation(Schema):
    """A TPC-H nation."""

    n_nationkey: Column[LongType]
    n_name: Column[StringType]
    n_regionkey: Column[LongType]
    n_comment: Column[StringType]


class Region(Schema):
    """A TPC-H region."""

    r_regionkey: Column[LongType]
    r_name: Column[StringType]
    r_comment: Column[StringType]


class OrderValue(Schema):
    """One order's revenue over its shipped line items."""

    orderkey: Column[LongType]
    lines: Column[LongType]
    revenue: Column[DecimalType[Literal[38], Literal[4]]]


class CustomerPlace(Schema):
    """Where a customer is, and its market segment."""

    custkey: Column[LongType]
    segment: Column[StringType]
    nation: Column[StringType]
    region: Column[StringType]


class NationSegmentRevenue(Schema):
    """Revenue of one market segment in one nation."""

    region: Column[StringType]
    nation: Column[StringType]
    segment: Column[StringType]
    customers: Column[LongType]
    orders: Column[LongType]
    lines: Column[LongType]
    revenue: Column[DecimalType[Literal[38], Literal[4]]]


class RegionSegmentRevenue(Schema):
    """Revenue of one market segment in one region."""

    region: Column[StringType]
    segment: Column[StringType]
    nations: Column[LongType]
    orders: Column[LongType]
    revenue: Column[DecimalType[Literal[38], Literal[4]]]


# ----------------------------------------------------------------- transforms
def order_revenue(lineitem: DataFrame) -> DataFrame:
    """Discounted revenue and line count per order, over the shipped lines."""
    revenue = F.col("l_extendedprice") * (F.lit(1) - F.col("l_discount"))
    return (
        lineitem.where(F.col("l_shipdate") <= F.lit(SHIPPED_BY).cast("date"))
        .groupBy(F.col("l_orderkey").alias("orderkey"))
        .agg(
            F.count("*").alias("lines"),
            F.sum(revenue).cast("decimal(38,4)").alias("revenue"),
        )
    )


def customer_places(
    customer: DataFrame, nation: DataFrame, region: DataFrame
) -> DataFrame:
    """Each customer with its segment, nation and region names."""
    return (
        customer.join(nation, customer.c_nationkey == nation.n_nationkey)
        .join(region, nation.n_regionkey == region.r_regionkey)
        .select(
            F.col("c_custkey").alias("custkey"),
            F.col("c_mktsegment").alias("segment"),
            F.col("n_name").alias("nation"),
            F.col("r_name").alias("region"),
        )
    )


def nation_segment_revenue(
    orders: DataFrame, values: DataFrame, places: DataFrame
) -> DataFrame:
    """Customers, orders, lines and revenue per nation and segment."""
    return (
        orders.join(values, orders.o_orderkey == values.orderkey)
        .join(places, orders.o_custkey == places.custkey)
        .groupBy("region", "nation", "segment")
        .agg(
            F.countDistinct("custkey").alias("customers"),
            F.count("*").alias("orders"),
            F.sum("lines").cast("long").alias("lines"),
            F.sum("revenue").cast("decimal(38,4)").alias("revenue"),
        )
        .select(*NationSegmentRevenue.get_structtype().fieldNames())
    )


def region_segment_revenue(report: DataFrame) -> DataFrame:
    """Nations, orders and revenue per region and segment."""
    return (
        report.groupBy("region", "segment")
        .agg(
            F.count("*").alias("nations"),
            F.sum("orders").cast("long").alias("orders"),
            F.sum("revenue").cast("decimal(38,4)").alias("revenue"),
        )
        .select(*RegionSegmentRevenue.get_structtype().fieldNames())
    )


# ----------------------------------------------------------------- factories
class OrderRevenue(Factory[DataSet[OrderValue]]):
    """Revenue per order over its shipped line items (not written: an input)."""

    lineitem = Delivery[SparkRepository[LineItem]](delivery_id="tpch_lineitem")

    def read(self) -> OrderRevenue:
        """Load the line items."""
        self.lines = self.lineitem.get().load()
        return self

    def process(self) -> OrderRevenue:
        """Sum the discounted revenue per order."""
        self.values = DataSet[OrderValue](order_revenue(self.lines).cache())
        return self

    def write(self) -> OrderRevenue:
        """Nothing to write."""
        return self

    def get(self) -> DataSet[OrderValue]:
        """Revenue per order."""
        return self.values


class CustomerPlaces(Factory[DataSet[CustomerPlace]]):
    """Every customer's segment, nation and region (not written: an input)."""

    customer = Delivery[SparkRepository[Customer]](delivery_id="tpch_customer")
    nation = Delivery[SparkRepository[Nation]](delivery_id="tpch_nation")
    region = Delivery[SparkRepository[Region]](delivery_id="tpch_region")

    def read(self) -> CustomerPlaces:
        """Load customers, nations and regions."""
        self.customers = self.customer.get().load()
        self.nations = self.nation.get().load()
        self.regions = self.region.get().load()
        return self

    def process(self) -> CustomerPlaces:
        """Place each customer."""
        places = customer_places(self.customers, self.nations, self.regions)
        self.places = DataSet[CustomerPlace](places.cache())
        return self

    def write(self) -> CustomerPlaces:
        """Nothing to write."""
        return self

    def get(self) -> DataSet[CustomerPlace]:
        """The customers, placed."""
        return self.places


class SegmentRevenue(Factory[DataSet[NationSegmentRevenue]]):
    """Revenue per nation and market segment, written as Parquet."""

    orders = Delivery[SparkRepository[Order]](delivery_id="tpch_orders")
    values = Delivery[DataSet[OrderValue]](producer=OrderRevenue)
    places = Delivery[DataSet[CustomerPlace]](producer=CustomerPlaces)
    output = Delivery[SparkRepository[NationSegmentRevenue]](
        delivery_id="tpch_segment_revenue"
    )

    def read(self) -> SegmentRevenue:
        """Load the orders; take the order values and customer places."""
        self.all_orders = self.orders.get().load()
        return self

    def process(self) -> SegmentRevenue:
        """Join and aggregate per nation and segment."""
        self.report = nation_segment_revenue(
            self.all_orders, self.values.get(), self.places.get()
        )
        return self

    def write(self) -> SegmentRevenue:
        """Save the report through its Parquet repository."""
        self.output.get().save(self.report)
        return self

    def get(self) -> DataSet[NationSegmentRevenue]:
        """The report as written (read back through the repository)."""
        return self.output.get().load()


class RegionRevenue(Factory[DataSet[RegionSegmentRevenue]]):
    """Revenue per region and market segment, written as Parquet."""

    report = Delivery[DataSet[NationSegmentRevenue]](producer=SegmentRevenue)
    output = Delivery[SparkRepository[RegionSegmentRevenue]](
        delivery_id="tpch_region_revenue"
    )

    def read(self) -> RegionRevenue:
        """Take the nation report."""
        self.by_nation = self.report.get()
        return self

    def process(self) -> RegionRevenue:
        """Sum it per region and segment."""
        self.summary = region_segment_revenue(self.by_nation)
        return self

    def write(self) -> RegionRevenue:
        """Save the summary through its Parquet repository."""
        self.output.get().save(self.summary)
        return self

    def get(self) -> DataSet[RegionSegmentRevenue]:
        """The summary as written (read back through the repository)."""
        return self.output.get().load()


# ----------------------------------------------------------------- the data
def tpchgen() -> str:
    """The ``tpchgen-cli`` program: on ``PATH``, else next to this Python."""
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    beside = Path(sys.executable).with_name("tpchgen-cli")
    if beside.is_file():
        return str(beside)
    msg = (
        "tpchgen-cli is not installed: run `bash scripts/dev.sh setup` "
        "(or `pip install tpchgen-cli`)"
    )
    raise SystemExit(msg)


def make_data(folder: Path, scale: str = DEFAULT_SCALE) -> None:
    """Write the TPC-H tables the pipeline reads to ``folder`` as Parquet.

    Skipped when every table is there already at that scale (a ``SCALE``
    file says which): the generator is deterministic.
    """
    stamp = folder / "SCALE"
    made = all((folder / f"{table}.parquet").is_file() for table in TABLES)
    if made and stamp.is_file() and stamp.read_text().strip() == scale:
        return
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - the generator, our own arguments
        [
            tpchgen(),
            "parquet",
            "--scale-factor",
            scale,
            "--tables",
            ",".join(TABLES),
            "--output-dir",
            str(folder),
            "--overwrite",
        ],
        check=True,
        capture_output=True,
    )
    stamp.write_text(f"{scale}\n")


def build(context: PySetl, params: Mapping[str, str] | None = None) -> Pipeline:
    """The TPC-H pipeline on ``context``'s configs (not run yet).

    ``pysetl run tpch`` calls it with a ``PySetl`` built from ``demo/conf``.
    It makes the data at scale ``params["scale"]`` (default 0.01) where the
    catalog's ``tpch_lineitem`` reads, then wires repositories and factories.
    """
    scale = (params or {}).get("scale", DEFAULT_SCALE)
    data = Path(context.config_dict["tpch_lineitem"].params["path"]).parent
    make_data(data, scale)
    schemas = {
        "tpch_lineitem": LineItem,
        "tpch_orders": Order,
        "tpch_customer": Customer,
        "tpch_nation": Nation,
        "tpch_region": Region,
        "tpch_segment_revenue": NationSegmentRevenue,
        "tpch_region_revenue": RegionSegmentRevenue,
    }
    for key, schema in schemas.items():
        context.set_spark_repository_from_config(schema, key, delivery_id=key)
    inputs = (
        Stage(parallel=True)
        .add_factory_from_type(OrderRevenue)
        .add_factory_from_type(CustomerPlaces)
    )
    return (
        context.new_pipeline(name="tpch")
        .add_stage(inputs)
        .add_stage_from_type(SegmentRevenue)
        .add_stage_from_type(RegionRevenue)
    )
