"""``PySetl`` and ``PySetlBuilder``: session lifecycle, configs, inputs, pipelines."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pyspark import SparkConf
from pyspark.sql.types import IntegerType, StringType
from typedspark import Column, DataSet, Schema

from pysetl import PySetl, PySetlBuilder
from pysetl.config import Config, CsvConfig
from pysetl.errors import BuilderError, ConfigError
from pysetl.storage.repository import SparkRepository
from pysetl.utils.exceptions import BuilderException, InvalidConfigException
from pysetl.workflow import Deliverable, Delivery, Factory, Stage
from pysetl.workflow import spark as workflow_spark
from pysetl.workflow.hooks import HookManager


class Citizen(Schema):
    name: Column[StringType]
    age: Column[IntegerType]


class LoadCitizens(Factory[DataSet[Citizen]]):
    repo = Delivery[SparkRepository[Citizen]](delivery_id="citizens")

    def read(self):
        self.data = self.repo.get().load()
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return self.data


class CountAdults(Factory[int]):
    citizens = Delivery[DataSet[Citizen]](producer=LoadCitizens)
    minimum = Delivery[int](delivery_id="minimum")

    def read(self):
        self.frame = self.citizens.get()
        self.threshold = self.minimum.get()
        return self

    def process(self):
        self.count = self.frame.filter(self.frame.age >= self.threshold).count()
        return self

    def write(self):
        return self

    def get(self):
        return self.count


class CountRows(Factory[int]):
    citizens = Delivery[DataSet[Citizen]](producer=LoadCitizens)

    def read(self):
        self.frame = self.citizens.get()
        return self

    def process(self):
        return self

    def write(self):
        return self

    def get(self):
        return self.frame.count()


class FakeSession:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "citizens.csv"
    path.write_text("name,age\nada,36\nbob,12\ncy,70\n")
    return str(path)


@pytest.fixture
def configs(csv_path):
    return {"citizens": CsvConfig(path=csv_path, inferSchema="true")}


@pytest.fixture
def pysetl_ctx(spark, configs):
    with HookManager() as hooks:
        yield PySetl.builder().set_config(configs).set_hooks(hooks).getOrCreate()


@pytest.fixture
def restore_shuffle(spark):
    before = spark.conf.get("spark.sql.shuffle.partitions")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", before)


class TestBuilder:
    def test_reuses_the_running_session_and_does_not_own_it(self, spark, configs):
        built = PySetl.builder().set_config(configs).getOrCreate()
        assert built.spark is spark
        assert not built.owns_session
        with built:
            pass
        assert spark.sparkContext._jsc is not None  # still running

    def test_injected_session_is_used(self, spark):
        built = PySetlBuilder().set_spark_session(spark).getOrCreate()
        assert built.spark is spark
        assert not built.owns_session
        assert built.config_dict == {}

    def test_get_before_build(self):
        with pytest.raises(BuilderError, match="No PySetl object built"):
            PySetlBuilder().get()
        assert issubclass(BuilderException, Exception)

    def test_layered_spark_settings(self):
        conf = SparkConf(loadDefaults=False).setAll(
            [("spark.a", "conf"), ("spark.b", "conf"), ("spark.c", "conf")]
        )
        spark_config = Config(
            app_name="etl", **{"spark.b": "config", "spark.c": "config"}
        )
        builder = (
            PySetlBuilder()
            .set_spark_config(conf)
            .set_config({"spark": spark_config})
            .set_shuffle_partitions(3)
        )
        builder.set_spark_config(conf)
        conf.set("spark.sql.shuffle.partitions", "9")
        spark_config.set("spark.c", "config")
        app_name, settings = builder.spark_settings()
        assert app_name == "etl"
        assert settings == {
            "spark.a": "conf",
            "spark.b": "config",
            "spark.c": "config",
            "spark.sql.shuffle.partitions": "3",
        }

    def test_app_name_defaults(self):
        assert PySetlBuilder().spark_settings() == ("default", {})
        spark_only = PySetlBuilder(config={"spark": Config()})
        assert spark_only.spark_settings()[0] == "default_app_name"

    @pytest.mark.usefixtures("restore_shuffle")
    def test_build_spark_session_applies_modifiable_settings(self, spark):
        session = PySetlBuilder(shuffle_partitions=4, spark_master="local[1]")
        assert session.build_spark_session() is spark
        assert spark.conf.get("spark.sql.shuffle.partitions") == "4"

    def test_owns_a_session_it_started(self, monkeypatch):
        fake = FakeSession()
        monkeypatch.setattr(workflow_spark, "active_spark_context", lambda: None)
        monkeypatch.setattr(PySetlBuilder, "build_spark_session", lambda _self: fake)
        with PySetlBuilder().getOrCreate() as ctx:
            assert ctx.owns_session
        assert fake.stopped == 1

    def test_constructor_arguments(self, spark):
        builder = PySetlBuilder(True, {"k": Config()}, 2, "local[2]", spark)
        assert (builder.benchmark, builder.shuffle_partitions) == (True, 2)
        assert builder.set_spark_master("local[1]").spark_master == "local[1]"
        assert builder.getOrCreate().benchmark


class TestLifecycle:
    def test_stop_stops_the_session(self):
        fake = FakeSession()
        PySetl(fake, {}).stop()
        assert fake.stopped == 1

    def test_context_manager_leaves_a_foreign_session_running(self):
        fake = FakeSession()
        with PySetl(fake, {}) as ctx:
            assert ctx.spark is fake
        assert fake.stopped == 0

    def test_import_does_not_load_spark_or_storage(self):
        code = (
            "import sys, pysetl; "
            "assert pysetl.PySetl and pysetl.PySetlBuilder and pysetl.__version__; "
            "bad = [m for m in ('pyspark', 'pysetl.storage') if m in sys.modules]; "
            "assert not bad, bad"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120)  # noqa: S603

    def test_repr(self):
        assert repr(PySetl(FakeSession(), {"a": Config()})) == (
            "PySetl(configs=['a'], inputs=[], pipelines=0)"
        )


QUIET_SPARK = """
import logging, os, sys, time
logging.basicConfig(level=logging.INFO, format="pysetl-log %(message)s")
from pysetl import PySetlBuilder
from pysetl.config import Config
spark_config = Config(app_name="quiet", **{"spark.ui.enabled": "false"})
builder = PySetlBuilder(config={"spark": spark_config}, spark_master="local[1]")
with builder.getOrCreate() as context:
    spark = context.spark
    # A stage of over half a second: Spark would draw a progress bar.
    spark.range(0, 2, 1, 1).rdd.map(lambda x: time.sleep(1) or x).count()
    logger = spark.sparkContext._jvm.org.apache.logging.log4j.LogManager
    print("root level", logger.getRootLogger().getLevel())
