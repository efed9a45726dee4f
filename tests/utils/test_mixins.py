"""``pysetl.utils.mixins``: identity, registry, logging, Spark and capability mixins."""

from __future__ import annotations

import logging
from uuid import UUID

import pytest

from pysetl.errors import AlreadyRegisteredError, PySetlError
from pysetl.utils import mixins
from pysetl.utils.exceptions import AlreadyExistsException
from pysetl.utils.mixins import (
    CanCreate,
    CanDelete,
    CanDrop,
    CanPartition,
    CanUpdate,
    CanWait,
    HasBenchmark,
    HasDiagram,
    HasLogger,
    HasReader,
    HasRegistry,
    HasSparkSession,
    HasWriter,
    IsConfigurable,
    IsIdentifiable,
    IsWritable,
)


class Item(IsIdentifiable):
    pass


class Registry(HasRegistry[Item]):
    pass


class Cooperative:
    def __init__(self, *args, **kwargs):
        self.seen = (args, kwargs)
        super().__init__()


class IdentifiableWithBase(IsIdentifiable, Cooperative):
    pass


class TestIsIdentifiable:
    def test_each_instance_gets_a_fresh_uuid(self):
        a, b = Item(), Item()
        assert isinstance(a.uuid, UUID)
        assert a.uuid != b.uuid

    def test_name_is_the_pretty_class_name(self):
        assert Item.name() == "Item"
        assert Item().name() == "Item"

    def test_passes_arguments_along_the_init_chain(self):
        obj = IdentifiableWithBase(1, key="v")
        assert obj.seen == ((1,), {"key": "v"})
        assert isinstance(obj.uuid, UUID)


class TestRandomUuid:
    """``_uuid4`` makes what ``uuid.uuid4`` makes, from read-ahead random bytes."""

    def test_is_a_version_4_uuid_like_any_other(self):
        for _ in range(600):  # more than one pool of bytes
            made = mixins._uuid4()
            assert type(made) is UUID
            assert made.version == 4
            assert made.variant == "specified in RFC 4122"
            assert made.is_safe is mixins.SafeUUID.unknown
            assert UUID(str(made)) == made
            assert hash(UUID(bytes=made.bytes)) == hash(made)

    def test_never_repeats(self):
        made = {mixins._uuid4() for _ in range(5000)}
        assert len(made) == 5000

    def test_pickles_and_copies(self):
        import copy
        import pickle

        made = mixins._uuid4()
        assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - our own bytes
        assert copy.deepcopy(made) == made

    def test_a_forked_child_does_not_reuse_the_parents_bytes(self, monkeypatch):
        monkeypatch.setattr(mixins, "_pool", [b"\x00" * 4096, 0])
        first = mixins._uuid4()
        mixins._forget_pool()  # what a forked child runs first
        assert mixins._pool[1] == 0
        assert mixins._pool[0] == b""
        assert mixins._uuid4() != first


class TestHasRegistry:
    def test_starts_empty(self):
        registry = Registry()
        assert registry.size == 0
        assert registry.get_registry() == {}
        assert registry.last_registered_item is None

    def test_register_returns_self_and_keys_by_uuid(self):
        registry, item = Registry(), Item()
        assert registry.register(item) is registry
        assert registry.get_registry() == {item.uuid: item}
        assert registry.is_registered(item)
        assert registry.get_item(item.uuid) is item
        assert registry.size == 1

    def test_registering_twice_raises_with_the_old_message(self):
        registry, item = Registry(), Item()
        registry.register(item)
        expected = f"The item {item.uuid} of type Item already exists"
        with pytest.raises(AlreadyRegisteredError) as info:
            registry.register(item)
        assert info.value.message == expected
        assert expected in str(info.value)
        assert info.value.hint

    def test_duplicate_is_caught_as_the_old_exception(self):
        registry, item = Registry(), Item()
        registry.register(item)
        with pytest.raises(AlreadyExistsException, match="already exists"):
            registry.register(item)

    def test_duplicate_is_a_pysetl_error(self):
        registry, item = Registry(), Item()
        registry.register(item)
        with pytest.raises(PySetlError):
            registry.register(item)

    def test_register_items_keeps_insertion_order(self):
        registry = Registry()
        items = [Item(), Item(), Item()]
        assert registry.register_items(items) is registry
        assert list(registry.get_registry().values()) == items
        assert registry.last_registered_item is items[-1]

    def test_register_items_stops_at_a_duplicate(self):
        registry, item = Registry(), Item()
        with pytest.raises(AlreadyRegisteredError):
            registry.register_items([item, item])
        assert registry.size == 1

    def test_unknown_items(self):
        registry, item = Registry(), Item()
        assert not registry.is_registered(item)
        assert registry.get_item(item.uuid) is None

    def test_get_registry_is_the_live_dict(self):
        registry, item = Registry(), Item()
        registry.get_registry()[item.uuid] = item
        assert registry.is_registered(item)

    def test_clear_registry(self):
        registry = Registry().register(Item())
        assert registry.clear_registry() is registry
        assert registry.size == 0
        assert registry.last_registered_item is None

    def test_registries_do_not_share_state(self):
        a, b = Registry(), Registry()
        a.register(Item())
        assert b.size == 0


