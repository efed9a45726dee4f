"""Where the code that is running now sits in a pipeline run.

The workflow engine binds a ``RunScope`` (run id, pipeline, stage, factory,
attempt, phase) in the thread that runs a factory, through a context
variable. Everything that wants to know "which run and which factory is
this?" reads ``current_scope()``: log records (every line of a run carries
the run id), users' custom metrics, Spark job labels, error context.

The engine owns the binding; nothing else should call ``bind_scope``. It
costs one small object and two context-variable operations per factory.

The scope also carries ``emit``, the run's way to publish an event to its
observers; ``pysetl.monitoring.kpi`` uses it to deliver users' custom metrics
as ``on_metric_recorded`` events.

Added in 0.2.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RunScope", "bind_scope", "current_scope", "reset_scope"]


@dataclass(slots=True)
class RunScope:
    """The position of running code in a pipeline run.

    The engine updates ``phase`` in place as a factory moves from ``read`` to
    ``process``, ``write`` and ``get``; the other fields do not change while the
    scope is bound.

    Attributes:
        run_id: The run's correlation id.
        pipeline: The pipeline's name.
        stage: The stage index, or ``None`` outside a stage.
        factory: The factory's name, or ``None`` outside a factory.
        attempt: The attempt number of the factory, starting at 1.
        phase: ``read``, ``process``, ``write`` or ``get``, or ``None``.
        emit: Publishes an event to the run's observers
            (``HookManager.emit``), or ``None`` when nothing listens.
    """

    run_id: str
    pipeline: str
    stage: int | None = None
    factory: str | None = None
    attempt: int | None = None
    phase: str | None = None
    emit: Callable[..., None] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        fields = {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "factory": self.factory,
            "attempt": self.attempt,
            "phase": self.phase,
        }
        return {key: value for key, value in fields.items() if value is not None}


_CURRENT: ContextVar[RunScope | None] = ContextVar("pysetl_run_scope", default=None)


def current_scope() -> RunScope | None:
    """The scope bound in this thread or task, or ``None`` outside any run."""
    return _CURRENT.get()


def bind_scope(scope: RunScope) -> Token[RunScope | None]:
    """Bind ``scope`` in this thread or task; ``reset_scope(token)`` undoes it."""
    return _CURRENT.set(scope)


def reset_scope(token: Token[RunScope | None]) -> None:
    """Restore the scope that was bound before ``bind_scope`` returned ``token``."""
    _CURRENT.reset(token)