print("SPARK_LOCAL_IP set after:", "SPARK_LOCAL_IP" in os.environ)
"""


@pytest.mark.spark
class TestQuietSpark:
    """Spark's console output when pysetl starts the JVM (issue 10).

    Each test starts a JVM in a fresh interpreter: the shared session of the
    test run is already started, and a running session is left as it is.
    """

    @staticmethod
    def start(**variables):
        environ = {
            name: value
            for name, value in os.environ.items()
            if name not in {"SPARK_LOCAL_IP", "SPARK_SUBMIT_OPTS", "SPARK_REMOTE"}
            and not name.startswith("PYSETL_")
        }
        environ |= {"PYSETL_OBSERVE": "0", **variables}
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", QUIET_SPARK],
            capture_output=True,
            text=True,
            timeout=300,
            env=environ,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr

    def test_quiet_by_default(self):
        out, err = self.start()
        assert "root level WARN" in out
        for noise in (
            "resolves to a loopback address",  # the one line below says it
            "Set SPARK_LOCAL_IP",
            "Using Spark's default log4j profile",
            "Setting default log level",
            "NativeCodeLoader",
            "[Stage ",  # stderr is a pipe: no progress bars
            " INFO ",
        ):
            assert noise not in err, err
        assert err.count("pysetl-log spark_binds_to_loopback") == 1, err
        assert "SPARK_LOCAL_IP set after: False" in out

    def test_louder_with_pysetl_spark_log_level(self):
        out, err = self.start(PYSETL_SPARK_LOG_LEVEL="info")
        assert "root level INFO" in out
        assert "INFO SparkContext: Running Spark version" in err
        assert "Setting default log level" not in err

    def test_a_running_session_is_left_as_it_is(self, spark):
        root = spark.sparkContext._jvm.org.apache.logging.log4j.LogManager
        before = str(root.getRootLogger().getLevel())
        built = PySetlBuilder(spark_log_level="TRACE").build_spark_session()
        assert built is spark
        assert str(root.getRootLogger().getLevel()) == before
        assert "SPARK_LOCAL_IP" not in os.environ


class TestRepositories:
    def test_set_from_config_registers_a_typed_deliverable(self, pysetl_ctx):
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", consumers={LoadCitizens}, delivery_id="citizens"
        )
        assert pysetl_ctx.has_external_input("citizens")
        deliverable = pysetl_ctx.list_inputs()["citizens"]
        assert deliverable.payload_type == SparkRepository[Citizen]
        assert deliverable.consumers == {LoadCitizens}
        assert deliverable.delivery_id == "citizens"
        assert isinstance(deliverable.payload, SparkRepository)

    def test_missing_config(self, pysetl_ctx):
        with pytest.raises(
            InvalidConfigException, match="No config found with key: nope"
        ):
            pysetl_ctx.set_spark_repository_from_config(Citizen, "nope")
        with pytest.raises(ConfigError) as info:
            pysetl_ctx.reset_spark_repository_from_config(Citizen, "nope")
        assert "citizens" in info.value.hint

    def test_set_keeps_an_identical_registration(self, pysetl_ctx):
        pysetl_ctx.set_spark_repository_from_config(Citizen, "citizens")
        first = pysetl_ctx.list_inputs()["citizens"]
        pysetl_ctx.set_spark_repository_from_config(Citizen, "citizens")
        assert pysetl_ctx.list_inputs()["citizens"] is first

    def test_set_again_without_consumers_keeps_the_first_consumers(self, pysetl_ctx):
        """As in the old pysetl: leaving consumers out does not open the input."""
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", consumers={LoadCitizens}, delivery_id="c"
        )
        first = pysetl_ctx.list_inputs()["citizens"]
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", delivery_id="c"
        )
        assert pysetl_ctx.list_inputs()["citizens"] is first
        assert first.consumers == {LoadCitizens}

    def test_set_again_with_other_consumers_replaces_them(self, pysetl_ctx):
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", consumers={LoadCitizens}, delivery_id="c"
        )
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", consumers=set(), delivery_id="c"
        )
        assert pysetl_ctx.list_inputs()["citizens"].consumers == set()

    def test_set_replaces_a_different_registration(self, pysetl_ctx):
        """Changed: the old set_ silently kept the old registration."""
        pysetl_ctx.set_spark_repository_from_config(Citizen, "citizens")
        pysetl_ctx.set_spark_repository_from_config(
            Citizen, "citizens", delivery_id="x"
        )
        assert pysetl_ctx.list_inputs()["citizens"].delivery_id == "x"

    def test_reset_always_replaces(self, pysetl_ctx):
        pysetl_ctx.reset_spark_repository_from_config(Citizen, "citizens")
        first = pysetl_ctx.list_inputs()["citizens"]
        pysetl_ctx.reset_spark_repository_from_config(Citizen, "citizens", cache=True)
        second = pysetl_ctx.list_inputs()["citizens"]
        assert second is not first
        assert second.payload.cache

    def test_get_sparkrepository_does_not_register(self, pysetl_ctx):
        """Changed: it used to register the repository as a side effect."""
        repository = pysetl_ctx.get_sparkrepository(Citizen, "citizens")
        assert isinstance(repository, SparkRepository)
        assert not pysetl_ctx.has_external_input("citizens")
        pysetl_ctx.set_spark_repository_from_config(Citizen, "citizens")
        registered = pysetl_ctx.list_inputs()["citizens"].payload
        assert pysetl_ctx.get_sparkrepository(Citizen, "citizens") is registered

    def test_existing_repository(self, pysetl_ctx):
        repository = pysetl_ctx.get_sparkrepository(Citizen, "citizens")
        pysetl_ctx.set_spark_repository(repository, "mine", delivery_id="m")
        first = pysetl_ctx.list_inputs()["mine"]
        assert first.payload is repository
        pysetl_ctx.set_spark_repository(repository, "mine", delivery_id="m")
        assert pysetl_ctx.list_inputs()["mine"] is first
        pysetl_ctx.set_spark_repository(
            repository, "mine", consumers={LoadCitizens}, delivery_id="m"
        )
        with_consumers = pysetl_ctx.list_inputs()["mine"]
        assert with_consumers.consumers == {LoadCitizens}
        pysetl_ctx.set_spark_repository(repository, "mine", delivery_id="m")
        assert pysetl_ctx.list_inputs()["mine"] is with_consumers
        pysetl_ctx.reset_spark_repository(repository, "mine")
        assert pysetl_ctx.list_inputs()["mine"] is not first
        assert pysetl_ctx.list_inputs()["mine"].delivery_id == ""


class TestPipelines:
    def test_canonical_usage(self, spark, configs):
        """The contract's section 7.3, end to end."""
        with HookManager() as hooks:
            ctx = PySetl.builder().set_config(configs).set_hooks(hooks).getOrCreate()
            ctx.set_spark_repository_from_config(
                Citizen, "citizens", consumers={LoadCitizens}, delivery_id="citizens"
            )
            pipe = ctx.new_pipeline().set_input_from_deliverable(
                Deliverable[int](18, delivery_id="minimum")
            )
            pipe.add_stage(Stage().add_factory_from_type(LoadCitizens))
            pipe.add_stage(
                Stage()
                .add_factory_from_type(CountAdults)
                .add_factory_from_type(CountRows)
            )
            pipe.run()
        assert pipe.get_last_output() == 3
        assert pipe.get_output(CountAdults) == 2
        assert "Factory: CountAdults" in pipe.describe()
        assert pipe.to_diagram().startswith("classDiagram")
        assert pipe.get_benchmarks() == []
        assert pipe.spark is spark

    def test_new_pipeline_takes_current_inputs_only(self, pysetl_ctx):
        pysetl_ctx.set_spark_repository_from_config(Citizen, "citizens")
        early = pysetl_ctx.new_pipeline()
        pysetl_ctx.reset_spark_repository_from_config(
            Citizen, "citizens", delivery_id="x"
        )
        late = pysetl_ctx.new_pipeline(benchmark=True, name="late")
        assert [d.delivery_id for d in early.dispatcher.get_registry().values()] == [""]
        assert [d.delivery_id for d in late.dispatcher.get_registry().values()] == ["x"]
        assert (early.benchmarked, late.benchmarked) == (False, True)
        assert late.pipeline_name == "late"
        assert pysetl_ctx.get_pipeline(late.uuid) is late
        assert pysetl_ctx.size == 2

    def test_benchmark_default_comes_from_the_builder(self, spark):
        ctx = PySetlBuilder(benchmark=True).set_spark_session(spark).getOrCreate()
        assert ctx.new_pipeline().benchmarked


class TestValidation:
    def test_build_reports_every_invalid_setting(self):
        builder = PySetlBuilder(
            config={"a": {"path": "x"}, "b": "y"}, shuffle_partitions=0
        )
        with pytest.raises(ConfigError) as info:
            builder.build()
        assert [e["loc"] for e in info.value.errors] == [
            ("config", "a"),
            ("config", "b"),
            ("shuffle_partitions",),
        ]
        assert "3 invalid setting(s)" in str(info.value)
        with pytest.raises(BuilderError):
            builder.get()