class Logs(HasLogger):
    pass


class TestLazyUuid:
    """The UUID is made on first read; registries do not make it."""

    def test_made_on_first_read_and_kept(self):
        item = Item()
        assert item._uuid is None
        first = item.uuid
        assert isinstance(first, UUID)
        assert item.uuid is first

    def test_assigning_replaces_it(self):
        item = Item()
        item.uuid = UUID(int=7)
        assert item.uuid == UUID(int=7)

    def test_an_init_that_skips_super_still_has_one(self):
        class Rude(IsIdentifiable):
            def __init__(self):
                pass

        assert isinstance(Rude().uuid, UUID)

    def test_first_reads_from_threads_agree(self):
        import threading

        item, seen = Item(), []
        threads = [
            threading.Thread(target=lambda: seen.append(item.uuid)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen)) == 1

    @pytest.mark.parametrize("count", [1, 3, 20])
    def test_registering_makes_no_uuid(self, count):
        registry, items = Registry(), [Item() for _ in range(count)]
        registry.register_items(items)
        assert all(i._uuid is None for i in items)
        assert registry.size == count
        assert registry.last_registered_item is items[-1]
        assert registry.registered() == items
        assert registry.is_registered(items[0])
        assert not registry.is_registered(Item())
        with pytest.raises(AlreadyRegisteredError, match="already exists"):
            registry.register(items[-1])
        assert list(registry.get_registry()) == [i.uuid for i in items]

    def test_one_item_then_two(self):
        registry, a, b = Registry(), Item(), Item()
        registry.register(a)
        assert registry._items is None  # one item: no list
        assert registry.registered() == [a]
        with pytest.raises(AlreadyRegisteredError):
            registry.register(a)
        registry.register(b)
        assert registry.registered() == [a, b]
        assert registry.last_registered_item is b
        with pytest.raises(AlreadyRegisteredError):
            registry.register(a)
        assert registry.size == 2

    def test_a_copy_with_the_same_uuid_is_a_duplicate(self):
        import copy

        registry, item = Registry(), Item()
        registry.register(item)
        _ = item.uuid
        with pytest.raises(AlreadyRegisteredError, match=str(item.uuid)):
            registry.register(copy.copy(item))

    def test_a_first_item_with_a_uuid_still_catches_its_copy(self):
        """The first item is kept without reading its UUID; a copy still clashes."""
        import copy

        registry, item = Registry(), Item()
        _ = item.uuid
        registry.register(item)
        assert registry._one is item  # kept as is: no dict for one item
        registry.register(Item())
        with pytest.raises(AlreadyRegisteredError, match=str(item.uuid)):
            registry.register(copy.copy(item))
        assert registry.size == 2

    def test_the_live_dict_stays_the_registry(self):
        registry, a, b = Registry(), Item(), Item()
        registry.register(a)
        live = registry.get_registry()
        registry.register(b)
        assert list(live.values()) == [a, b]
        del live[a.uuid]
        assert registry.registered() == [b]
        assert registry.size == 1


class TestHasLogger:
    def test_logger_is_named_after_the_class_module(self):
        assert Logs().logger.name == __name__
        assert Logs().logger is logging.getLogger(__name__)

    @pytest.mark.parametrize(
        ("method", "level"),
        [
            ("log", logging.INFO),
            ("log_info", logging.INFO),
            ("log_debug", logging.DEBUG),
            ("log_warning", logging.WARNING),
            ("log_error", logging.ERROR),
        ],
    )
    def test_logs_at_the_level_of_the_method(self, caplog, method, level):
        caplog.set_level(logging.DEBUG, logger=__name__)
        getattr(Logs(), method)("hello")
        assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
            (__name__, level, "hello")
        ]


class TestHasSparkSession:
    def test_returns_the_active_session(self, spark):
        assert HasSparkSession().spark is spark

    def test_gets_or_creates_a_session_when_none_is_active(self, spark, monkeypatch):
        from pyspark.sql import SparkSession

        monkeypatch.setattr(SparkSession, "getActiveSession", lambda: None)
        assert HasSparkSession().spark is spark


