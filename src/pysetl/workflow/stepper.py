"""``Stepper``: run a pipeline one stage at a time, for notebooks.

``pipeline.stepper()`` returns one. Each ``next()`` runs the next stage and
returns what its factories produced; ``deliverables`` and ``get()`` give
every output so far; ``run_all()`` runs the rest:

```python
stepper = pipeline.stepper()
stepper.next()                 # stage 0 runs; its outputs
stepper.get("CleanOrders")     # by factory name (or class, or output type)
stepper.run_all()              # the remaining stages
```

It is one ordinary ``Pipeline.run()``: the same pre-flight check, the same
events, so the run is recorded in the run history like any other (one run
id, every stage and factory). The run goes on a thread of its own and
waits before each stage until ``next()`` lets it go: the stepper is an
observer (``pysetl_inline``) that pauses at ``before_stage_run``
(``pysetl_pauses``: the pause is not counted as a slow observer). While it
waits, the run is alive and beats in the history; finish it with
``run_all()`` or ``close()`` (or a ``with`` block).

Added in 0.5.
"""

from __future__ import annotations

import contextlib
import html
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.errors import PipelineError
from pysetl.utils._pretty import pretty
from pysetl.workflow import spark as _spark
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.factory import Factory
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.workflow.pipeline import Pipeline

__all__ = ["StageStep", "Stepper"]


@dataclass(frozen=True)
class StageStep:
    """What ``Stepper.next()`` ran: a stage and its factories' outputs.

    Attributes:
        index: The stage's index.
        outputs: Each factory's output, by its name in the run.
    """

    index: int
    outputs: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td><code>"
            f"{html.escape(pretty(type(value)))}</code></td></tr>"
            for name, value in self.outputs.items()
        )
        return (
            f"<div><b>Stage {self.index}</b> ran<table><tr><th>Factory</th>"
            f"<th>Output</th></tr>{rows}</table></div>"
        )


