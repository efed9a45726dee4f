"""Stage checkpoints: each stage's deliverables kept on disk, to read back later.

With checkpoints on (``Pipeline(checkpoint=True)``, ``pysetl run
--checkpoint``, or ``checkpoints: {enabled: true}`` in the project config),
after each stage of a run its deliverables are written under the project's
``.pysetl/checkpoints/<run_id>/stage-<n>/``:

```text
.pysetl/checkpoints/
  01JF.../                     one folder per run
    run.json                   {"run_id", "pipeline", "created_at", "resumed_from"}
    stage-0/
      manifest.json            one entry per factory of the stage
      0-LoadOrders/            a DataFrame: Parquet, and its schema
      1-CountOrders.json       a JSON-able value, with type tags
```

A stage's ``manifest.json`` is written last (a rename): a stage folder with a
manifest is a complete stage. Each manifest entry names the factory (its
name in the run), its ``delivery_id``, its output type, its producer class,
the format (``parquet``, ``json`` or ``unsupported``), the path, the row
count (Parquet: from the files' footers, no Spark job) and, for Parquet, the
schema. How each kind of value is kept, and why never with pickle, is in
``pysetl.workflow._checkpoint_values``; a value that cannot be kept is left
out with a ``CheckpointWarning`` that names its factory and type, and
restoring it later fails with a ``CheckpointError`` that says so.

Checkpoints are read back by a run that skips stages: ``Pipeline.run(
from_stage=N)``, ``run(only="Factory")`` and ``run(resume=RUN_ID)`` (see
``pysetl.workflow._replay``). Retention: a store keeps the last ``keep``
runs' checkpoints of each pipeline and removes older ones when a run starts
writing.

The Parquet writes of a checkpoint run under their own Spark job group
(``pysetl-checkpoint:<run_id>:<factory>``), so they are never counted as the
factory's own work. A DataFrame that is not cached is computed once more to
be written: cache the outputs of expensive factories when you checkpoint.

Added in 0.6.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.errors import CheckpointError, CheckpointWarning
from pysetl.utils._pretty import pretty
from pysetl.workflow import _checkpoint_values as values
from pysetl.workflow import spark as _spark

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "CHECKPOINTS_DIR",
    "CheckpointEntry",
    "CheckpointRun",
    "CheckpointStore",
    "StageManifest",
]

CHECKPOINTS_DIR = ".pysetl/checkpoints"
"""Where a project's checkpoints are, from its root folder."""
_MANIFEST = "manifest.json"
_RUN_FILE = "run.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_RERUN = "run the pipeline once with checkpoints on (pysetl run --checkpoint)"


@dataclass(frozen=True, slots=True)
class CheckpointEntry:
    """One deliverable of a checkpointed stage (a line of its manifest).

    Attributes:
        factory: The factory's name in the run (``Fan``, ``Fan#2``...).
        delivery_id: The deliverable's id.
        type: Its declared type, as text.
        producer: The factory class, ``module.Class``.
        format: ``parquet``, ``json`` or ``unsupported``.
        path: The file or folder, relative to the stage's folder.
        rows: Rows of a Parquet deliverable.
        schema: The Spark schema of a Parquet deliverable (JSON data).
        reason: Why an ``unsupported`` value was not kept.
    """

    factory: str
    delivery_id: str
    type: str
    producer: str
    format: str
    path: str | None = None
    rows: int | None = None
    schema: dict[str, Any] | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StageManifest:
    """What one stage of one run kept."""

    run_id: str
    pipeline: str
    stage: int
    written_at: float
    entries: tuple[CheckpointEntry, ...] = ()

    def entry(self, factory: str) -> CheckpointEntry | None:
        """The entry of the factory named ``factory`` in the run, if any."""
        return next((e for e in self.entries if e.factory == factory), None)


@dataclass(frozen=True, slots=True)
class CheckpointRun:
    """A run that has a checkpoint folder."""

    run_id: str
    pipeline: str
    created_at: float
    resumed_from: str | None = None
    stages: tuple[int, ...] = field(default=())


