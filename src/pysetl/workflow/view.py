"""``describe_pipeline``: what a pipeline is made of, as plain data, without running it.

The view is built from the pipeline's ``Inspector`` (the same resolution as
the run, ``pysetl.workflow._inject``), so what it shows is what would run:

* its stages, and the factories of each (named as a run names them:
  ``Fan``, ``Fan#2``...), with their docstrings;
* each factory's deliveries (inputs) and output, with their types, and the
  fields of a type that states them statically: a typedspark
  ``DataSet[Schema]`` or ``SparkRepository[Schema]`` (Spark types), a
  dataclass or a pydantic model;
* the edges: which factory (or external input) feeds which delivery;
* the configs each factory uses, where they can be found: the config of a
  repository or connector it receives as an input or holds as an
  attribute, and a ``Config`` it holds; every value is redacted;
* the deliveries that cannot be resolved (``problems``).

Nothing here runs a factory or touches Spark; ``pysetl.workflow.render``
draws a view (Mermaid, Graphviz dot, SVG, HTML), and
``pysetl.runtime.describe`` describes every pipeline of a project, with the
last run's state of each factory from the run history.

Added in 0.5.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pysetl.errors import PySetlError
from pysetl.utils._pretty import pretty
from pysetl.utils.redaction import redact_text, redact_value
from pysetl.workflow.external import External
from pysetl.workflow.inspector import Inspector
from pysetl.workflow.node_output import NodeOutput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pysetl.workflow.factory import Factory
    from pysetl.workflow.pipeline import Pipeline

__all__ = [
    "ConfigView",
    "DeliveryView",
    "EdgeView",
    "FactoryView",
    "FieldView",
    "InputView",
    "LastRun",
    "OutputView",
    "PipelineView",
    "StageView",
    "describe_inspected",
    "describe_pipeline",
    "type_fields",
]

_MAX_VALUE = 300
"""The longest config value shown (longer ones are cut)."""


@dataclass(frozen=True, slots=True)
class FieldView:
    """One field of a type: its name and its type (Spark's name for a schema)."""

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class ConfigView:
    """A config a factory uses, every value redacted.

    Attributes:
        config_name: Its name in the project config (its key under
            ``connectors``), when known (``None`` otherwise).
        kind: Its class (``CsvConfig``, ``FileConfigModel``...).
        params: Its values, as text, secrets masked.
        used_as: How the factory gets it: ``delivery <attribute>`` (a
            repository or connector it receives) or ``attribute <name>``
            (one it holds).
    """

    config_name: str | None
    kind: str
    params: dict[str, str] = field(default_factory=dict)
    used_as: str = ""


@dataclass(frozen=True, slots=True)
class LastRun:
    """How a pipeline or factory did in its last recorded run.

    Attributes:
        status: ``running``, ``succeeded``, ``failed`` or ``crashed`` (a
            factory that did not run in that run: ``not run``).
        run_id: The run.
        started_at: When it started (epoch seconds).
        duration: Seconds it took, when finished.
        error: A one-line error, when failed (redacted).
    """

    status: str
    run_id: str
    started_at: float | None = None
    duration: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One delivery (input) of a factory.

    Attributes:
        attribute: The class attribute that declares it.
        type: Its payload type.
        delivery_id: Its delivery id (``""``: none).
        producer: The producer it declares (``None``: any).
        source: What feeds it: a factory's name, an input's ``id``, or
            ``None`` when it cannot be resolved.
        fields: The payload type's fields, when it states them.
    """

    attribute: str
    type: str
    delivery_id: str
    producer: str | None
    source: str | None
    fields: tuple[FieldView, ...] = ()


@dataclass(frozen=True, slots=True)
class OutputView:
    """What a factory produces.

    Attributes:
        type: The output type ``T`` of ``Factory[T]``.
        delivery_id: The output's delivery id.
        consumers: The factory classes allowed to consume it (empty: any).
        fields: The type's fields, when it states them.
    """

    type: str
    delivery_id: str
    consumers: tuple[str, ...] = ()
    fields: tuple[FieldView, ...] = ()


@dataclass(frozen=True, slots=True)
class FactoryView:
    """One factory of a pipeline.

    Attributes:
        name: Its name in runs and in the run history (``Fan``, ``Fan#2``).
        class_name: Its class, with its module (``shop.etl.LoadOrders``).
        stage: The index of its stage.
        doc: The class's own docstring (``""``: none).
        output: What it produces.
        deliveries: Its deliveries, by attribute name.
        configs: The configs it uses, where they can be found.
        last_run: Its state in the pipeline's last recorded run, if asked for.
    """

    name: str
    class_name: str
    stage: int
    doc: str
    output: OutputView
    deliveries: tuple[DeliveryView, ...] = ()
    configs: tuple[ConfigView, ...] = ()
    last_run: LastRun | None = None


@dataclass(frozen=True, slots=True)
class InputView:
    """An external input given to the pipeline (a ``Deliverable``).

    Attributes:
        id: Its id in the view's edges (``input:0``, ``input:1``...).
        name: What to call it: its config key when known, else its type.
        type: Its payload type.
        delivery_id: Its delivery id.
        fields: The type's fields, when it states them.
        config: The config behind it (a repository's), when there is one.
    """

    id: str
    name: str
    type: str
    delivery_id: str
    fields: tuple[FieldView, ...] = ()
    config: ConfigView | None = None


@dataclass(frozen=True, slots=True)
class EdgeView:
    """One resolved delivery: ``source`` feeds ``target.attribute``."""

    source: str
    target: str
    attribute: str
    type: str
    delivery_id: str = ""


@dataclass(frozen=True, slots=True)
class StageView:
    """One stage: its index and its factories' names, in order."""

    index: int
    factories: tuple[str, ...]
    parallel: bool | None = None


@dataclass(frozen=True, slots=True)
class PipelineView:
    """A pipeline as plain data (``to_dict()`` gives its JSON form).

    Attributes:
        name: The pipeline's name.
        stages: Its stages, in order.
        factories: Its factories, stage after stage.
        inputs: Its external inputs.
        edges: Every resolved delivery.
        problems: The deliveries that cannot be resolved, one line each.
        doc: What the pipeline is (the docstring of the function that
            builds it, for a project's pipeline).
        last_run: Its last recorded run, if asked for.
        error: Why it could not be described (then it has no stages).
        project_name: Its name in the project (``[tool.pysetl.pipelines]``),
            for a project's pipeline (``""`` otherwise).
    """

    name: str
    stages: tuple[StageView, ...] = ()
    factories: tuple[FactoryView, ...] = ()
    inputs: tuple[InputView, ...] = ()
    edges: tuple[EdgeView, ...] = ()
    problems: tuple[str, ...] = ()
    doc: str = ""
    last_run: LastRun | None = None
    error: str | None = None
    project_name: str = ""

    def factory(self, name: str) -> FactoryView:
        """The factory called ``name``.

        Raises:
            KeyError: No factory has that name (the message lists them).
        """
        for found in self.factories:
            if found.name == name:
                return found
        names = ", ".join(f.name for f in self.factories)
        msg = f"No factory {name!r} in pipeline {self.name!r}; it has: {names}"
        raise KeyError(msg)

    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready dicts and lists."""
        return dataclasses.asdict(self)


def describe_pipeline(
    pipeline: Pipeline, *, input_names: Mapping[int, str] | None = None
) -> PipelineView:
    """Describe ``pipeline`` (nothing runs).

    Args:
        pipeline: The pipeline.
        input_names: Names of its external inputs, by ``id()`` of their
            ``Deliverable`` (``PySetl`` gives each its config key).

    Raises:
        PipelineError: One factory instance is in two stages.
    """
    return describe_inspected(Inspector(pipeline), input_names=input_names)


def describe_inspected(
    inspector: Inspector, *, input_names: Mapping[int, str] | None = None
) -> PipelineView:
    """Describe the pipeline of ``inspector`` from its resolution plan.

    Args:
        inspector: The pipeline's inspector (``pipeline.inspector`` after a run).
        input_names: See ``describe_pipeline``.
    """
    pipeline = inspector.pipeline
    plan = inspector.plan
    names = input_names or {}
    inputs: list[InputView] = []
    input_configs: dict[str, ConfigView] = {}
    for source in plan.externals:
        deliverable = source.origin
        ident = f"input:{source.position}"
        key = names.get(id(deliverable))
        config = config_view(getattr(deliverable, "payload", None), key)
        tp = source.delivery_type.tp
        label = key or source.delivery_id or pretty(tp)
        inputs.append(
            InputView(
                ident,
                label,
                pretty(tp),
                source.delivery_id,
                type_fields(tp),
                config,
            )
        )
        if config is not None:
            input_configs[ident] = config
    stages: list[StageView] = []
    factories: list[FactoryView] = []
    edges: list[EdgeView] = []
    planned = pipeline.stages[: len(plan.stage_starts)]
    for stage_id, stage in enumerate(planned):
        sources = plan.sources_of(stage_id)
        stages.append(
            StageView(stage_id, tuple(s.name for s in sources), stage.parallel)
        )
        for source, factory in zip(sources, stage.factories, strict=True):
            wired = {w.name: w.source for w in source.wires}
            deliveries: list[DeliveryView] = []
            configs: dict[str, ConfigView] = {}
            for attribute, delivery in type(factory).declared_deliveries():
                feeder = wired.get(attribute)
                origin: str | None = None
                if feeder is not None:
                    origin = (
                        f"input:{feeder.position}" if feeder.external else feeder.name
                    )
                    edges.append(
                        EdgeView(
                            origin,
                            source.name,
                            attribute,
                            pretty(delivery.payload_type),
                            delivery.delivery_id,
                        )
                    )
                    if origin in input_configs:
                        configs[origin] = dataclasses.replace(
                            input_configs[origin], used_as=f"delivery {attribute}"
                        )
                producer = delivery.producer
                deliveries.append(
                    DeliveryView(
                        attribute,
                        pretty(delivery.payload_type),
                        delivery.delivery_id,
                        None if producer is External else pretty(producer),
                        origin,
                        type_fields(delivery.payload_type),
                    )
                )
            for attribute, value in _attributes(factory):
                found = config_view(value, None)
                if found is not None:
                    configs[f"attribute:{attribute}"] = dataclasses.replace(
                        found, used_as=f"attribute {attribute}"
                    )
            factories.append(
                FactoryView(
                    source.name,
                    _qualified(type(factory)),
                    stage_id,
                    own_doc(type(factory)),
                    _output(factory),
                    tuple(deliveries),
                    tuple(configs.values()),
                )
            )
    return PipelineView(
        pipeline.pipeline_name,
        tuple(stages),
        tuple(factories),
        tuple(inputs),
        tuple(edges),
        tuple(redact_text(str(p)) for p in plan.problems),
    )


def own_doc(obj: Any) -> str:
    """The docstring ``obj`` itself declares (not an inherited one), cleaned."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def type_fields(tp: Any) -> tuple[FieldView, ...]:
    """The fields ``tp`` states statically (``()`` when it states none).

    A typedspark ``DataSet[Schema]``, a ``Schema`` itself, or a generic
    over one (``SparkRepository[Schema]``) gives its Spark schema; a
    dataclass or a pydantic model gives its fields.
    """
    schema = _schema_fields(tp)
    if schema is not None:
        return schema
    try:
        found = NodeOutput(tp).fields()
    except PySetlError:  # a DataSet without a schema: nothing to show
        return ()
    if found:
        return tuple(FieldView(name, kind) for name, kind in found)
    for argument in typing.get_args(tp):  # list[Order], SparkRepository[Schema]
        if argument is not tp and (found_fields := type_fields(argument)):
            return found_fields
    return ()


def _schema_fields(tp: Any) -> tuple[FieldView, ...] | None:
    """The Spark fields of a typedspark ``Schema`` class, else ``None``."""
    if "typedspark" not in sys.modules or not isinstance(tp, type):
        return None
    from typedspark import Schema  # noqa: PLC0415 - only when already loaded

    schema: Any = tp  # typedspark's types are not checked
    # Schema is a Protocol: its classes are told apart by their metaclass.
    if not isinstance(schema, type(Schema)) or schema is Schema:
        return None
    try:
        struct = schema.get_structtype()
    except Exception:  # noqa: BLE001 - annotations that cannot be resolved here
        return ()
    return tuple(FieldView(f.name, f.dataType.simpleString()) for f in struct.fields)


def config_view(obj: Any, key: str | None) -> ConfigView | None:
    """The config behind ``obj``, redacted; ``None`` when it has none.

    ``obj`` may be a ``Config``, a repository (its connector's config), a
    connector (its validated config model) or a pydantic config model.
    """
    from pydantic import BaseModel  # noqa: PLC0415 - pydantic only when asked

    from pysetl.config.config import Config  # noqa: PLC0415

    if obj is None or isinstance(obj, type):
        return None
    if isinstance(obj, Config):
        try:
            model = obj.config
        except Exception:  # noqa: BLE001 - an invalid config still shows its params
            model = None
        params = model.model_dump() if model is not None else dict(obj.params)
        return ConfigView(key, type(obj).__name__, _shown(params))
    holder = obj
    if isinstance(getattr(type(obj), "connector", None), property):
        holder = obj.connector  # a repository: its connector holds the config
    model = holder if isinstance(holder, BaseModel) else getattr(holder, "config", None)
    if isinstance(model, BaseModel):
        return ConfigView(key, type(model).__name__, _shown(model.model_dump()))
    return None


def _shown(params: Mapping[str, Any]) -> dict[str, str]:
    """Each value as redacted text (secrets by key name and by value)."""
    shown: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        safe = redact_value(value, name)
        text = safe.value if isinstance(safe, Enum) else safe
        text = redact_text(str(text))
        shown[str(name)] = text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE] + "…"
    return shown


def _attributes(factory: Factory[Any]) -> list[tuple[str, Any]]:
    """The factory instance's own attributes (not deliveries), by name."""
    from pysetl.workflow.delivery import Delivery  # noqa: PLC0415 - import cycle

    values = getattr(factory, "__dict__", {})
    return sorted(
        (
            (name, value)
            for name, value in values.items()
            if not name.startswith("__") and not isinstance(value, Delivery)
        ),
        key=lambda item: item[0],
    )


def _output(factory: Factory[Any]) -> OutputView:
    cls = type(factory)
    tp = cls.delivery_type().tp
    consumers = tuple(sorted(pretty(c) for c in factory.consumers))
    return OutputView(pretty(tp), factory.delivery_id, consumers, type_fields(tp))


def _qualified(cls: type) -> str:
    module = cls.__module__
    return (
        cls.__qualname__
        if module in {"builtins", "__main__"}
        else (f"{module}.{cls.__qualname__}")
    )