class Stepper:
    """Runs ``pipeline`` stage by stage (see the module docstring).

    Args:
        pipeline: The pipeline to run; the observers of its hook manager
            record the run.
    """

    pysetl_inline = True  # its @hook_impl methods run on the run's own thread
    pysetl_pauses = True  # and wait there on purpose: not a slow observer

    def __init__(self, pipeline: Pipeline) -> None:
        """Prepare to run ``pipeline``; nothing runs before ``next()``."""
        self.pipeline = pipeline
        self._cond = threading.Condition()
        self._allowed = 0  # stages allowed to start
        self._finished: list[int] = []  # stages that ended, in order
        self._factories: dict[int, dict[str, Factory[Any]]] = {}
        self._thread: threading.Thread | None = None
        self._ended = False
        self._error: BaseException | None = None
        # Counted now: reading the stages while the run makes them would race.
        self._stage_count = len(pipeline.stages)

    # ------------------------------------------------------------ the run
    @property
    def stage_count(self) -> int:
        """How many stages the pipeline has."""
        return self._stage_count

    @property
    def position(self) -> int:
        """How many stages have run."""
        with self._cond:
            return len(self._finished)

    @property
    def done(self) -> bool:
        """Whether the run ended (every stage ran, or it failed)."""
        with self._cond:
            return self._ended

    @property
    def run_id(self) -> str | None:
        """The run's id, once ``next()`` started it."""
        return self.pipeline.run_id if self._thread is not None else None

    @property
    def error(self) -> BaseException | None:
        """What the run raised, if it failed."""
        return self._error

    def next(self) -> StageStep:
        """Run the next stage; the last one also ends the run.

        Returns:
            The stage's index and its factories' outputs.

        Raises:
            PipelineError: Every stage has run already.
            DependencyResolutionError: The pre-flight check failed.
            FactoryError: A factory of the stage failed.
        """
        with self._cond:
            if self._ended:
                msg = (
                    f"Every stage of pipeline {self.pipeline.pipeline_name!r} "
                    "has run already"
                )
                raise PipelineError(
                    msg, hint="look at stepper.deliverables, or make a new stepper"
                )
            index = self._allowed
            self._allowed += 1
            self._cond.notify_all()
        self._start()
        last = index >= self.stage_count - 1
        with self._cond:
            self._cond.wait_for(
                lambda: self._ended or (not last and index in self._finished)
            )
        if self._error is not None:
            raise self._error
        return StageStep(index, self._outputs(index))

    def run_all(self) -> Pipeline:
        """Run every stage left and wait for the run to end.

        Raises:
            DependencyResolutionError: The pre-flight check failed.
            FactoryError: A factory failed.
        """
        with self._cond:
            self._allowed = max(self._allowed, self.stage_count)
            self._cond.notify_all()
        self._start()
        with self._cond:
            self._cond.wait_for(lambda: self._ended)
        if self._error is not None:
            raise self._error
        return self.pipeline

    def close(self) -> None:
        """Finish a started run (the stages left run); a failure stays on ``error``."""
        if self._thread is None:
            return
        with contextlib.suppress(Exception):  # kept on .error for the caller
            self.run_all()

    def __enter__(self) -> Self:
        """Use it in a ``with`` block: leaving it finishes the run."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Finish the run (``close()``)."""
        self.close()

    def _start(self) -> None:
        if self._thread is not None:
            return
        hooks = self.pipeline.hooks
        # Spark keeps the active session per thread: the run's thread gets
        # the caller's, so factories (and job labels) find it there too.
        session = self.pipeline.spark or _spark.active_session()
        hooks.register(self, name=f"pysetl-stepper-{id(self)}")
        thread = threading.Thread(
            target=self._run,
            args=(hooks, session),
            name="pysetl-stepper",
            daemon=True,
        )
        self._thread = thread
        thread.start()

    def _run(self, hooks: Any, session: Any) -> None:
        try:
            if session is not None:
                # A Spark Connect session has no JVM and no per-thread state.
                with contextlib.suppress(AttributeError):
                    _spark.activate(session)
            self.pipeline.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._error = exc
        finally:
            hooks.unregister(self)
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    # --------------------------------------------------------- observing
    @hook_impl
    def before_stage_run(self, *, pipeline: Any, stage_id: int) -> None:
        """Wait until ``next()`` (or ``run_all()``) lets stage ``stage_id`` go."""
        if pipeline is not self.pipeline:
            return
        with self._cond:
            self._cond.wait_for(lambda: stage_id < self._allowed)

    @hook_impl
    def after_factory_run(
        self, *, pipeline: Any, stage_id: int, factory: Any, factory_name: str
    ) -> None:
        """Keep the factory, to read its output later."""
        if pipeline is self.pipeline:
            with self._cond:
                self._factories.setdefault(stage_id, {})[factory_name] = factory

    @hook_impl
    def after_stage_run(self, *, pipeline: Any, stage_id: int) -> None:
        """Mark stage ``stage_id`` as done."""
        if pipeline is self.pipeline:
            with self._cond:
                self._finished.append(stage_id)
                self._cond.notify_all()

    # ---------------------------------------------------------- results
    def _outputs(self, index: int) -> dict[str, Any]:
        with self._cond:
            factories = dict(self._factories.get(index, {}))
        return {name: factory.get() for name, factory in factories.items()}

    @property
    def deliverables(self) -> dict[str, Any]:
        """Every output so far, by factory name, stage after stage."""
        with self._cond:
            stages = sorted(self._factories)
        found: dict[str, Any] = {}
        for index in stages:
            found.update(self._outputs(index))
        return found

    def get(self, key: str | type[Any]) -> Any:
        """The output of a factory that ran: by name, factory class or output type.

        Raises:
            KeyError: No factory that ran matches ``key`` (the message lists
                the ones that ran).
        """
        with self._cond:
            ran = {n: f for stage in self._factories.values() for n, f in stage.items()}
        if isinstance(key, str):
            if key in ran:
                return ran[key].get()
        elif isinstance(key, type) and issubclass(key, Factory):
            for factory in ran.values():
                if isinstance(factory, key):
                    return factory.get()
        else:
            wanted = DeliveryType(key)
            for factory in ran.values():
                if type(factory).delivery_type() == wanted:
                    return factory.get()
        names = ", ".join(ran) or "none yet"
        msg = f"No factory that ran matches {pretty(key)!r}; ran: {names}"
        raise KeyError(msg)

    def _repr_html_(self) -> str:
        stages = self.pipeline.stages
        done = self.position
        rows = []
        for index, stage in enumerate(stages):
            state = "ran" if index < done else ("next" if index == done else "")
            names = ", ".join(html.escape(pretty(type(f))) for f in stage.factories)
            rows.append(f"<tr><td>{index}</td><td>{names}</td><td>{state}</td></tr>")
        run = html.escape(self.run_id or "not started")
        return (
            f"<div><b>Stepper</b> over {html.escape(self.pipeline.pipeline_name)} "
            f"(run {run})<table><tr><th>Stage</th><th>Factories</th><th></th></tr>"
            f"{''.join(rows)}</table></div>"
        )

    def __repr__(self) -> str:
        """``Stepper(<pipeline>, <ran>/<stages> stages)``."""
        return (
            f"Stepper({self.pipeline.pipeline_name!r}, "
            f"{self.position}/{self.stage_count} stages)"
        )
