from __future__ import annotations

import logging
import threading
import time
from importlib import metadata

import pluggy
import pytest

from pysetl.errors import (
    DependencyResolutionError,
    FactoryError,
    PySetlDeprecationWarning,
)
from pysetl.settings import reset_settings
from pysetl.workflow import (
    Deliverable,
    Delivery,
    Pipeline,
    Stage,
    _default_hooks,
    _hook_manager,
)
from pysetl.workflow.hooks import (
    EVENTS,
    HookManager,
    default_hook_manager,
    hook_impl,
    reset_default_hook_manager,
)

from .conftest import make_factory


class Recorder:
    """Records every event with all its arguments."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def _add(self, name, kwargs):
        self.events.append((name, kwargs))

    @hook_impl
    def before_pipeline_run(self, **kwargs):
        self._add("before_pipeline_run", kwargs)

    @hook_impl
    def after_pipeline_run(self, **kwargs):
        self._add("after_pipeline_run", kwargs)

    @hook_impl
    def on_pipeline_run_failed(self, **kwargs):
        self._add("on_pipeline_run_failed", kwargs)

    @hook_impl
    def before_stage_run(self, **kwargs):
        self._add("before_stage_run", kwargs)

    @hook_impl
    def after_stage_run(self, **kwargs):
        self._add("after_stage_run", kwargs)

    @hook_impl
    def on_stage_run_failed(self, **kwargs):
        self._add("on_stage_run_failed", kwargs)

    @hook_impl
    def before_factory_run(self, **kwargs):
        self._add("before_factory_run", kwargs)

    @hook_impl
    def after_factory_run(self, **kwargs):
        self._add("after_factory_run", kwargs)

    @hook_impl
    def on_factory_run_failed(self, **kwargs):
        self._add("on_factory_run_failed", kwargs)

    @property
    def names(self):
        return [name for name, _ in self.events]


class Raising:
    @hook_impl
    def before_factory_run(self, *, factory_name):
        msg = f"observer broke on {factory_name}"
        raise RuntimeError(msg)


class Slow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    @hook_impl
    def after_factory_run(self, *, duration):
        self.calls += 1
        time.sleep(self.seconds)


def two_stage_pipeline(hooks, fail=False):
    def compute(x):
        if fail:
            msg = "boom"
            raise ValueError(msg)
        return x + 1

    first = make_factory("First", int, compute=lambda n: n, n=Delivery[int]())
    second = make_factory(
        "Second", int, compute=compute, x=Delivery[int](producer=first)
    )
    return (
        Pipeline(hooks=hooks, name="demo")
        .set_input_from_deliverable(Deliverable[int](1))
        .add_stage_from_type(first)
        .add_stage_from_type(second)
    )


class TestEvents:
    def test_successful_run_emits_events_in_lifecycle_order(self):
        recorder = Recorder()
        with HookManager(observers=[recorder]) as hooks:
            two_stage_pipeline(hooks).run()
        assert recorder.names == [
            "before_pipeline_run",
            "before_stage_run",
            "before_factory_run",
            "after_factory_run",
            "after_stage_run",
            "before_stage_run",
            "before_factory_run",
            "after_factory_run",
            "after_stage_run",
            "after_pipeline_run",
        ]

    def test_every_event_carries_the_run_id_and_pipeline(self):
        recorder = Recorder()
        with HookManager(observers=[recorder]) as hooks:
            pipeline = two_stage_pipeline(hooks).run()
        for _, kwargs in recorder.events:
            assert kwargs["run_id"] == pipeline.run_id
            assert kwargs["pipeline_name"] == "demo"
            assert kwargs["pipeline"] is pipeline
            assert isinstance(kwargs["timestamp"], float)

    def test_factory_payloads(self):
        recorder = Recorder()
        with HookManager(observers=[recorder]) as hooks:
            two_stage_pipeline(hooks).run()
        after = [k for n, k in recorder.events if n == "after_factory_run"]
        assert [k["factory_name"] for k in after] == ["First", "Second"]
        assert [k["stage_id"] for k in after] == [0, 1]
        assert [k["output"] for k in after] == [1, 2]
        assert after[0]["attempt"] == 1
        assert set(after[0]["phases"]) == {"read", "process", "write", "get"}
        assert after[0]["duration"] >= 0

    def test_stage_payloads(self):
        recorder = Recorder()
        with HookManager(observers=[recorder]) as hooks:
            pipeline = two_stage_pipeline(hooks).run()
        before = [k for n, k in recorder.events if n == "before_stage_run"]
        assert [k["stage"] for k in before] == pipeline.stages
        assert [k["stage_id"] for k in before] == [0, 1]
        assert [k["parallel"] for k in before] == [False, False]

    def test_failed_run_emits_failure_events_with_the_error(self):
        recorder = Recorder()
        with (
            HookManager(observers=[recorder]) as hooks,
            pytest.raises(FactoryError) as info,
        ):
            two_stage_pipeline(hooks, fail=True).run()
        assert recorder.names[-3:] == [
            "on_factory_run_failed",
            "on_stage_run_failed",
            "on_pipeline_run_failed",
        ]
        failed = dict(recorder.events[-3][1])
        assert failed["error"] is info.value
        assert failed["phase"] == "process"
        assert set(failed["phases"]) == {"read", "failed"}
        assert recorder.events[-1][1]["error"] is info.value

    def test_preflight_failure_emits_only_run_failed(self):
        recorder = Recorder()
        needy = make_factory("Needy", int, x=Delivery[str]())
        with (
            HookManager(observers=[recorder]) as hooks,
            pytest.raises(DependencyResolutionError),
        ):
            Pipeline(hooks=hooks).add_stage_from_type(needy).run()
        assert recorder.names == ["on_pipeline_run_failed"]

    def test_standalone_stage_run_emits_stage_and_factory_events(self):
        recorder = Recorder()
        stage = Stage().add_factory_from_type(
            make_factory("Alone", int, compute=lambda: 3)
        )
        default_hook_manager().register(recorder)
        stage.run()
        default_hook_manager().drain()
        assert recorder.names == [
            "before_stage_run",
            "before_factory_run",
            "after_factory_run",
            "after_stage_run",
        ]
        assert recorder.events[0][1]["pipeline"] is None

    def test_event_list_is_published(self):
        assert "before_pipeline_run" in EVENTS
        assert "on_factory_retried" in EVENTS
        assert "on_factory_skipped" in EVENTS
        assert "on_metric_recorded" in EVENTS
        assert len(EVENTS) == 12


class TestIsolation:
    def test_raising_observer_never_fails_the_run(self, caplog):
        recorder = Recorder()
        raising = Raising()
        with HookManager(observers=[raising, recorder]) as hooks:
            with caplog.at_level(logging.ERROR, logger=_hook_manager.__name__):
                pipeline = two_stage_pipeline(hooks).run()
            assert pipeline.get_last_output() == 2
            (key,) = hooks.failures
            assert key.endswith(".before_factory_run")
            assert hooks.failures[key] == 2
        assert "observer broke on First" in caplog.text
        assert recorder.names.count("after_factory_run") == 2

    def test_raising_observer_inline_never_fails_the_run(self):
        with HookManager(observers=[Raising()], inline=True) as hooks:
            assert two_stage_pipeline(hooks).run().get_last_output() == 2
            assert sum(hooks.failures.values()) == 2

    def test_slow_observer_does_not_stall_the_run(self, caplog):
        slow = Slow(0.5)
        hooks = HookManager(observers=[slow], drain_timeout=0.05, slow_threshold=0.2)
        start = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger=_hook_manager.__name__):
            two_stage_pipeline(hooks).run()
        elapsed = time.perf_counter() - start
        assert elapsed < 0.45
        assert "still busy" in caplog.text
        assert hooks.drain(timeout=5)
        hooks.close()
        assert slow.calls == 2
        assert sum(hooks.slow.values()) == 2

    def test_full_queue_drops_events_instead_of_blocking(self, caplog):
        release = threading.Event()

        class Blocking:
            @hook_impl
            def after_factory_run(self):
                release.wait(5)

        hooks = HookManager(observers=[Blocking()], queue_size=1, drain_timeout=0)
        with caplog.at_level(logging.WARNING, logger=_hook_manager.__name__):
            for _ in range(4):
                hooks.emit("after_factory_run")
        assert hooks.dropped >= 2
        assert "dropped event" in caplog.text
        release.set()
        hooks.drain(timeout=5)
        hooks.close()

    def test_no_observer_means_disabled(self, hooks):
        assert not hooks.enabled
        hooks.emit("before_pipeline_run", run_id="x")  # nothing to do
        assert hooks.drain(timeout=0)


class TestRegistration:
    def test_observer_takes_only_what_it_needs(self):
        seen = []

        class Minimal:
            @hook_impl
            def after_factory_run(self, *, factory_name):
                seen.append(factory_name)

        with HookManager(observers=[Minimal()], inline=True) as hooks:
            two_stage_pipeline(hooks).run()
        assert seen == ["First", "Second"]

    def test_unknown_argument_is_rejected(self):
        class Greedy:
            @hook_impl
            def after_factory_run(self, *, rows_written):
                pass

        with pytest.raises(pluggy.PluginValidationError, match="rows_written"):
            HookManager(observers=[Greedy()])

    def test_unknown_event_is_rejected(self):
        class Typo:
            @hook_impl
            def after_factroy_run(self):
                pass

        hooks = HookManager()
        with pytest.raises(pluggy.PluginValidationError):
            hooks.register(Typo())
        assert hooks.observers == []

    def test_positional_arguments_are_rejected(self):
        class Positional:
            @hook_impl
            def after_factory_run(self, factory_name):
                pass

        with pytest.raises(pluggy.PluginValidationError):
            HookManager(observers=[Positional()])

    def test_every_shape_of_observer_is_found_and_no_property_is_run(self):
        # The manager looks at each attribute's raw value before pluggy's full
        # parse: hooks on instances, slots, classes, modules and inherited
        # static/class methods must all still be found.
        import types as types_module

        seen: list[str] = []

        def note(tag):
            def observer(*, factory_name):
                seen.append(f"{tag}:{factory_name}")

            return hook_impl(observer)

        class Base:
            after_factory_run = staticmethod(note("static"))

        class Inherits(Base):
            @property
            def before_factory_run(self):
                raise AssertionError("a property was run while registering")

        class Slotted:
            __slots__ = ("after_factory_run",)

        class OnInstance:
            pass

        class AsClass:
            @classmethod
            @hook_impl
            def after_factory_run(cls, *, factory_name):
                seen.append(f"classmethod:{factory_name}")

        slotted, on_instance = Slotted(), OnInstance()
        slotted.after_factory_run = note("slot")
        on_instance.after_factory_run = note("instance")
        module = types_module.ModuleType("observer_module")
        module.after_factory_run = note("module")
        observers = [Inherits(), slotted, on_instance, AsClass, module]
        with HookManager(observers=observers, inline=True) as hooks:
            two_stage_pipeline(hooks).run()
        tags = ("static", "slot", "instance", "classmethod", "module")
        assert sorted(seen) == sorted(
            f"{t}:{f}" for t in tags for f in ("First", "Second")
        )

    def test_instances_of_one_class_are_each_parsed_as_they_are(self):
        # What a class's attribute gives is kept per class; an instance that
        # hides it, or slots that differ, still count for themselves.
        seen: list[str] = []

        class Plain:
            @hook_impl
            def after_factory_run(self, *, factory_name):
                seen.append(f"class:{factory_name}")

        class Slotted:
            __slots__ = ("after_factory_run",)

        def note(tag):
            def observer(*, factory_name):
                seen.append(f"{tag}:{factory_name}")

            return hook_impl(observer)

        hidden = Plain()
        hidden.after_factory_run = note("hidden")
        first, second = Slotted(), Slotted()
        first.after_factory_run = note("slot-1")
        second.after_factory_run = note("slot-2")
        unmarked = Plain()
        unmarked.after_factory_run = lambda **_: seen.append("unmarked")
        for observers in ([Plain(), hidden, first, second], [Plain(), unmarked]):
            with HookManager(observers=observers, inline=True) as hooks:
                two_stage_pipeline(hooks).run()
        names = ("First", "Second")
        assert sorted(seen) == sorted(
            [f"{t}:{f}" for t in ("class", "hidden", "slot-1", "slot-2") for f in names]
            + [f"class:{f}" for f in names]
        )

    def test_a_session_s_registrations_build_the_call_tables_once(self, monkeypatch):
        builds = []
        original = HookManager._rebuild
        monkeypatch.setattr(
            HookManager, "_rebuild", lambda self: builds.append(1) or original(self)
        )
        hooks = HookManager(observers=[Recorder(), Recorder()], inline=True)
        hooks.register(Recorder())
        assert builds == []
        assert hooks.enabled
        two_stage_pipeline(hooks).run()
        assert builds == [1]
        late = Recorder()
        hooks.register(late)
        two_stage_pipeline(hooks).run()
        assert len(builds) == 2
        assert late.events  # registered between runs: the next run reaches it
        hooks.unregister(late)
        before = len(late.events)
        two_stage_pipeline(hooks).run()
        assert len(late.events) == before

    def test_unregister(self):
        recorder = Recorder()
        hooks = HookManager(observers=[recorder])
        assert hooks.enabled
        hooks.unregister(recorder)
        assert not hooks.enabled

    def test_blocked_name_is_not_registered(self):
        hooks = HookManager(disabled=["blocked"])
        assert hooks.register(Recorder(), name="blocked") == "blocked"
        assert not hooks.enabled


class TestOldNames:
    """``plugin``/``plugins`` named observers before 0.7: they still work, and warn."""

    def test_plugins_keyword_registers_and_names_observers(self):
        recorder = Recorder()
        with pytest.warns(PySetlDeprecationWarning, match=r"observers=\.\.\."):
            hooks = HookManager(plugins=[recorder])
        assert hooks.observers == [recorder]

    def test_plugins_property_returns_the_observers_and_warns(self):
        recorder = Recorder()
        hooks = HookManager(observers=[recorder])
        with pytest.warns(PySetlDeprecationWarning, match=r"HookManager\.observers"):
            assert hooks.plugins == [recorder]

    def test_register_and_unregister_accept_plugin_as_a_keyword(self):
        recorder = Recorder()
        hooks = HookManager()
        with pytest.warns(PySetlDeprecationWarning, match=r"register\(observer="):
            hooks.register(plugin=recorder)
        assert hooks.observers == [recorder]
        with pytest.warns(PySetlDeprecationWarning, match=r"unregister\(observer="):
            hooks.unregister(plugin=recorder)
        assert hooks.observers == []

    def test_the_new_names_do_not_warn(self):
        recorder = Recorder()
        hooks = HookManager(observers=[recorder])
        hooks.unregister(observer=recorder)
        hooks.register(observer=recorder, name="recorder")
        assert hooks.observers == [recorder]

    def test_both_names_at_once_is_a_type_error(self):
        only = r"pass HookManager\(observers=\.\.\.\) only"
        with pytest.raises(TypeError, match=only):
            HookManager(observers=[Recorder()], plugins=[Recorder()])
        with pytest.raises(TypeError, match="needs the observer"):
            HookManager().register()


class FakeEntryPoint:
    name = "fake"
    group = "pysetl.hooks"
    value = "tests:Recorder"

    def __init__(self, plugin) -> None:
        self.plugin = plugin
        self.dist = None

    def load(self):
        return self.plugin


class TestEntryPoints:
    @pytest.fixture
    def published(self, monkeypatch):
        recorder = Recorder()
        entry = FakeEntryPoint(recorder)

        class Dist:
            entry_points = (entry,)

        entry.dist = Dist()
        monkeypatch.setattr(metadata, "distributions", lambda: [Dist()])
        return recorder

    def test_entry_points_are_loaded(self, published):
        with HookManager(entry_points=True) as hooks:
            assert hooks.observers == [published]

    def test_default_manager_loads_entry_points(self, published, monkeypatch):
        monkeypatch.delenv(_default_hooks.DISABLE_ENV, raising=False)
        reset_settings()
        reset_default_hook_manager()
        assert default_hook_manager().observers == [published]
        assert default_hook_manager() is default_hook_manager()

    @pytest.mark.usefixtures("published")
    def test_default_manager_can_disable_one(self, monkeypatch):
        monkeypatch.setenv(_default_hooks.DISABLE_ENV, "fake")
        reset_settings()
        reset_default_hook_manager()
        assert default_hook_manager().observers == []

    @pytest.mark.usefixtures("published")
    def test_default_manager_can_disable_all(self, monkeypatch):
        monkeypatch.setenv(_default_hooks.DISABLE_ENV, "all")
        reset_settings()
        reset_default_hook_manager()
        assert default_hook_manager().observers == []

    def test_pipeline_uses_the_default_manager(self):
        assert Pipeline().hooks is default_hook_manager()


class TestOrder:
    def test_observers_are_called_in_registration_order(self):
        seen = []

        class First:
            @hook_impl
            def after_pipeline_run(self):
                seen.append("first")

        class Second:
            @hook_impl
            def after_pipeline_run(self):
                seen.append("second")

        with HookManager(observers=[First(), Second()], inline=True) as hooks:
            hooks.emit("after_pipeline_run")
        assert seen == ["first", "second"]


class TestRunEnd:
    """A run's last event is emitted, then the writer drained, in one step."""

    @pytest.mark.parametrize("fail", [False, True])
    def test_observers_see_that_a_drain_follows_the_last_event_only(self, fail):
        seen: list[tuple[str, bool]] = []

        class Inline:
            pysetl_inline = True

            def __init__(self, hooks_of: list[HookManager]) -> None:
                self.hooks_of = hooks_of

            def _note(self, event: str) -> None:
                seen.append((event, self.hooks_of[0].writer.drains_next()))

            @hook_impl
            def after_factory_run(self):
                self._note("after_factory_run")

            @hook_impl
            def after_pipeline_run(self):
                self._note("after_pipeline_run")

            @hook_impl
            def on_pipeline_run_failed(self):
                self._note("on_pipeline_run_failed")

        managers: list[HookManager] = []
        with HookManager(observers=[Inline(managers)]) as hooks:
            managers.append(hooks)
            pipeline = two_stage_pipeline(hooks, fail=fail)
            if fail:
                with pytest.raises(FactoryError):
                    pipeline.run()
            else:
                pipeline.run()
            assert not hooks.writer.drains_next()  # only during the last event
        last = "on_pipeline_run_failed" if fail else "after_pipeline_run"
        assert seen[-1] == (last, True)
        assert ("after_factory_run", False) in seen
        assert all(not follows for _, follows in seen[:-1])

    def test_what_queued_observers_write_at_the_end_is_written_when_it_returns(self):
        written: list[str] = []

        class Queued:
            @hook_impl
            def after_pipeline_run(self):
                time.sleep(0.05)
                written.append("end")

        with HookManager(observers=[Queued()]) as hooks:
            assert hooks.emit_then_drain("after_pipeline_run")
            assert written == ["end"]