class Diagram(HasDiagram):
    def __init__(self, name: str, *, size: int = 1) -> None:
        self.label = name
        self.size = size

    @property
    def diagram_id(self) -> str:
        return self.label

    def to_diagram(self) -> str:
        return f"class {self.diagram_id}"


class TestHasDiagram:
    def test_is_abstract(self):
        with pytest.raises(TypeError):
            HasDiagram()  # type: ignore[abstract]

    def test_subclass(self):
        diagram = Diagram("node")
        assert diagram.diagram_id == "node"
        assert diagram.to_diagram() == "class node"

    def test_signature_lists_init_parameters_without_self(self):
        assert Diagram("x").get_signature() == ["name", "size"]

    @pytest.mark.parametrize(
        ("name", "diagram_id", "suffix", "expected"),
        [
            ("Factory", "output", "Final", "FactoryOutputFinal"),
            ("SparkRepository[Citizen]", "repo", "", "SparkRepositoryCitizenRepo"),
            ("dict[str, int]", "", "X", "dictstrintX"),
        ],
    )
    def test_format_diagram_id(self, name, diagram_id, suffix, expected):
        assert HasDiagram.format_diagram_id(name, diagram_id, suffix) == expected


class Bench(HasBenchmark):
    def get_benchmarks(self):
        return []


class TestHasBenchmark:
    def test_is_abstract(self):
        with pytest.raises(TypeError):
            HasBenchmark()  # type: ignore[abstract]

    def test_benchmarked_by_default_and_benchmark_does_nothing(self):
        bench = Bench()
        assert bench.benchmarked is True
        assert bench.benchmark() is None
        assert bench.get_benchmarks() == []


class Writable(IsWritable):
    pass


class TestIsWritable:
    def test_writable_by_default(self):
        assert Writable().is_writable is True

    def test_writable_toggles_and_returns_self(self):
        obj = Writable()
        assert obj.writable(False) is obj
        assert obj.is_writable is False
        assert obj.writable(True).is_writable is True

    def test_toggle_is_per_instance(self):
        Writable().writable(False)
        assert Writable().is_writable is True


class Settings(IsConfigurable):
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def get(self, key):
        return self.values[key]

    def set(self, key, value):
        self.values[key] = value
        return self


class TestIsConfigurable:
    def test_is_abstract(self):
        with pytest.raises(TypeError):
            IsConfigurable()  # type: ignore[abstract]

    def test_subclass_sets_and_gets(self):
        settings = Settings()
        assert settings.set("k", 1) is settings
        assert settings.get("k") == 1


class Storage(
    HasReader, HasWriter, CanDrop, CanPartition, CanCreate, CanDelete, CanUpdate
):
    def __init__(self) -> None:
        self.done: list[tuple[str, object]] = []

    @property
    def _reader(self):
        return "reader"

    def _writer(self, data):
        return ("writer", data)

    def drop(self):
        self.done.append(("drop", None))

    def list_partitions(self):
        return ["p=1"]

    def read_partitions(self, partitions):
        return partitions

    def create(self, data):
        self.done.append(("create", data))

    def delete(self, query):
        self.done.append(("delete", query))

    def update(self, query):
        self.done.append(("update", query))


class Stream(CanWait):
    def __init__(self) -> None:
        self.stopped = False

    def await_termination(self, timeout=None):
        return timeout

    def stop(self):
        self.stopped = True


class TestCapabilities:
    @pytest.mark.parametrize(
        "abc",
        [
            HasReader,
            HasWriter,
            CanDrop,
            CanPartition,
            CanCreate,
            CanDelete,
            CanUpdate,
            CanWait,
        ],
    )
    def test_capabilities_are_abstract(self, abc):
        with pytest.raises(TypeError):
            abc()

    def test_a_connector_promises_what_it_mixes_in(self):
        storage = Storage()
        assert isinstance(storage, CanDrop)
        assert isinstance(storage, CanPartition)
        assert not isinstance(storage, CanWait)
        assert storage._reader == "reader"
        assert storage._writer("df") == ("writer", "df")
        storage.drop()
        storage.create("df")
        storage.delete("x = 1")
        storage.update("set x = 2")
        assert storage.done == [
            ("drop", None),
            ("create", "df"),
            ("delete", "x = 1"),
            ("update", "set x = 2"),
        ]
        assert storage.list_partitions() == ["p=1"]
        assert storage.read_partitions(["p=1"]) == ["p=1"]

    def test_wait_does_nothing_by_default(self):
        stream = Stream()
        assert stream.wait() is None
        assert stream.wait(timeout=1) is None
        assert stream.await_termination(3) == 3
        stream.stop()
        assert stream.stopped


def test_every_exported_mixin_is_a_class():
    for name in mixins.__all__:
        assert isinstance(getattr(mixins, name), type), name
