"""A failing factory's error carries its context, Spark's details and a hint."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pysetl.errors import FactoryError, SparkError
from pysetl.utils.redaction import MASK, register_secret
from pysetl.workflow import Deliverable, Delivery, Pipeline
from pysetl.workflow._error_context import explain
from pysetl.workflow.hooks import HookManager

from .conftest import make_factory


def _fail(compute, payload: Any = 1, payload_type: Any = int) -> FactoryError:
    """Run a one-factory pipeline whose process() is ``compute(x=payload)``."""
    broken = make_factory("Broken", int, compute=compute, x=Delivery[payload_type]())  # type: ignore[valid-type]
    pipeline = (
        Pipeline(hooks=HookManager(), name="errors")
        .set_input_from_deliverable(Deliverable[payload_type](payload))  # type: ignore[valid-type]
        .add_stage_from_type(broken)
    )
    with pytest.raises(FactoryError) as info:
        pipeline.run()
    return info.value


def _raise(error: BaseException):
    def compute(**_: Any) -> Any:
        raise error

    return compute


class TestPythonErrors:
    def test_context_and_chained_original(self):
        original = ValueError("bad value")
        error = _fail(_raise(original))
        assert error.__cause__ is original
        assert (error.pipeline, error.stage, error.factory) == ("errors", 0, "Broken")
        assert (error.attempt, error.phase) == (1, "process")
        assert error.run_id
        assert error.error_class is None
        assert error.message_parameters == {}
        assert "ValueError: bad value" in error.message
        assert error.hint == (
            "see the chained exception for the cause in Broken.process()"
        )

    def test_key_error_suggests_close_keys(self):
        payload = {"customer": 1, "order": 2}
        error = _fail(lambda x: x["custmer"], payload=payload, payload_type=dict)
        assert "key 'custmer' is missing" in error.hint
        assert "x['customer']" in error.hint

    def test_key_error_without_close_keys(self):
        error = _fail(lambda x: {}[x], payload=1)
        assert "key 1 is missing" in error.hint
        assert "use .get()" in error.hint

    def test_key_error_without_a_key(self):
        error = _fail(_raise(KeyError()))
        assert "key '?' is missing" in error.hint

    def test_attribute_error_suggests_close_names(self):
        class Order:
            amount = 1

        error = _fail(lambda x: x.amont, payload=Order(), payload_type=object)
        assert "Order has no attribute 'amont'" in error.hint
        assert "did you mean 'amount'" in error.hint

    def test_attribute_error_without_a_name(self):
        error = _fail(_raise(AttributeError("gone")))
        assert error.hint == "an attribute is missing in Broken.process()"

    def test_file_not_found_gives_the_path(self, tmp_path):
        missing = tmp_path / "nope.csv"
        error = _fail(lambda **_: missing.read_text())
        assert str(missing) in error.hint

    def test_secrets_in_the_original_message_are_masked(self):
        secret = f"canary-{uuid.uuid4().hex}"
        register_secret(secret)
        error = _fail(_raise(RuntimeError(f"cannot log in with {secret}")))
        assert secret not in str(error)
        assert secret not in repr(error)
        assert secret not in str(error.context)
        assert MASK in error.message

    def test_our_spark_errors_keep_their_class(self):
        cause = SparkError("x", error_class="FAILED_JDBC.CONNECTION")
        error = _fail(_raise(cause))
        assert error.error_class == "FAILED_JDBC.CONNECTION"

    def test_a_failing_hint_never_hides_the_error(self):
        class Hostile:
            def __dir__(self):
                raise RuntimeError

        error = _fail(lambda x: x.missing, payload=Hostile(), payload_type=object)
        assert error.hint.startswith("see the chained exception")

    def test_attribute_error_without_close_names(self):
        error = _fail(lambda x: x.zzzzzzzz, payload=1)
        assert error.hint == "int has no attribute 'zzzzzzzz' (Broken.process())"

    def test_undelivered_inputs_are_skipped(self):
        needy = make_factory("Needy", int, x=Delivery[int]())()
        hint = explain(KeyError("k"), needy, "read")[2]
        assert hint == (
            "key 'k' is missing from a mapping in Needy.read(); use .get() or "
            "check the producer's output"
        )

    def test_explain_without_a_factory(self):
        assert explain(KeyError("k"), None, "read")[2] == (
            "key 'k' is missing from a mapping in read; use .get() or check the "
            "producer's output"
        )
        assert explain(ValueError(), None, "read") == (None, {}, None)


@pytest.fixture
def orders(spark):
    return spark.createDataFrame([(1, "a")], "order_id int, customer string")


class TestSparkErrors:
    def test_a_missing_column_lists_the_available_ones(self, orders):
        from pyspark.errors import AnalysisException
        from pyspark.sql import DataFrame

        error = _fail(lambda x: x.select("custmer"), orders, DataFrame)
        assert error.error_class.startswith("UNRESOLVED_COLUMN")
        assert error.message_parameters["objectName"] == "`custmer`"
        assert "customer" in error.hint
        assert "order_id" in error.hint
        assert "input 'x'" in error.hint
        assert isinstance(error.__cause__, AnalysisException)
        assert error.context["error_class"] == error.error_class

    def test_a_missing_path_names_it(self, spark, tmp_path):
        missing = tmp_path / "absent"
        error = _fail(lambda **_: spark.read.parquet(str(missing)))
        assert error.error_class == "PATH_NOT_FOUND"
        assert "absent" in error.hint

    def test_py4j_errors_are_read_through_the_java_chain(self, spark):
        """A Java SparkThrowable under a plain Java exception is still found."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import AnalysisException

        with pytest.raises(AnalysisException) as analysis:
            spark.sql("select nope")
        wrapper = spark._jvm.java.lang.RuntimeException(
            "wrapped", analysis.value._origin
        )
        error = _fail(_raise(Py4JJavaError("An error occurred", wrapper)))
        assert isinstance(error.__cause__, Py4JJavaError)
        assert error.error_class.startswith("UNRESOLVED_COLUMN")
        assert "nope" in error.message_parameters["objectName"]

    def test_py4j_errors_without_a_class(self, spark):
        error = _fail(lambda **_: spark._jvm.java.lang.Integer.parseInt("x"))
        assert error.error_class is None

    def test_a_malformed_csv_record_is_named_with_its_file(self, spark, tmp_path):
        """The test failed before: FAILED_READ_FILE.NO_HINT came with no hint."""
        (tmp_path / "people.csv").write_text("id,name\n1,Ada\nthree,Alan\n")
        reader = spark.read.option("header", "true").option("mode", "FAILFAST")
        frame = reader.schema("id int, name string").csv(str(tmp_path / "people.csv"))
        error = _fail(lambda **_: frame.collect())  # count() parses no field
        assert error.error_class == "FAILED_READ_FILE.NO_HINT"
        assert error.hint.startswith(
            "Broken.process() read a malformed record in file:"
        )
        assert "people.csv: [null,Alan]" in error.hint
        assert 'NumberFormatException: For input string: "three"' in error.hint
        assert "mode='PERMISSIVE'" in error.hint

    def test_a_read_failure_without_a_record_has_no_hint(self, spark, tmp_path):
        path = tmp_path / "gone.csv"
        path.write_text("id\n1\n")
        frame = spark.read.schema("id int").csv(str(path))
        path.unlink()
        error = _fail(lambda **_: frame.count())
        assert error.error_class.startswith("FAILED_READ_FILE")
        assert error.hint.startswith("see the chained exception")
