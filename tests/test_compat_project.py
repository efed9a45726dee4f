"""An existing pysetl project, written against the old API, runs unchanged.

Everything above the ``# ---- tests`` line is "user code": it imports only
the names and paths of the compatibility contract (``pysetl-api.md``) and
uses them the way the old package documented (section 7.3). The tests then
check what such a project observes: outputs, reports, diagrams, benchmarks,
re-runs and the documented errors. Deliberate deviations are the ones listed
in ``docs/migration.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F  # noqa: N812 - the usual Spark spelling
from pyspark.sql.types import IntegerType, LongType, StringType
from typedspark import Column, DataSet, Schema
from typing_extensions import Self

from pysetl import PySetl, PySetlBuilder
from pysetl.config import CsvConfig, ParquetConfig
from pysetl.enums import SaveMode
from pysetl.storage.repository import SparkRepository
from pysetl.utils import BenchmarkResult
from pysetl.utils.exceptions import (
    BasePySetlException,
    BuilderException,
    InvalidConfigException,
    InvalidDeliveryException,
    PipelineException,
)
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage

# ---------------------------------------------------------------- user code

CITIZENS_CSV = """name,age,city
Ada,36,London
Alan,41,London
Grace,85,New York
Linus,12,Helsinki
Tim,17,London
"""

CITIES_CSV = """city,country
London,UK
New York,US
Helsinki,FI
"""


class Citizen(Schema):
    name: Column[StringType]
    age: Column[IntegerType]
    city: Column[StringType]


class City(Schema):
    city: Column[StringType]
    country: Column[StringType]


class CountryCount(Schema):
    country: Column[StringType]
    citizens: Column[LongType]


class LoadCitizens(Factory[DataSet[Citizen]]):
    """Stage 0: the citizens, from the CSV repository registered by id."""

    repo = Delivery[SparkRepository[Citizen]](delivery_id="citizens")

    def read(self) -> Self:
        self.citizens = self.repo.get().load()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataSet[Citizen]:
        return self.citizens


class LoadCities(Factory[DataSet[City]]):
    """Stage 0, next to LoadCitizens: the cities."""

    repo = Delivery[SparkRepository[City]](delivery_id="cities")

    def read(self) -> Self:
        self.cities = self.repo.get().load()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataSet[City]:
        return self.cities


class CitizensPerCountry(Factory[DataSet[CountryCount]]):
    """Stage 1: joins both stage-0 outputs, keeps citizens of at least min_age."""

    citizens = Delivery[DataSet[Citizen]](producer=LoadCitizens)
    cities = Delivery[DataSet[City]](producer=LoadCities)
    min_age = Delivery[int](delivery_id="min_age")
    report = Delivery[SparkRepository[CountryCount]](delivery_id="report")

    def __init__(self, country_column: str = "country") -> None:
        super().__init__()
        self.country_column = country_column

    def read(self) -> Self:
        self.people = self.citizens.get()
        self.places = self.cities.get()
        self.threshold = self.min_age.get()
        self.repository = self.report.get()
        return self

    def process(self) -> Self:
        adults = self.people.filter(F.col("age") >= self.threshold)
        counts = (
            adults.join(self.places, on="city")
            .groupBy(self.country_column)
            .agg(F.count("*").alias("citizens"))
            .orderBy(self.country_column)
        )
        self.counts = DataSet[CountryCount](counts)
        return self

    def write(self) -> Self:
        self.repository.save(self.counts)
        return self

    def get(self) -> DataSet[CountryCount]:
        return self.counts


class Summary(Factory[str]):
    """Stage 2: a one-line summary of the counts."""

    counts = Delivery[DataSet[CountryCount]]()

    def read(self) -> Self:
        self.rows = self.counts.get().collect()
        return self

    def process(self) -> Self:
        self.text = ", ".join(f"{r.country}={r.citizens}" for r in self.rows)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> str:
        return self.text


class NeedsMissingInput(Factory[int]):
    """Declares an input that nobody provides."""

    missing = Delivery[int](delivery_id="nobody-provides-this")

    def read(self) -> Self:
        self.value = self.missing.get()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.value


class ReadsCitizensRepo(Factory[int]):
    """Wants the citizens repository, which is registered for LoadCitizens only."""

    repo = Delivery[SparkRepository[Citizen]](delivery_id="citizens")

    def read(self) -> Self:
        self.count = self.repo.get().load().count()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.count


def write_inputs(folder: Path) -> dict[str, Path]:
    paths = {
        "citizens": folder / "citizens.csv",
        "cities": folder / "cities.csv",
        "report": folder / "report.parquet",
    }
    paths["citizens"].write_text(CITIZENS_CSV)
    paths["cities"].write_text(CITIES_CSV)
    return paths


def build_project(spark, folder: Path, *, benchmark: bool = False) -> PySetl:
    """The project's entry point, as the old docs showed it (session injected)."""
    paths = write_inputs(folder)
    config = {
        "citizens": CsvConfig(path=str(paths["citizens"])),
        "cities": CsvConfig(path=str(paths["cities"])),
        "report": ParquetConfig(path=str(paths["report"]), savemode=SaveMode.OVERWRITE),
    }
    builder = PySetlBuilder(benchmark=True) if benchmark else PySetl.builder()
    pysetl = builder.set_config(config).set_spark_session(spark).getOrCreate()
    return (
        pysetl.set_spark_repository_from_config(
            Citizen, "citizens", consumers={LoadCitizens}, delivery_id="citizens"
        )
        .set_spark_repository_from_config(City, "cities", delivery_id="cities")
        .set_spark_repository_from_config(
            CountryCount,
            "report",
            consumers={CitizensPerCountry},
            delivery_id="report",
        )
    )


