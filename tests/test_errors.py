"""``pysetl.errors``: one exception tree, messages with hints, context for logs."""

from __future__ import annotations

import traceback
import warnings

import pytest

from pysetl import errors
from pysetl.errors import (
    AlreadyRegisteredError,
    BuilderError,
    ConfigError,
    ConnectorError,
    ConnectorUnavailableError,
    DependencyResolutionError,
    FactoryError,
    FactoryOutputError,
    NotificationError,
    PipelineError,
    PySetlDeprecationWarning,
    PySetlError,
    PySetlWarning,
    RunHistoryError,
    SparkError,
    StageError,
)

ERRORS = [
    BuilderError,
    AlreadyRegisteredError,
    ConfigError,
    ConnectorError,
    ConnectorUnavailableError,
    SparkError,
    DependencyResolutionError,
    StageError,
    PipelineError,
    FactoryError,
    FactoryOutputError,
    RunHistoryError,
    NotificationError,
]

PARENTS = {
    BuilderError: PySetlError,
    AlreadyRegisteredError: PySetlError,
    ConfigError: PySetlError,
    ConnectorError: PySetlError,
    ConnectorUnavailableError: ConnectorError,
    SparkError: PySetlError,
    DependencyResolutionError: PySetlError,
    StageError: PySetlError,
    PipelineError: PySetlError,
    FactoryError: PipelineError,
    FactoryOutputError: FactoryError,
    RunHistoryError: PySetlError,
    NotificationError: PySetlError,
}


class TestTree:
    def test_root_is_an_exception(self):
        assert issubclass(PySetlError, Exception)

    @pytest.mark.parametrize(("child", "parent"), PARENTS.items())
    def test_each_error_sits_under_its_parent(self, child, parent):
        assert child.__bases__[0] is parent

    @pytest.mark.parametrize("error", ERRORS)
    def test_catching_the_root_catches_everything(self, error):
        with pytest.raises(PySetlError):
            raise error("x")

    def test_builder_error_is_caught_by_except_exception(self):
        """The old ``BuilderException`` was a ``BaseException``; ours is not."""
        with pytest.raises(Exception) as info:
            raise BuilderError("not built")
        assert type(info.value) is BuilderError

    def test_config_error_is_also_a_value_error(self):
        assert issubclass(ConfigError, ValueError)
        with pytest.raises(ValueError, match="bad config"):
            raise ConfigError("bad config")

    def test_warnings(self):
        assert issubclass(PySetlWarning, UserWarning)
        assert issubclass(PySetlDeprecationWarning, PySetlWarning)
        assert issubclass(PySetlDeprecationWarning, DeprecationWarning)
        with pytest.warns(DeprecationWarning, match="old"):
            warnings.warn("old", PySetlDeprecationWarning, stacklevel=1)

    @pytest.mark.parametrize("name", errors.__all__)
    def test_module_docstring_draws_every_class(self, name):
        """The tree in the module docstring must name every exported class."""
        assert errors.__doc__ is not None
        assert name in errors.__doc__


class TestMessageAndHint:
    def test_str_without_hint_is_the_message(self):
        error = PySetlError("Something failed")
        assert str(error) == "Something failed"
        assert error.message == "Something failed"
        assert error.hint is None
        assert error.args == ("Something failed",)

    def test_str_with_hint_is_still_the_message(self):
        """Old code compares error texts: the hint stays on its attribute."""
        error = PySetlError("Something failed", hint="Do this instead.")
        assert str(error) == "Something failed"
        assert error.args == ("Something failed",)
        assert error.hint == "Do this instead."

    def test_hint_is_a_note_that_tracebacks_show(self):
        error = PySetlError("Something failed", hint="Do this instead.")
        assert error.__notes__ == ["hint: Do this instead."]
        text = "".join(traceback.format_exception(error))
        assert text.endswith("PySetlError: Something failed\nhint: Do this instead.\n")

    def test_changing_the_hint_replaces_its_note(self):
        error = PySetlError("m", hint="first")
        error.add_note("a note of the caller")
        error.hint = "second"
        assert error.__notes__ == ["a note of the caller", "hint: second"]
        error.hint = None
        assert error.__notes__ == ["a note of the caller"]

    def test_an_error_without_hint_has_no_note(self):
        assert PySetlError("m").__notes__ == []

    def test_empty_hint_is_not_rendered(self):
        assert str(PySetlError("m", hint="")) == "m"

    def test_empty_error(self):
        assert str(PySetlError()) == ""

    @pytest.mark.parametrize("error", ERRORS)
    def test_every_error_takes_a_hint(self, error):
        made = error("m", hint="h")
        assert str(made) == "m"
        assert made.hint == "h"

    def test_hint_is_keyword_only(self):
        with pytest.raises(TypeError):
            PySetlError("m", "h")  # type: ignore[misc]

    def test_cause_is_kept_when_wrapping(self):
        cause = OSError("disk full")

        def write() -> None:
            try:
                raise cause
            except OSError as exc:
                msg = "Cannot write 'out.parquet'"
                raise ConnectorError(msg, connector="ParquetConnector") from exc

        with pytest.raises(ConnectorError) as info:
            write()
        assert info.value.__cause__ is cause


