"""How users write against pysetl's public API, checked by ``mypy --strict``.

This module is type-checked, never run (``tests/test_typing.py`` runs mypy on
it). Every function body is what a user writes; ``assert_type`` pins the types
that users rely on, so a change that loosens them (an ``Any`` leaking out of
``Delivery.get()``, a fluent method losing its ``Self``) fails the suite.

Lines marked ``# type-gap:`` work around a public signature that is looser or
stricter than it could be; they are reported, and should go when it is fixed.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema
from typing_extensions import Self, assert_type

from pysetl import PySetl, PySetlBuilder
from pysetl.config import (
    Config,
    ConfigBuilder,
    CsvConfig,
    CsvConfigModel,
    FileConfig,
    JsonConfig,
    ParquetConfig,
    ParquetConfigModel,
)
from pysetl.enums import FileStorage, SaveMode
from pysetl.errors import (
    BuilderError,
    ConfigError,
    DependencyResolutionError,
    FactoryError,
    PipelineError,
    PySetlError,
)
from pysetl.storage import ConnectorBuilder, SparkRepositoryBuilder
from pysetl.storage.connector import (
    BaseConnector,
    Connector,
    CsvConnector,
    FileConnector,
    ParquetConnector,
)
from pysetl.storage.repository import BaseRepository, SparkRepository
from pysetl.utils import BenchmarkResult
from pysetl.utils.exceptions import (
    AlreadyExistsException,
    BasePySetlException,
    BuilderException,
    InvalidConfigException,
    InvalidConnectorException,
    InvalidDeliveryException,
    PipelineException,
)
from pysetl.workflow import (
    Deliverable,
    Delivery,
    External,
    Factory,
    HookManager,
    Pipeline,
    Stage,
    hook_impl,
)

# ------------------------------------------------------------------ schemas


class Citizen(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class Adult(Schema):
    name: Column[StringType]


# ------------------------------------------------------------------ configs


def configs() -> dict[str, Config[Any]]:
    csv = CsvConfig(path="/data/citizens.csv", delimiter=";")
    assert_type(csv.set("header", "true"), CsvConfig)
    assert_type(csv | CsvConfig(inferSchema="false"), CsvConfig)
    assert_type(csv.has("path"), bool)
    assert_type("path" in csv, bool)
    assert_type(csv.params, dict[str, Any])
    assert_type(csv.config, CsvConfigModel)
    assert_type(csv.config.path, str)
    assert_type(csv.config.savemode, SaveMode)
    assert_type(csv.config.storage, FileStorage)
    assert_type(csv.config.partition_by, list[str])
    assert_type(csv.reader_config, dict[str, Any])

    as_file: FileConfig = csv  # a CsvConfig is a FileConfig
    assert_type(as_file.writer_config, dict[str, Any])

    parquet = ParquetConfig(path="/data/adults.parquet", savemode=SaveMode.OVERWRITE)
    assert_type(parquet.config, ParquetConfigModel)

    builder = JsonConfig.builder()
    assert_type(builder, ConfigBuilder[JsonConfig])
    assert_type(builder.from_dict({"path": "/data/x.json"}), JsonConfig)
    assert_type(builder.from_object(object()), JsonConfig)

    # ``set_config`` takes a ``Mapping`` (covariant in its values), so a dict
    # inferred as ``dict[str, FileConfig]`` is accepted as it is.
    files = {"citizens": csv, "adults": parquet}
    PySetl.builder().set_config(files)
    return dict(files)


# --------------------------------------------------------------- connectors


def connectors(data: DataFrame) -> None:
    csv = CsvConnector(CsvConfig(path="/data/citizens.csv"))
    assert_type(csv.read(), DataFrame)
    assert_type(csv.write(data), None)
    assert_type(csv.list_partitions(), list[str])
    assert_type(csv.read_partitions(["/data/citizens.csv/age=1"]), DataFrame)

    file_connector: FileConnector = ParquetConnector(ParquetConfig(path="/d/x"))
    connector: BaseConnector = file_connector

    built = ConnectorBuilder(CsvConfig(path="/data/citizens.csv")).getOrCreate()
    assert_type(built, Connector)
    connector = built
    assert_type(connector.read(), DataFrame)


# ------------------------------------------------------------- repositories


def repositories(data: DataFrame) -> SparkRepository[Citizen]:
    connector = CsvConnector(CsvConfig(path="/data/citizens.csv"))
    repo = SparkRepository[Citizen](connector, cache=True)
    assert_type(repo, SparkRepository[Citizen])
    assert_type(repo.load(), DataSet[Citizen])
    assert_type(repo.save(data), SparkRepository[Citizen])
    assert_type(repo.set_cache(False), SparkRepository[Citizen])
    assert_type(repo.cache, bool)
    assert_type(repo.schema, type[Citizen])
    assert_type(repo.connector, BaseConnector)
    assert_type(repo.find(repo.load().age > 17, name="Ada"), DataSet[Citizen])
    assert_type(repo.load_partitions(["/data/citizens.csv/age=1"]), DataSet[Citizen])
    assert_type(repo.drop(), SparkRepository[Citizen])
    base: BaseRepository[Citizen] = repo

    builder = SparkRepositoryBuilder[Citizen](CsvConfig(path="/data/c.csv"))
    assert_type(builder.build(), SparkRepositoryBuilder[Citizen])
    assert_type(builder.get(), SparkRepository[Citizen])
    built = builder.getOrCreate()
    assert_type(built, SparkRepository[Citizen])
    assert_type(base.load(), DataSet[Citizen])
    return built


# ---------------------------------------------------------------- factories


class LoadCitizens(Factory[DataSet[Citizen]]):
    repo = Delivery[SparkRepository[Citizen]](delivery_id="citizens")

    def read(self) -> Self:
        assert_type(self.repo, Delivery[SparkRepository[Citizen]])
        repository = self.repo.get()
        assert_type(repository, SparkRepository[Citizen])
        self.citizens = repository.load()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataSet[Citizen]:
        return self.citizens


class KeepAdults(Factory[DataSet[Adult]]):
    consumers = {LoadCitizens}  # noqa: RUF012 - the old API's class attribute
    delivery_id = "adults"

    citizens = Delivery[DataSet[Citizen]](producer=LoadCitizens)
    min_age = Delivery[int](delivery_id="min_age")

    def __init__(self, column: str = "age") -> None:
        super().__init__()
        self.column = column

    def read(self) -> Self:
        citizens = self.citizens.get()
        assert_type(citizens, DataSet[Citizen])
        minimum = self.min_age.get()
        assert_type(minimum, int)
        self.adults = DataSet[Adult](
            citizens.filter(citizens[self.column] >= minimum).select("name")
        )
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataSet[Adult]:
        return self.adults


class CountAdults(Factory[int]):
    adults = Delivery[DataSet[Adult]](producer=KeepAdults, delivery_id="adults")

    def read(self) -> Self:
        self.count = self.adults.get().count()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.count


def factories() -> None:
    factory = KeepAdults(column="age")
    assert_type(factory.get(), DataSet[Adult])
    assert_type(factory.read().process().write(), KeepAdults)
    assert_type(factory.writable(False), KeepAdults)
    assert_type(factory.is_writable, bool)
    assert_type(factory.deliverable, Deliverable[DataSet[Adult] | None])
    assert_type(KeepAdults.name(), str)
    assert_type(KeepAdults.expected_deliveries(), list[Delivery[Any]])

    slot = Delivery[int](producer=External, delivery_id="n")
    assert_type(slot.set(0), Delivery[int])
    assert_type(slot.get(), int)
    assert_type(slot.set_consumer(CountAdults), Delivery[int])

    deliverable = Deliverable[int](0, delivery_id="min_age")
    assert_type(deliverable.payload, int)
    assert_type(deliverable.set_delivery_id("n"), Deliverable[int])
    assert_type(deliverable.set_consumers({CountAdults}), Deliverable[int])
    assert_type(deliverable.set_producer(KeepAdults), Deliverable[int])


# ---------------------------------------------------------------- pipelines


def pipelines(spark: SparkSession) -> None:
    stage = Stage().add_factory_from_type(LoadCitizens).add_factory(KeepAdults())
    assert_type(stage, Stage)
    assert_type(stage.writable(True), Stage)
    assert_type(stage.factories, list[Factory[Any]])
    assert_type(stage.get_benchmarks(), list[BenchmarkResult])

    pipeline = (
        Pipeline(benchmark=True)
        .set_input_from_deliverable(Deliverable[int](18, delivery_id="min_age"))
        .add_stage(stage)
        .add_stage_from_type(CountAdults)
        .add_stage_from_factory(CountAdults())
        .run()
    )
    assert_type(pipeline, Pipeline)
    assert_type(pipeline.get_benchmarks(), list[BenchmarkResult])
    assert_type(pipeline.describe(), str)
    assert_type(pipeline.to_diagram(), str)
    assert_type(pipeline.stages, list[Stage])
    assert_type(pipeline.get_deliverable(int), list[Deliverable[Any]])
    # type-gap: the outputs are ``Any``; ``get_output(F)`` could return F's ``T``.
    count: int = pipeline.get_output(CountAdults)
    last: int = pipeline.get_last_output()
    assert count == last

    observed = Pipeline(hooks=HookManager(observers=[Durations()]), name="adults")
    assert_type(observed.validate(), Pipeline)

    with (
        PySetl.builder()
        .set_config(configs())
        .set_spark_session(spark)
        .set_shuffle_partitions(1)
        .getOrCreate()
    ) as pysetl:
        assert_type(pysetl, PySetl)
        assert_type(
            pysetl.set_spark_repository_from_config(
                Citizen, "citizens", consumers={LoadCitizens}, delivery_id="citizens"
            ),
            PySetl,
        )
        assert_type(pysetl.new_pipeline(), Pipeline)
        assert_type(pysetl.list_inputs(), dict[str, Deliverable[Any]])
        repo = pysetl.get_sparkrepository(Citizen, "citizens")
        assert_type(repo, SparkRepository[Citizen])
    assert_type(PySetlBuilder(benchmark=True).getOrCreate(), PySetl)


# -------------------------------------------------------------------- hooks


class Durations:
    """An observer: it takes only the keyword arguments it uses."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.failure = ""

    @hook_impl
    def after_factory_run(self, *, factory_name: str, duration: float) -> None:
        self.seconds[factory_name] = duration

    @hook_impl
    def on_pipeline_run_failed(self, *, error: Exception) -> None:
        self.failure = repr(error)


