"""local_spark_session: the settings tests run with."""

from __future__ import annotations

import sys

import pytest

from pysetl.testing import TEST_SPARK_CONF, local_spark_session


def test_the_running_session_is_reused_with_the_test_settings(spark):
    assert local_spark_session() is spark
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.master") == "local[1]"
    for key in ("spark.sql.shuffle.partitions", "spark.ui.enabled"):
        assert conf.get(key) == TEST_SPARK_CONF[key]
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "warehouse" in conf.get("spark.sql.warehouse.dir")  # a temporary folder


def test_without_pyspark_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ImportError, match=r"pip install 'pysetl\[spark\]'"):
        local_spark_session()
