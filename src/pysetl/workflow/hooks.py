"""Lifecycle hooks: what a run publishes, and how to observe it.

A hook is a named point of a run where pysetl publishes an event: when a
pipeline run, a stage or a factory starts, finishes or fails. Metrics, run
history, logging and third-party tools are all just observers. An observer is
any object, registered with a ``HookManager``, with methods marked
``@hook_impl`` whose names are those of the specs below:

```python
from pysetl.workflow.hooks import hook_impl

class PrintDurations:
    @hook_impl
    def after_factory_run(self, *, factory_name: str, duration: float) -> None:
        print(f"{factory_name} took {duration:.3f} s")

pipeline = Pipeline(hooks=HookManager(observers=[PrintDurations()]))
```

Every argument is keyword-only, and an observer takes only the arguments it
uses; new arguments may be added to an event at any time without breaking
existing observers (accept ``**kwargs`` to receive them all). Plugins
(third-party packages) register observers through the entry-point group
``pysetl.hooks``.

An observer can never fail or stall a run: see ``HookManager``. A retry
policy (``pysetl.workflow.retry``) emits ``on_factory_retried`` between two
attempts of a factory; ``on_factory_skipped`` says a factory will not run.

Added in 0.2.
"""

from __future__ import annotations

from pysetl.workflow._debug import DebugTracer
from pysetl.workflow._default_hooks import (
    configured_hook_manager,
    default_hook_manager,
    reset_default_hook_manager,
)
from pysetl.workflow._hook_manager import HookManager
from pysetl.workflow._hook_specs import (
    ENTRY_POINT_GROUP,
    EVENTS,
    FactorySpecs,
    MetricSpecs,
    PipelineSpecs,
    StageSpecs,
    hook_impl,
    hook_spec,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "EVENTS",
    "DebugTracer",
    "FactorySpecs",
    "HookManager",
    "MetricSpecs",
    "PipelineSpecs",
    "StageSpecs",
    "configured_hook_manager",
    "default_hook_manager",
    "hook_impl",
    "hook_spec",
    "reset_default_hook_manager",
]