class TestContext:
    def test_base_context(self):
        assert PySetlError("m", hint="h").context == {
            "error_type": "PySetlError",
            "hint": "h",
        }

    @pytest.mark.parametrize(
        "error", [BuilderError, AlreadyRegisteredError, StageError, RunHistoryError]
    )
    def test_plain_subclasses_name_themselves(self, error):
        assert error("m").context == {"error_type": error.__name__, "hint": None}

    def test_config_error(self):
        problem = {"loc": ("path",), "msg": "Field required", "input": {}}
        error = ConfigError("invalid", config="csv", errors=[problem])
        assert error.config == "csv"
        assert error.errors == [problem]
        assert error.errors[0] is not problem
        assert error.context == {
            "error_type": "ConfigError",
            "hint": None,
            "config": "csv",
            "errors": [problem],
        }

    def test_config_error_defaults(self):
        error = ConfigError("invalid")
        assert error.config is None
        assert error.errors == []

    def test_connector_error(self):
        error = ConnectorUnavailableError("down", hint="retry", connector="Jdbc(db)")
        assert error.connector == "Jdbc(db)"
        assert error.context == {
            "error_type": "ConnectorUnavailableError",
            "hint": "retry",
            "connector": "Jdbc(db)",
        }
        assert ConnectorError("x").connector is None

    def test_spark_error(self):
        error = SparkError(
            "unresolved",
            error_class="UNRESOLVED_COLUMN",
            message_parameters={"objectName": "`x`"},
        )
        assert error.context == {
            "error_type": "SparkError",
            "hint": None,
            "error_class": "UNRESOLVED_COLUMN",
            "message_parameters": {"objectName": "`x`"},
        }

    def test_spark_error_defaults(self):
        error = SparkError("x")
        assert error.error_class is None
        assert error.message_parameters == {}

    def test_dependency_resolution_error(self):
        error = DependencyResolutionError(
            "ambiguous", problems=("p1", "p2"), candidates=("A", "B")
        )
        assert error.problems == ["p1", "p2"]
        assert error.candidates == ["A", "B"]
        assert error.context == {
            "error_type": "DependencyResolutionError",
            "hint": None,
            "problems": ["p1", "p2"],
            "candidates": ["A", "B"],
        }

    def test_notification_error(self):
        error = NotificationError(
            "refused",
            hint="check the token",
            notifier="slack",
            endpoint="https://hooks.slack.com/**********",
            status=403,
            retryable=False,
        )
        assert error.context == {
            "error_type": "NotificationError",
            "hint": "check the token",
            "notifier": "slack",
            "endpoint": "https://hooks.slack.com/**********",
            "status": 403,
            "retryable": False,
        }

    def test_notification_error_defaults(self):
        error = NotificationError("x")
        assert (error.notifier, error.endpoint, error.status) == (None, None, None)
        assert error.retryable is True

    def test_dependency_resolution_error_defaults(self):
        error = DependencyResolutionError("x")
        assert error.problems == []
        assert error.candidates == []

    def test_factory_error(self):
        error = FactoryError(
            "failed",
            hint="check the input",
            run_id="r1",
            pipeline="flights",
            stage=2,
            factory="Clean",
            attempt=3,
            phase="process",
        )
        assert error.context == {
            "error_type": "FactoryError",
            "hint": "check the input",
            "run_id": "r1",
            "pipeline": "flights",
            "stage": 2,
            "factory": "Clean",
            "attempt": 3,
            "phase": "process",
            "error_class": None,
            "message_parameters": {},
        }

    def test_factory_error_keeps_sparks_details(self):
        error = FactoryError(
            "failed",
            error_class="UNRESOLVED_COLUMN.WITH_SUGGESTION",
            message_parameters={"objectName": "`x`"},
        )
        assert error.context["error_class"] == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
        assert error.context["message_parameters"] == {"objectName": "`x`"}

    def test_factory_error_defaults(self):
        error = FactoryError("x")
        assert error.attempt == 1
        assert (error.run_id, error.pipeline, error.stage) == (None, None, None)
        assert (error.factory, error.phase) == (None, None)
        assert isinstance(error, PipelineError)