def hooks() -> None:
    observer = Durations()
    # ``@hook_impl`` keeps the method's signature.
    assert_type(observer.after_factory_run(factory_name="F", duration=0.5), None)
    manager = HookManager(observers=[observer], inline=True)
    assert_type(manager.register(Durations()), str)
    assert_type(manager.observers, list[object])
    assert_type(manager.drain(), bool)


# ------------------------------------------------------------------- errors


def errors(pipeline: Pipeline) -> None:
    try:
        pipeline.run()
    except InvalidDeliveryException as error:
        assert_type(error, DependencyResolutionError)
        assert_type(error.problems, list[str])
        assert_type(error.hint, str | None)
    except FactoryError as error:
        assert_type(error.factory, str | None)
        assert_type(error.stage, int | None)
        assert_type(error.phase, str | None)
        assert_type(error.context, dict[str, Any])
    except PipelineException as error:
        assert_type(error, PipelineError)

    try:
        PySetlBuilder().get()
    except Exception as error:  # BuilderException is an Exception now
        builder_error: BuilderError = BuilderException(str(error))
        raise builder_error from error

    root: type[PySetlError] = BasePySetlException
    for tree in (
        AlreadyExistsException,
        InvalidConfigException,
        InvalidConnectorException,
        InvalidDeliveryException,
        PipelineException,
        BuilderException,
    ):
        assert issubclass(tree, root)
    value_error: ValueError = ConfigError("bad", hint="fix it", config="citizens")
    assert_type(InvalidConfigException, type[ConfigError])
    assert value_error