def build_pipeline(pysetl: PySetl, min_age: int = 18) -> Pipeline:
    return (
        pysetl.new_pipeline()
        .set_input_from_deliverable(Deliverable[int](min_age, delivery_id="min_age"))
        .add_stage(
            Stage()
            .add_factory_from_type(LoadCitizens)
            .add_factory_from_type(LoadCities)
        )
        .add_stage_from_type(CitizensPerCountry, country_column="country")
        .add_stage_from_type(Summary)
    )


ADULTS_BY_COUNTRY = [("UK", 2), ("US", 1)]


def as_pairs(data: DataSet[CountryCount]) -> list[tuple[str, int]]:
    return [(row.country, row.citizens) for row in data.collect()]


# ---------------------------------------------------------------- tests
# Spark work is shared: each fixture below runs its pipeline once per module,
# and tests only read the results (a re-run gives the same results).


@pytest.fixture(scope="module")
def project(spark, tmp_path_factory) -> PySetl:
    return build_project(spark, tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def pipeline(project) -> Pipeline:
    return build_pipeline(project).run()


@pytest.fixture(scope="module")
def bench_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("benchmarked")


@pytest.fixture(scope="module")
def bench_project(spark, bench_folder) -> PySetl:
    return build_project(spark, bench_folder, benchmark=True)


@pytest.fixture(scope="module")
def benchmarked(bench_project) -> Pipeline:
    """Benchmarked, and its writing factory is not writable."""
    return (
        bench_project.new_pipeline()
        .set_input_from_deliverable(Deliverable[int](18, delivery_id="min_age"))
        .add_stage(
            Stage()
            .add_factory_from_type(LoadCitizens)
            .add_factory_from_type(LoadCities)
        )
        .add_stage_from_factory(CitizensPerCountry().writable(False))
        .add_stage_from_type(Summary)
        .run()
    )


class TestEntryPoint:
    def test_builder_uses_the_injected_session(self, spark, project):
        assert project.spark is spark
        assert project.benchmark is False

    def test_repositories_are_registered_under_their_config_keys(self, project):
        assert sorted(project.list_inputs()) == ["cities", "citizens", "report"]
        assert project.has_external_input("citizens")
        assert not project.has_external_input("nope")
        citizens = project.list_inputs()["citizens"]
        assert citizens.delivery_id == "citizens"
        assert citizens.consumers == {LoadCitizens}
        assert repr(citizens.payload) == "SparkRepository[Citizen]"

    def test_get_sparkrepository_returns_the_registered_repository(self, project):
        registered = project.list_inputs()["cities"].payload
        assert project.get_sparkrepository(City, "cities") is registered

    def test_repeating_an_identical_registration_keeps_it(self, project):
        before = project.list_inputs()["cities"]
        project.set_spark_repository_from_config(City, "cities", delivery_id="cities")
        assert project.list_inputs()["cities"] is before

    def test_a_missing_config_key_raises_invalid_config(self, project):
        with pytest.raises(InvalidConfigException, match="No config found with key: x"):
            project.set_spark_repository_from_config(City, "x")


class TestPipelineRun:
    def test_final_and_intermediate_outputs(self, pipeline):
        assert pipeline.get_last_output() == "UK=2, US=1"
        assert as_pairs(pipeline.get_output(CitizensPerCountry)) == ADULTS_BY_COUNTRY
        citizens = pipeline.get_output(LoadCitizens)
        assert citizens.count() == 5
        assert citizens.columns == ["name", "age", "city"]
        assert pipeline.get_output(LoadCities).count() == 3

    def test_the_report_is_written_through_its_repository(self, project, pipeline):
        assert pipeline.stages[1].factories[0].is_writable
        saved = project.get_sparkrepository(CountryCount, "report").load()
        assert sorted(as_pairs(saved)) == ADULTS_BY_COUNTRY

    def test_stages_and_factories_keep_their_order(self, pipeline):
        stages = pipeline.stages
        assert [s.stage_id for s in stages] == [0, 1, 2]
        assert [s.end for s in stages] == [False, False, True]
        assert str(stages[0]) == (
            "LoadCitizens -> DataSet[Citizen]\nLoadCities -> DataSet[City]"
        )
        assert [repr(d) for d in stages[0].deliverable] == [
            "Deliverable[DataSet[Citizen]]",
            "Deliverable[DataSet[City]]",
        ]
        factory = stages[1].factories[0]
        assert factory.country_column == "country"
        assert repr(factory) == (
            "CitizensPerCountry will produce a DataSet[CountryCount]"
        )

    def test_deliveries_are_listed_by_attribute_name(self):
        deliveries = CitizensPerCountry.expected_deliveries()
        assert [str(d) for d in deliveries] == [
            "Delivery from LoadCities with type DataSet[City]",
            "Delivery from LoadCitizens with type DataSet[Citizen]",
            "Delivery from External with type int",
            "Delivery from External with type SparkRepository[CountryCount]",
        ]
        assert {d.consumer for d in deliveries} == {CitizensPerCountry}

    def test_get_deliverable_lists_inputs_and_outputs_of_a_type(self, pipeline):
        (min_age,) = pipeline.get_deliverable(int)
        assert (min_age.payload, min_age.delivery_id) == (18, "min_age")
        (summary,) = pipeline.get_deliverable(str)
        assert summary.producer is Summary
        assert summary.payload == "UK=2, US=1"

    def test_a_second_run_gives_the_same_result(self, pipeline):
        """Old defect 3: the second run() failed with duplicate deliverables."""
        assert pipeline.run() is pipeline
        assert pipeline.get_last_output() == "UK=2, US=1"
        assert as_pairs(pipeline.get_output(CitizensPerCountry)) == ADULTS_BY_COUNTRY
        assert len(pipeline.get_deliverable(str)) == 1

    def test_a_falsy_payload_is_delivered(self, project, pipeline):
        """Old defect 1: Delivery.get() rejected 0. Also: pipelines are independent."""
        everyone = build_pipeline(project, min_age=0)
        everyone.stages[1].writable(False)  # keep the module's report as it is
        everyone.run()
        assert everyone.get_last_output() == "FI=1, UK=3, US=1"
        assert pipeline.get_last_output() == "UK=2, US=1"
        assert project.get_pipeline(everyone.uuid) is everyone

    def test_a_non_writable_factory_does_not_write(self, benchmarked, bench_folder):
        assert benchmarked.get_last_output() == "UK=2, US=1"
        assert not (bench_folder / "report.parquet").exists()

    def test_a_non_writable_stage_does_not_write(self, bench_project, bench_folder):
        pipeline = (
            bench_project.new_pipeline()
            .set_input_from_deliverable(Deliverable[int](18, delivery_id="min_age"))
            .add_stage(
                Stage()
                .add_factory_from_type(LoadCitizens)
                .add_factory_from_type(LoadCities)
            )
            .add_stage(
                Stage().add_factory_from_type(CitizensPerCountry).writable(False)
            )
            .run()
        )
        assert as_pairs(pipeline.get_last_output()) == ADULTS_BY_COUNTRY
        assert not (bench_folder / "report.parquet").exists()


class TestDescribe:
    def test_summary_lists_factories_by_stage_with_inputs_and_outputs(self, pipeline):
        text = pipeline.describe()
        assert text.startswith("========== Pipeline Summary ==========\n\n")
        assert "-------------   Data Transformation Summary  -------------" in text
        assert "------------------   Data Flow Summary  ------------------" in text
        blocks = text.split("-" * 58 + "\n")
        assert blocks[0].endswith(
            "Factory: LoadCitizens\n"
            "Stage: 0\n"
            "Input: SparkRepository[Citizen] from External (delivery id: citizens)\n"
            "Output: DataSet[Citizen]\n"
        )
        assert blocks[2] == (
            "Factory: CitizensPerCountry\n"
            "Stage: 1\n"
            "Input: DataSet[City] from LoadCities\n"
            "Input: DataSet[Citizen] from LoadCitizens\n"
            "Input: int from External (delivery id: min_age)\n"
            "Input: SparkRepository[CountryCount] from External (delivery id: report)\n"
            "Output: DataSet[CountryCount]\n"
        )
        assert blocks[3] == (
            "Factory: Summary\nStage: 2\n"
            "Input: DataSet[CountryCount] from External\n"
            "Output: str\n"
        )

    def test_flow_summary_names_every_edge(self, pipeline):
        flows = pipeline.describe().split("Data Flow Summary  ")[1]
        for edge in (
            "Flow[LoadCitizens -> CitizensPerCountry]",
            "Flow[LoadCities -> CitizensPerCountry]",
            "Flow[CitizensPerCountry -> Summary]",
            "Flow[External -> LoadCitizens]",
            "Flow[External -> LoadCities]",
            "Flow[External -> CitizensPerCountry]",
        ):
            assert edge in flows
        assert flows.count("Flow[External -> CitizensPerCountry]") == 2
        assert "Flow[External -> Summary]" not in flows

    def test_describe_is_the_same_before_the_run_and_every_time(
        self, project, pipeline
    ):
        texts = {pipeline.describe() for _ in range(10)}
        assert texts == {build_pipeline(project).describe()}


class TestDiagram:
    @pytest.fixture
    def lines(self, pipeline) -> list[str]:
        diagram = pipeline.to_diagram()
        assert diagram.startswith("classDiagram\n")
        return diagram.splitlines()

    def test_one_class_per_factory_with_its_stereotype_and_inputs(self, lines):
        # Stripped: the old output indented the stereotype by 5 spaces, we by 4.
        start = lines.index("class CitizensPerCountry {")
        block = [line.strip() for line in lines[start : lines.index("}", start) + 1]]
        assert block == [
            "class CitizensPerCountry {",
            "<<Factory[DataSet[CountryCount]]>>",
            "+DataSet[City]",
            "+DataSet[Citizen]",
            "+int",
            "+SparkRepository[CountryCount]",
            "}",
        ]

    def test_outputs_are_classes_with_schema_fields(self, lines):
        start = lines.index("class DataSetCountryCount {")
        block = [line.strip() for line in lines[start : lines.index("}", start) + 1]]
        assert block == [
            "class DataSetCountryCount {",
            "<<DataSet[CountryCount]>>",
            ">country: string",
            ">citizens: bigint",
            "}",
        ]
        assert "class strFinal {" in lines
        assert "DataSetCountryCount <|.. CitizensPerCountry : Output" in lines
        assert "strFinal <|.. Summary : Output" in lines

    def test_flows_link_consumers_to_outputs(self, lines):
        for flow in (
            "CitizensPerCountry<|--DataSetCitizen:Input",
            "CitizensPerCountry<|--DataSetCity:Input",
            "Summary<|--DataSetCountryCount:Input",
            "CitizensPerCountry<|--intMin_ageExternal:Input",
            "CitizensPerCountry<|--SparkRepositoryCountryCountReportExternal:Input",
            "LoadCitizens<|--SparkRepositoryCitizenCitizensExternal:Input",
            "LoadCities<|--SparkRepositoryCityCitiesExternal:Input",
        ):
            assert flow in lines
        assert len([line for line in lines if "<|--" in line]) == 7

    def test_external_inputs_get_no_class_block(self, lines):
        assert not [line for line in lines if re.match(r"class \w+External ", line)]

    def test_the_diagram_is_deterministic(self, pipeline):
        # 20 diagrams: with two external inputs into one factory, a set-ordered
        # result agrees 20 times with a probability of about 2**-19.
        assert len({pipeline.to_diagram() for _ in range(20)}) == 1


class TestBenchmarks:
    def test_one_result_per_factory_in_execution_order(self, benchmarked):
        results = benchmarked.get_benchmarks()
        assert all(isinstance(r, BenchmarkResult) for r in results)
        assert [r.cls for r in results] == [
            "LoadCitizens",
            "LoadCities",
            "CitizensPerCountry",
            "Summary",
        ]
        for result in results:
            assert min(result.read, result.process) > 0
            assert result.total == pytest.approx(
                result.read + result.process + result.write
            )

    def test_write_is_zero_when_writing_is_disabled(self, benchmarked):
        results = {r.cls: r for r in benchmarked.get_benchmarks()}
        assert results["CitizensPerCountry"].write == 0
        assert results["Summary"].write > 0

    def test_the_result_prints_in_the_old_layout(self, benchmarked):
        text = str(benchmarked.get_benchmarks()[0]).splitlines()
        assert text[0] == "Benchmark class: LoadCitizens"
        assert re.fullmatch(r"Total elapsed time: [\d.e-]+ s", text[1])
        assert [line.split(":")[0] for line in text[2:]] == [
            "read",
            "process",
            "write",
            "=================",
        ]

    def test_a_second_run_reports_only_its_own_results(self, benchmarked):
        """The pipeline reports its last run; each stage accumulates all runs."""
        before = len(benchmarked.stages[0].get_benchmarks())
        benchmarked.run()
        assert len(benchmarked.get_benchmarks()) == 4
        assert len(benchmarked.stages[0].get_benchmarks()) == before + 2
        assert benchmarked.get_last_output() == "UK=2, US=1"

    def test_without_benchmark_there_are_no_results(self, pipeline):
        assert pipeline.get_benchmarks() == []


class TestDocumentedErrors:
    def test_a_missing_delivery_raises_invalid_delivery(self, project):
        pipeline = project.new_pipeline().add_stage_from_type(NeedsMissingInput)
        with pytest.raises(InvalidDeliveryException) as caught:
            pipeline.run()
        assert (
            "Deliverable of type int with deliveryId nobody-provides-this "
            "produced by External is expected in NeedsMissingInput."
        ) in str(caught.value)
        assert isinstance(caught.value, BasePySetlException)

    def test_a_consumer_outside_the_consumer_list_is_rejected(self, project):
        pipeline = project.new_pipeline().add_stage_from_type(ReadsCitizensRepo)
        with pytest.raises(
            InvalidDeliveryException,
            match="Can't find ReadsCitizensRepo in consumer list",
        ):
            pipeline.run()

    def test_an_unfilled_delivery_raises_on_get(self):
        with pytest.raises(InvalidDeliveryException, match="Delivery with no value"):
            NeedsMissingInput().read()

    def test_get_output_of_an_absent_factory_raises_pipeline_exception(self, pipeline):
        with pytest.raises(
            PipelineException, match="There isn't any class NeedsMissingInput"
        ):
            pipeline.get_output(NeedsMissingInput)

    def test_builder_get_before_build_is_caught_by_except_exception(self):
        """Old defect 2: BuilderException derived from BaseException."""
        caught: Exception | None = None
        try:
            PySetlBuilder().get()
        except Exception as error:  # noqa: BLE001 - the point of the test
            caught = error
        assert isinstance(caught, BuilderException)
        assert "No PySetl object built" in str(caught)
