"""``pysetl.utils.exceptions``: the old exception names, as aliases."""

from __future__ import annotations

import pytest

from pysetl import errors
from pysetl.utils import exceptions

ALIASES = {
    "BasePySetlException": errors.PySetlError,
    "AlreadyExistsException": errors.AlreadyRegisteredError,
    "PySparkException": errors.SparkError,
    "InvalidConnectorException": errors.ConnectorError,
    "InvalidConfigException": errors.ConfigError,
    "InvalidDeliveryException": errors.DependencyResolutionError,
    "PipelineException": errors.PipelineError,
    "BuilderException": errors.BuilderError,
}


class TestOldNames:
    @pytest.mark.parametrize(("old", "new"), ALIASES.items())
    def test_old_name_is_the_new_class(self, old, new):
        assert getattr(exceptions, old) is new

    @pytest.mark.parametrize("old", ALIASES)
    def test_every_old_name_is_a_base_pysetl_exception(self, old):
        assert issubclass(getattr(exceptions, old), exceptions.BasePySetlException)

    def test_builder_exception_is_an_exception(self):
        """Deviation: the old ``BuilderException`` derived from ``BaseException``."""
        assert issubclass(exceptions.BuilderException, Exception)

    def test_invalid_config_exception_is_also_a_value_error(self):
        with pytest.raises(ValueError, match="bad"):
            raise exceptions.InvalidConfigException("bad")

    def test_old_name_catches_new_error(self):
        with pytest.raises(exceptions.AlreadyExistsException):
            raise errors.AlreadyRegisteredError("twice")

    def test_upstream_all_names_are_exported(self):
        upstream = {
            "AlreadyExistsException",
            "PySparkException",
            "InvalidConnectorException",
            "InvalidConfigException",
            "PipelineException",
        }
        assert upstream <= set(exceptions.__all__)
