from __future__ import annotations

import pytest

from pysetl.errors import DependencyResolutionError
from pysetl.utils.exceptions import AlreadyExistsException
from pysetl.workflow import Deliverable, Delivery, Stage
from pysetl.workflow.dispatcher import Dispatcher

from .conftest import make_factory

A = make_factory("A", int, compute=lambda: 1)
B = make_factory("B", int, compute=lambda: 2)
C = make_factory("C", int, compute=lambda x: x, x=Delivery[int]())
CFromA = make_factory("CFromA", int, compute=lambda x: x, x=Delivery[int](producer=A))


class TestDispatcher:
    def test_registering_twice_fails(self):
        d = Deliverable[int](1)
        dispatcher = Dispatcher().add_deliverable(d)
        with pytest.raises(
            AlreadyExistsException, match="type Deliverable already exists"
        ):
            dispatcher.add_deliverable(d)

    def test_dispatch_fills_the_instance(self):
        factory = C()
        Dispatcher().add_deliverable(Deliverable[int](0)).dispatch(factory)
        assert factory.x.get() == 0
        assert not C.x.is_set

    def test_dispatch_without_candidate(self):
        with pytest.raises(
            DependencyResolutionError, match="Cannot find type <class 'int'>"
        ):
            Dispatcher().dispatch(C())

    def test_declared_producer_is_honoured(self):
        dispatcher = Dispatcher().add_deliverable(Deliverable[int](1, producer=B))
        with pytest.raises(DependencyResolutionError, match="Cannot find type"):
            dispatcher.dispatch(CFromA())
        dispatcher.add_deliverable(Deliverable[int](5, producer=A))
        factory = CFromA()
        dispatcher.dispatch(factory)
        assert factory.x.get() == 5

    def test_ambiguous(self):
        dispatcher = (
            Dispatcher()
            .add_deliverable(Deliverable[int](1, producer=A))
            .add_deliverable(Deliverable[int](2, producer=B))
        )
        with pytest.raises(
            DependencyResolutionError, match="Find multiple deliveries"
        ) as info:
            dispatcher.dispatch(C())
        assert len(info.value.candidates) == 2

    def test_wrong_consumer(self):
        dispatcher = Dispatcher().add_deliverable(Deliverable[int](1, consumers={A}))
        with pytest.raises(
            DependencyResolutionError, match="Can't find C in consumer list"
        ):
            dispatcher.dispatch(C())

    def test_collect_and_find(self):
        stage = Stage().add_factory_from_type(A).add_factory_from_type(B).run()
        dispatcher = Dispatcher().collect_stage_deliverables(stage)
        single = Stage().add_factory_from_type(
            make_factory("S", str, compute=lambda: "s")
        )
        dispatcher.collect_factory_deliverable(single.run().factories[0])
        assert sorted(d.payload for d in dispatcher.find_deliverable_by_type(int)) == [
            1,
            2,
        ]
        assert [d.payload for d in dispatcher.find_deliverable_by_name("str")] == ["s"]
        assert len(dispatcher.find_deliverable_by(lambda d: d.producer is A)) == 1

    def test_reset(self):
        dispatcher = Dispatcher().add_deliverable(Deliverable[int](1))
        dispatcher.reset([Deliverable[str]("x")])
        assert [d.payload for d in dispatcher.get_registry().values()] == ["x"]

    def test_get_deliverable_returns_none_without_candidates(self):
        assert Dispatcher().get_deliverable([], C, A) is None
