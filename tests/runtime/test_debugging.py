"""The ``checkpoints:`` and ``debug:`` config sections, and the post-mortem frame."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from pysetl.config import load_config
from pysetl.errors import ConfigError, FactoryError
from pysetl.logs import configure_logging, reset_logging
from pysetl.runtime import _debugging
from pysetl.workflow import Delivery, Factory, Pipeline
from pysetl.workflow.checkpoint import CheckpointStore


def _config(tmp_path: Any, text: str) -> Any:
    base = tmp_path / "conf" / "base"
    base.mkdir(parents=True)
    (base / "debug.yaml").write_text(text)
    return load_config(tmp_path / "conf")


class TestCheckpointStore:
    def test_off_by_default(self, tmp_path):
        assert _debugging.checkpoint_store(None, tmp_path) is None

    def test_the_config_turns_it_on_with_its_keep_and_path(self, tmp_path):
        config = _config(
            tmp_path, "checkpoints: {enabled: true, keep: 7, path: build/cp}\n"
        )
        store = _debugging.checkpoint_store(config, tmp_path)
        assert isinstance(store, CheckpointStore)
        assert (store.root, store.keep, store.write) == (tmp_path / "build/cp", 7, True)

    def test_the_option_wins_over_the_config(self, tmp_path):
        config = _config(tmp_path, "checkpoints: {enabled: true}\n")
        assert _debugging.checkpoint_store(config, tmp_path, enabled=False) is None

    def test_a_run_that_reads_back_gets_a_store_that_only_reads(self, tmp_path):
        store = _debugging.checkpoint_store(None, tmp_path, reads=True)
        assert store is not None
        assert store.write is False
        assert store.root == tmp_path / ".pysetl" / "checkpoints"

    def test_no_checkpoint_turns_off_what_the_code_asked_for(self, tmp_path):
        pipeline = Pipeline(checkpoint=CheckpointStore(tmp_path))
        _debugging.use_checkpoints(pipeline, None, tmp_path, enabled=False, reads=False)
        assert pipeline.checkpoint is None

    def test_a_bad_key_is_named(self, tmp_path):
        config = _config(tmp_path, "checkpoints: {keep: 0}\n")
        with pytest.raises(ConfigError, match="keep"):
            _debugging.checkpoint_store(config, tmp_path)


class TestSampleSize:
    @pytest.fixture
    def debug_mode(self):
        configure_logging(debug=True)
        yield
        reset_logging()

    def test_the_option_wins(self, tmp_path):
        config = _config(tmp_path, "debug: {sample_rows: 9}\n")
        assert _debugging.sample_size(config, 3) == 3

    def test_the_config_counts_only_in_debug_mode(self, tmp_path):
        config = _config(tmp_path, "debug: {sample_rows: 9}\n")
        assert _debugging.sample_size(config, None) == 0

    @pytest.mark.usefixtures("debug_mode")
    def test_in_debug_mode_the_config_samples(self, tmp_path):
        config = _config(tmp_path, "debug: {sample_rows: 9}\n")
        assert _debugging.sample_size(config, None) == 9
        assert _debugging.sample_size(None, None) == 0

    def test_too_many_rows_are_refused(self, tmp_path):
        config = _config(tmp_path, "debug: {sample_rows: 5000}\n")
        with pytest.raises(ConfigError, match="sample_rows"):
            _debugging.sample_size(config, None)


class Source(Factory[list[int]]):
    def read(self) -> Any:
        return self

    def process(self) -> Any:
        return self

    def write(self) -> Any:
        return self

    def get(self) -> list[int]:
        return [1, 2, 3]


def _helper(values: list[int]) -> int:
    return values[10]


class Fails(Factory[int]):
    source = Delivery[list[int]]()

    def read(self) -> Any:
        return self

    def process(self) -> Any:
        self.seen = self.source.get()
        self.n = _helper(self.seen)  # raises in a helper below the factory
        return self

    def write(self) -> Any:
        return self

    def get(self) -> int:
        return self.n


class TestPostMortem:
    def test_pdb_starts_in_the_factorys_frame_not_the_deepest(self):
        pipeline = Pipeline().add_stage_from_type(Source).add_stage_from_type(Fails)
        with pytest.raises(FactoryError) as info:
            pipeline.run()
        stdin = io.StringIO("p self.source.get(), self.seen\nq\n")
        stdout = io.StringIO()
        tracer = sys.gettrace()  # coverage's, when the suite measures it
        assert _debugging.post_mortem(info.value, stdin=stdin, stdout=stdout)
        # Quitting pdb cleared the trace function: post_mortem gives it back
        # (it cost the suite's coverage every test after this one).
        assert sys.gettrace() is tracer
        out = stdout.getvalue()
        assert "post-mortem in Fails.process()" in out
        assert "its inputs: self.source.get()" in out
        assert "([1, 2, 3], [1, 2, 3])" in out

    def test_an_error_without_a_factory_frame_has_none(self):
        assert _debugging.post_mortem(ValueError("no traceback")) is False
