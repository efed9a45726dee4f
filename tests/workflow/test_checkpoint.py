"""Stage checkpoints without Spark: JSON values, manifests, retention, replays."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from pysetl.errors import CheckpointError, CheckpointWarning, FactoryError
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage
from pysetl.workflow._checkpoint_values import (
    UnsupportedValueError,
    decode,
    encode,
)
from pysetl.workflow.checkpoint import CheckpointStore
from pysetl.workflow.hooks import hook_impl


class Calls:
    """Which factories ran, and whether the last one fails."""

    ran: list[str] = []  # noqa: RUF012 - reset by the fixture
    fail = False


@pytest.fixture(autouse=True)
def _calls() -> None:
    Calls.ran = []
    Calls.fail = False


class Numbers(Factory[list[int]]):
    def read(self) -> Any:
        return self

    def process(self) -> Any:
        Calls.ran.append("Numbers")
        self.out = [3, 1, 2]
        return self

    def write(self) -> Any:
        return self

    def get(self) -> list[int]:
        return self.out


class Words(Factory[tuple[str, str]]):
    def read(self) -> Any:
        return self

    def process(self) -> Any:
        Calls.ran.append("Words")
        self.out = ("a", "b")
        return self

    def write(self) -> Any:
        return self

    def get(self) -> tuple[str, str]:
        return self.out


class Summary(Factory[dict[str, Any]]):
    numbers = Delivery[list[int]]()
    words = Delivery[tuple[str, str]]()

    def read(self) -> Any:
        return self

    def process(self) -> Any:
        Calls.ran.append("Summary")
        self.out = {"total": sum(self.numbers.get()), "words": self.words.get()}
        return self

    def write(self) -> Any:
        return self

    def get(self) -> dict[str, Any]:
        return self.out


class Report(Factory[str]):
    summary = Delivery[dict[str, Any]]()

    def read(self) -> Any:
        return self

    def process(self) -> Any:
        Calls.ran.append("Report")
        if Calls.fail:
            msg = "the report's printer is out of paper"
            raise RuntimeError(msg)
        self.out = f"{self.summary.get()['total']} {self.summary.get()['words']}"
        return self

    def write(self) -> Any:
        return self

    def get(self) -> str:
        return self.out


class Opaque(Factory[object], check_output=False):
    def read(self) -> Any:
        return self

    def process(self) -> Any:
        return self

    def write(self) -> Any:
        return self

    def get(self) -> object:
        return object()


def build(store: CheckpointStore | None, **options: Any) -> Pipeline:
    """Stage 0: Numbers, Words; stage 1: Summary; stage 2: Report."""
    return (
        Pipeline(checkpoint=store, name="daily", **options)
        .add_stage(Stage().add_factory(Numbers()).add_factory(Words()))
        .add_stage_from_type(Summary)
        .add_stage_from_type(Report)
    )


@pytest.fixture
def store(tmp_path: Any) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints", keep=2)


class TestJsonValues:
    @pytest.mark.parametrize(
        "value",
        [
            None,
            [1, 2.5, "x", True, None],
            (1, ("nested", [2])),
            {"a": 1, 2: "two", (3, 4): {5, 6}},
            frozenset({"x", "y"}),
            {b"\x00bytes", Decimal("1.10")},
            [
                dt.date(2026, 12, 4),
                dt.datetime(2026, 12, 4, 1, 2, 3, tzinfo=dt.timezone.utc),
            ],
            float("inf"),
        ],
    )
    def test_a_value_reads_back_equal_and_of_the_same_types(self, value: Any) -> None:
        back = decode(json.loads(json.dumps(encode(value))))
        assert back == value
        assert repr(back) == repr(value) or isinstance(value, set | frozenset)
        assert type(back) is type(value)

    def test_a_part_without_a_json_form_is_named(self) -> None:
        with pytest.raises(UnsupportedValueError, match=r"value\[1\]\['k'\] is a "):
            encode([1, {"k": object()}])

    def test_an_unknown_tag_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown type tag 'pickle'"):
            decode({"$type": "pickle", "value": "..."})


class TestCheckpoints:
    def test_each_stage_has_a_manifest_and_its_files(
        self, store: CheckpointStore
    ) -> None:
        pipeline = build(store).run()
        run = store.runs("daily")[0]
        assert (run.run_id, run.stages) == (pipeline.run_id, (0, 1, 2))
        manifest = store.manifest(run.run_id, 0)
        assert [(e.factory, e.format, e.type) for e in manifest.entries] == [
            ("Numbers", "json", "list[int]"),
            ("Words", "json", "tuple[str, str]"),
        ]
        entry = manifest.entries[0]
        assert entry.producer.endswith(".Numbers")
        assert entry.path is not None
        folder = store.stage_dir(run.run_id, 0)
        assert json.loads((folder / entry.path).read_text())["value"] == [3, 1, 2]
        assert json.loads((folder / "manifest.json").read_text())["stage"] == 0

    def test_no_checkpoint_is_written_unless_asked(self, tmp_path: Any) -> None:
        build(None).run()
        assert list(tmp_path.iterdir()) == []

    def test_only_the_last_keep_runs_are_kept(self, store: CheckpointStore) -> None:
        ids = [build(store).run().run_id for _ in range(3)]
        assert [r.run_id for r in store.runs()] == ids[:0:-1]
        assert not store.run_dir(ids[0]).exists()

    def test_keep_must_be_one_or_more(self, tmp_path: Any) -> None:
        with pytest.raises(CheckpointError, match="keep=0") as info:
            CheckpointStore(tmp_path, keep=0)
        assert "1 or more" in str(info.value.hint)

    def test_a_value_without_a_pickle_free_form_is_left_out_and_named(
        self, store: CheckpointStore
    ) -> None:
        class After(Factory[int]):
            opaque = Delivery[object]()

            def read(self) -> Any:
                return self

            def process(self) -> Any:
                return self

            def write(self) -> Any:
                return self

            def get(self) -> int:
                return 1

        def make() -> Pipeline:
            return (
                Pipeline(checkpoint=store, name="opaque")
                .add_stage_from_type(Opaque)
                .add_stage_from_type(After)
            )

        with pytest.warns(CheckpointWarning, match=r"Factory 'Opaque' \(.*Opaque\)"):
            make().run()
        entry = store.manifest(store.runs()[0].run_id, 0).entries[0]
        assert entry.format == "unsupported"
        assert "builtins.object" in str(entry.reason)
        with pytest.raises(CheckpointError, match="could not checkpoint") as info:
            make().run(from_stage=1)
        assert "--from-stage 0" in str(info.value.hint)
        assert "JSON-able" in str(info.value.hint)

    def test_a_checkpoint_of_another_shape_is_refused_before_anything_runs(
        self, store: CheckpointStore
    ) -> None:
        build(store).run()
        Calls.ran = []
        changed = (
            Pipeline(checkpoint=store, name="daily")
            .add_stage_from_type(Opaque)
            .add_stage_from_type(Numbers)
        )
        with pytest.raises(CheckpointError, match="has nothing for factory 'Opaque'"):
            changed.run(from_stage=1)
        assert Calls.ran == []


class TestResume:
    def test_completed_stages_are_read_back_not_run(
        self, store: CheckpointStore
    ) -> None:
        Calls.fail = True
        failed = build(store)
        with pytest.raises(FactoryError):
            failed.run()
        assert Calls.ran == ["Numbers", "Words", "Summary", "Report"]
        Calls.ran, Calls.fail = [], False
        resumed = build(store).run(resume=str(failed.run_id))
        assert Calls.ran == ["Report"]
        assert resumed.get_last_output() == "6 ('a', 'b')"
        assert resumed.resumed_from == failed.run_id
        # The resumed run's own checkpoint holds every stage: it can be read
        # back in turn, even once the failed run is pruned.
        assert store.run(str(resumed.run_id)).stages == (0, 1, 2)  # type: ignore[union-attr]

    def test_skipped_factories_are_told_to_observers(
        self, store: CheckpointStore
    ) -> None:
        Calls.fail = True
        with pytest.raises(FactoryError):
            build(store).run()
        failed = store.runs()[0].run_id
        seen: list[tuple[str, str]] = []

        class Skips:
            pysetl_inline = True

            @hook_impl
            def on_factory_skipped(self, *, factory_name: str, reason: str) -> None:
                seen.append((factory_name, reason))

        Calls.fail = False
        with HookManager(observers=[Skips()]) as hooks:
            build(store, hooks=hooks).run(resume=failed)
        reason = f"restored from the checkpoint of run {failed}"
        assert seen == [("Numbers", reason), ("Words", reason), ("Summary", reason)]

    def test_a_run_without_a_checkpoint_cannot_be_resumed(
        self, store: CheckpointStore
    ) -> None:
        with pytest.raises(CheckpointError, match="has no checkpoint") as info:
            build(store).run(resume="01NOSUCHRUN")
        assert "--checkpoint" in str(info.value.hint)
        assert Calls.ran == []

    def test_a_run_of_another_pipeline_cannot_be_resumed(
        self, store: CheckpointStore
    ) -> None:
        Calls.fail = True
        with pytest.raises(FactoryError):
            build(store).run()
        other = Pipeline(checkpoint=store, name="weekly").add_stage_from_type(Numbers)
        with pytest.raises(CheckpointError, match="is of pipeline 'daily'"):
            other.run(resume=store.runs()[0].run_id)


class TestOnlyAndFromStage:
    def test_only_runs_one_factory_on_the_last_checkpoint(
        self, store: CheckpointStore
    ) -> None:
        build(store).run()
        Calls.ran = []
        reader = CheckpointStore(store.root, write=False)
        pipeline = build(reader).run(only="Summary")
        assert Calls.ran == ["Summary"]
        assert pipeline.get_output(Summary) == {"total": 6, "words": ("a", "b")}
        [summary] = pipeline.get_deliverable(dict[str, Any])
        assert summary.payload == {"total": 6, "words": ("a", "b")}
        assert pipeline.get_deliverable(str) == []  # Report did not run
        assert len(store.runs()) == 1  # a store that only reads writes nothing

    def test_from_stage_runs_that_stage_and_the_later_ones(
        self, store: CheckpointStore
    ) -> None:
        build(store).run()
        Calls.ran = []
        assert build(store).run(from_stage=2).get_last_output() == "6 ('a', 'b')"
        assert Calls.ran == ["Report"]

    def test_without_a_checkpoint_the_error_says_to_make_one(
        self, store: CheckpointStore
    ) -> None:
        with pytest.raises(CheckpointError, match="No checkpoint of pipeline") as info:
            build(store).run(from_stage=1)
        assert "pysetl run --checkpoint" in str(info.value.hint)
        assert Calls.ran == []

    def test_an_unknown_factory_or_stage_lists_what_there_is(
        self, store: CheckpointStore
    ) -> None:
        with pytest.raises(CheckpointError, match="no factory 'Nope'") as info:
            build(store).run(only="Nope")
        assert "Numbers, Words, Summary, Report" in str(info.value.hint)
        with pytest.raises(CheckpointError, match="no stage 3") as info:
            build(store).run(from_stage=3)
        assert "from 0 to 2" in str(info.value.hint)

    def test_one_way_at_a_time(self, store: CheckpointStore) -> None:
        with pytest.raises(CheckpointError, match="Choose one"):
            build(store).run(only="Report", from_stage=1)

    def test_stage_zero_needs_no_checkpoint(self, store: CheckpointStore) -> None:
        assert build(None).run(only="Words").get_output(Words) == ("a", "b")
        assert Calls.ran == ["Words"]


class Recorder:
    """Which stage events an observed run emits."""

    pysetl_inline = True

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    @hook_impl
    def before_stage_run(self, *, stage_id: int) -> None:
        self.events.append(("before", stage_id))

    @hook_impl
    def after_stage_run(self, *, stage_id: int) -> None:
        self.events.append(("after", stage_id))

    @hook_impl
    def on_stage_run_failed(self, *, stage_id: int) -> None:
        self.events.append(("failed", stage_id))


class TestEdges:
    def test_a_run_that_completed_every_stage_has_nothing_to_resume(
        self, store: CheckpointStore
    ) -> None:
        done = build(store).run()
        with pytest.raises(CheckpointError, match="nothing to resume"):
            build(store).run(resume=str(done.run_id))

    def test_only_runs_between_its_stage_events_and_fails_as_a_run_does(
        self, store: CheckpointStore
    ) -> None:
        build(store).run()
        recorder = Recorder()
        Calls.fail = True
        with HookManager(observers=[recorder]) as hooks:
            with pytest.raises(FactoryError, match="out of paper"):
                build(store, hooks=hooks).run(only="Report")
            Calls.fail = False
            build(store, hooks=hooks).run(only="Summary")
        assert recorder.events == [
            ("before", 2),
            ("failed", 2),
            ("before", 1),
            ("after", 1),
        ]

    def test_a_second_instance_is_named_as_the_run_names_it(
        self, store: CheckpointStore
    ) -> None:
        def make() -> Pipeline:
            return Pipeline(checkpoint=store, name="twice").add_stage(
                Stage().add_factory(Numbers()).add_factory(Numbers())
            )

        for name, ran, idle in (("Numbers", 0, 1), ("Numbers#2", 1, 0)):
            factories = make().run(only=name).stages[0].factories
            assert factories[ran].get() == [3, 1, 2]
            assert not hasattr(factories[idle], "out")  # never called
        assert Calls.ran == ["Numbers", "Numbers"]

    def test_a_folder_that_cannot_be_written_fails_the_run_clearly(
        self, tmp_path: Any
    ) -> None:
        (tmp_path / "file").write_text("not a folder")
        store = CheckpointStore(tmp_path / "file" / "checkpoints")
        with pytest.raises(CheckpointError, match="cannot be written") as info:
            build(store).run()
        assert "checkpoints.path" in str(info.value.hint)

    def test_what_cannot_be_read_back_is_named(self, store: CheckpointStore) -> None:
        run_id = str(build(store).run().run_id)
        with pytest.raises(CheckpointError, match="no deliverable of factory 'Nope'"):
            store.load(run_id, 0, "Nope", spark=None, declared=None)
        entry = store.manifest(run_id, 0).entries[0]
        (store.stage_dir(run_id, 0) / str(entry.path)).write_text("{not json")
        with pytest.raises(CheckpointError, match="cannot be read back"):
            store.load(run_id, 0, "Numbers", spark=None, declared=list)
        with pytest.raises(CheckpointError, match="no readable checkpoint"):
            store.manifest(run_id, 7)
        (store.run_dir(run_id) / "run.json").write_text("[broken")
        assert store.run(run_id) is None