class CheckpointStore:
    """The checkpoints of a project: written after each stage, read back to skip.

    Args:
        root: The checkpoints folder (``<project>/.pysetl/checkpoints``).
        keep: How many runs' checkpoints to keep per pipeline (at least 1).
        write: Whether runs write checkpoints (``False``: only read back).

    Raises:
        CheckpointError: ``keep`` is below 1.

    Examples:
        >>> store = CheckpointStore(".pysetl/checkpoints", keep=5)
        >>> Pipeline(checkpoint=store).add_stage_from_type(Load).run()
        >>> store.runs("pipeline")[0].stages
        (0,)
    """

    def __init__(self, root: str | Path, *, keep: int = 3, write: bool = True) -> None:
        """Use ``root``; nothing is created until a run writes."""
        if not isinstance(keep, int) or keep < 1:
            msg = f"keep={keep!r} is not a number of runs to keep"
            raise CheckpointError(msg, hint="give keep as a whole number, 1 or more")
        self.root = Path(root)
        self.keep = keep
        self.write = write

    @classmethod
    def default(
        cls, project_dir: str | Path | None = None, *, keep: int = 3, write: bool = True
    ) -> CheckpointStore:
        """The store of the project in ``project_dir`` (default: the working dir)."""
        base = Path.cwd() if project_dir is None else Path(project_dir)
        return cls(base / CHECKPOINTS_DIR, keep=keep, write=write)

    def __repr__(self) -> str:
        """``CheckpointStore('path', keep=3)``."""
        return f"CheckpointStore({str(self.root)!r}, keep={self.keep})"

    # --------------------------------------------------------------- reading
    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id``'s checkpoints."""
        return self.root / _UNSAFE.sub("_", run_id)

    def stage_dir(self, run_id: str, stage_id: int) -> Path:
        """The folder of stage ``stage_id`` of run ``run_id``."""
        return self.run_dir(run_id) / f"stage-{stage_id}"

    def run(self, run_id: str) -> CheckpointRun | None:
        """The checkpoint of run ``run_id``; ``None`` when it has none."""
        folder = self.run_dir(run_id)
        try:
            data = json.loads((folder / _RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return CheckpointRun(
            run_id=str(data.get("run_id", run_id)),
            pipeline=str(data.get("pipeline", "")),
            created_at=float(data.get("created_at", 0.0)),
            resumed_from=data.get("resumed_from"),
            stages=self._stages(folder),
        )

    @staticmethod
    def _stages(folder: Path) -> tuple[int, ...]:
        found = []
        for stage in folder.glob("stage-*"):
            number = stage.name.removeprefix("stage-")
            if number.isdigit() and (stage / _MANIFEST).is_file():
                found.append(int(number))
        return tuple(sorted(found))

    def runs(self, pipeline: str | None = None) -> list[CheckpointRun]:
        """The runs with a checkpoint (of ``pipeline``, if given), newest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            run = self.run(folder.name) if folder.is_dir() else None
            if run is not None and (pipeline is None or run.pipeline == pipeline):
                found.append(run)
        return sorted(found, key=lambda r: (r.created_at, r.run_id), reverse=True)

    def latest(self, pipeline: str, stages: Iterable[int]) -> CheckpointRun | None:
        """The newest run of ``pipeline`` whose checkpoint has all of ``stages``."""
        wanted = set(stages)
        return next((r for r in self.runs(pipeline) if wanted <= set(r.stages)), None)

    def manifest(self, run_id: str, stage_id: int) -> StageManifest:
        """The manifest of stage ``stage_id`` of run ``run_id``.

        Raises:
            CheckpointError: The stage has no (readable) manifest.
        """
        path = self.stage_dir(run_id, stage_id) / _MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return StageManifest(
                run_id=data["run_id"],
                pipeline=data["pipeline"],
                stage=int(data["stage"]),
                written_at=float(data["written_at"]),
                entries=tuple(CheckpointEntry(**e) for e in data["entries"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = (
                f"Stage {stage_id} of run {run_id!r} has no readable checkpoint "
                f"in {str(path.parent)!r}: {exc}"
            )
            raise CheckpointError(msg, hint=_RERUN) from exc

    def load(
        self, run_id: str, stage_id: int, factory: str, *, spark: Any, declared: Any
    ) -> Any:
        """The deliverable of ``factory`` kept by stage ``stage_id`` of run ``run_id``.

        Args:
            run_id: The run whose checkpoint is read.
            stage_id: The factory's stage.
            factory: The factory's name in the run.
            spark: The SparkSession that reads Parquet back (lazily: no job).
            declared: The factory's declared output type (a typedspark
                ``DataSet[S]`` is wrapped again).

        Raises:
            CheckpointError: No such entry, a value that was not kept, no
                SparkSession for Parquet, or files that cannot be read.
        """
        manifest = self.manifest(run_id, stage_id)
        entry = manifest.entry(factory)
        if entry is None:
            msg = (
                f"The checkpoint of stage {stage_id} of run {run_id!r} has no "
                f"deliverable of factory {factory!r} (it has: "
                f"{', '.join(e.factory for e in manifest.entries) or 'none'})"
            )
            raise CheckpointError(
                msg, hint="the pipeline changed since: run it whole, with --checkpoint"
            )
        folder = self.stage_dir(run_id, stage_id)
        if entry.format == "unsupported":
            msg = (
                f"Factory {factory!r} (stage {stage_id} of run {run_id!r}) made a "
                f"{entry.type} that was not checkpointed: {entry.reason}"
            )
            raise CheckpointError(
                msg,
                hint="run that stage again (a smaller --from-stage), or make the "
                "factory return a DataFrame or a JSON-able value",
            )
        if entry.format == "parquet" and spark is None:
            msg = (
                f"Factory {factory!r}'s checkpoint is Parquet, and no "
                "SparkSession is running to read it back"
            )
            raise CheckpointError(msg, hint="start Spark before running the pipeline")
        try:
            if entry.format == "parquet":
                return values.read_parquet(folder / str(entry.path), spark, declared)
            return values.read_json(folder / str(entry.path))
        except Exception as exc:
            msg = (
                f"The checkpoint of factory {factory!r} (stage {stage_id} of run "
                f"{run_id!r}) cannot be read back: {type(exc).__name__}: {exc}"
            )
            raise CheckpointError(msg, hint=_RERUN) from exc

    # --------------------------------------------------------------- writing
    def begin(self, run_id: str, pipeline: str, *, resumed_from: str | None) -> None:
        """Create run ``run_id``'s folder and prune older runs of ``pipeline``.

        The run a resume reads from is never pruned while it is read.

        Raises:
            CheckpointError: The folder cannot be made or written.
        """
        folder = self.run_dir(run_id)
        data = {
            "run_id": run_id,
            "pipeline": pipeline,
            "created_at": time.time(),
            "resumed_from": resumed_from,
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / _RUN_FILE).write_text(json.dumps(data), encoding="utf-8")
        except OSError as exc:
            msg = f"The checkpoints of run {run_id!r} cannot be written: {exc}"
            raise CheckpointError(
                msg,
                hint=f"make {str(self.root)!r} a folder this user can write to, "
                "or set checkpoints.path",
            ) from exc
        self.prune(pipeline, spare=(run_id, resumed_from))

    def prune(
        self, pipeline: str | None = None, *, spare: Iterable[str | None] = ()
    ) -> list[str]:
        """Remove all but the newest ``keep`` runs (of ``pipeline``, or of each).

        Args:
            pipeline: Only that pipeline's runs (default: every pipeline's).
            spare: Run ids never removed (the run being written, its source).

        Returns:
            The run ids removed.
        """
        spared = {s for s in spare if s}
        by_pipeline: dict[str, list[CheckpointRun]] = {}
        for run in self.runs(pipeline):
            by_pipeline.setdefault(run.pipeline, []).append(run)
        removed = []
        for runs in by_pipeline.values():
            kept = sum(1 for r in runs if r.run_id in spared)
            for run in runs:  # newest first
                if run.run_id in spared:
                    continue
                if kept < self.keep:
                    kept += 1
                    continue
                shutil.rmtree(self.run_dir(run.run_id), ignore_errors=True)
                removed.append(run.run_id)
        return removed

    def save_stage(
        self,
        run_id: str,
        pipeline: str,
        stage_id: int,
        items: Sequence[tuple[str, Any, Any]],
    ) -> StageManifest:
        """Keep each ``(factory name, factory, output)`` of a stage; the manifest.

        A value that cannot be kept is left out with a ``CheckpointWarning``.

        Raises:
            CheckpointError: A file cannot be written.
        """
        folder = self.stage_dir(run_id, stage_id)
        try:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            entries = [
                self._save_one(folder, position, name, factory, output)
                for position, (name, factory, output) in enumerate(items)
            ]
        except Warning:  # a CheckpointWarning made an error (-W error): as is
            raise
        except Exception as exc:
            msg = (
                f"The checkpoint of stage {stage_id} of run {run_id!r} cannot be "
                f"written to {str(folder)!r}: {type(exc).__name__}: {exc}"
            )
            raise CheckpointError(
                msg, hint="check the free space and the folder's permissions"
            ) from exc
        manifest = StageManifest(
            run_id, pipeline, stage_id, time.time(), tuple(entries)
        )
        _write_manifest(folder, manifest)
        return manifest

    def _save_one(
        self, folder: Path, position: int, name: str, factory: Any, output: Any
    ) -> CheckpointEntry:
        kind = type(factory)
        common: dict[str, Any] = {
            "factory": name,
            "delivery_id": str(getattr(factory, "delivery_id", "")),
            "type": pretty(kind.delivery_type().tp),
            "producer": f"{kind.__module__}.{kind.__qualname__}",
        }
        slug = f"{position}-{_UNSAFE.sub('-', name)}"
        if values.is_dataframe(output):
            path = folder / slug
            schema = _with_job_group(
                output,
                f"pysetl-checkpoint:{folder.parent.name}:{name}",
                lambda: values.write_parquet(output, path),
            )
            rows = values.parquet_rows(path)
            return CheckpointEntry(
                **common, format="parquet", path=slug, rows=rows, schema=schema
            )
        try:
            values.write_json(output, folder / f"{slug}.json")
        except values.UnsupportedValueError as exc:
            (folder / f"{slug}.json").unlink(missing_ok=True)
            reason = (
                f"{exc}, which has no pickle-free form (DataFrames and JSON-able "
                "values are kept)"
            )
            warnings.warn(
                f"Factory {name!r} ({common['producer']}) made a value that cannot "
                f"be checkpointed: {reason}; it is left out of the checkpoint",
                CheckpointWarning,
                stacklevel=4,
            )
            return CheckpointEntry(**common, format="unsupported", reason=reason)
        return CheckpointEntry(**common, format="json", path=f"{slug}.json")

    def copy_stage(
        self, source_run: str, run_id: str, pipeline: str, stage_id: int
    ) -> None:
        """Copy stage ``stage_id`` of ``source_run``'s checkpoint into ``run_id``'s.

        A resumed run's own checkpoint then holds every stage, so it can be
        resumed in turn even once the source run is pruned.
        """
        source = self.stage_dir(source_run, stage_id)
        target = self.stage_dir(run_id, stage_id)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(_MANIFEST))
        old = self.manifest(source_run, stage_id)
        _write_manifest(
            target, StageManifest(run_id, pipeline, stage_id, time.time(), old.entries)
        )


def _write_manifest(folder: Path, manifest: StageManifest) -> None:
    """Write the manifest last, by a rename: a folder with one is complete."""
    data = asdict(manifest)
    data["entries"] = [asdict(e) for e in manifest.entries]
    partial = folder / f".{_MANIFEST}.part"
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    partial.replace(folder / _MANIFEST)


def _with_job_group(frame: Any, group: str, write: Any) -> Any:
    """Run ``write()`` with the checkpoint's own Spark job group on this thread."""
    try:
        sc = frame.sparkSession.sparkContext
    except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext to label
        return write()
    sc.setJobGroup(group, f"pysetl checkpoint / {group}")
    try:
        return write()
    finally:
        _spark.clear_job_group(sc)
