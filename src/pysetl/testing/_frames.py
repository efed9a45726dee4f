"""``assert_frame_equal`` and ``assert_dataset_equal``: readable DataFrame checks.

Both collect the two frames to the driver, so they are meant for the small
frames of unit tests (a few thousand rows at most). Neither imports pyspark:
they only call methods of the frames they are given.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyspark.sql import DataFrame

__all__ = ["assert_dataset_equal", "assert_frame_equal"]

MAX_SHOWN = 10
"""Default number of differing rows shown in a failure message."""


@dataclass(frozen=True, slots=True)
class _Tolerance:
    rel: float
    abs: float

    @property
    def exact(self) -> bool:
        return self.rel == 0 and self.abs == 0


def assert_frame_equal(
    actual: DataFrame,
    expected: DataFrame,
    *,
    check_order: bool = False,
    check_schema: bool = True,
    check_nullable: bool = False,
    rel_tol: float = 0.0,
    abs_tol: float = 0.0,
    max_shown: int = MAX_SHOWN,
) -> None:
    """Fail with a readable diff unless ``actual`` holds the rows of ``expected``.

    Both frames are collected to the driver: use it on the small frames of
    tests. Columns are matched by name; rows are compared as multisets
    unless ``check_order`` is set. Floats are equal within ``rel_tol`` or
    ``abs_tol`` (``math.isclose``), and ``NaN`` equals ``NaN``.

    Args:
        actual: The frame under test.
        expected: The frame it should equal.
        check_order: Compare rows position by position.
        check_schema: Compare column types (and order); off, only the
            column names must match, in any order.
        check_nullable: Also compare each column's ``nullable`` flag.
        rel_tol: Relative tolerance for floats.
        abs_tol: Absolute tolerance for floats.
        max_shown: At most this many differing rows are shown.

    Raises:
        AssertionError: The schemas or the rows differ; the message lists
            the schema differences and the differing rows.

    Examples:
        >>> expected = spark.createDataFrame([(1, "a")], "id int, x string")
        >>> assert_frame_equal(result, expected)

    Added in 0.5.
    """
    problems = _schema_problems(
        actual, expected, check_schema=check_schema, check_nullable=check_nullable
    )
    columns = list(expected.columns)
    if set(actual.columns) != set(columns):
        _fail(problems, [])  # rows cannot be compared column by column
    tolerance = _Tolerance(rel_tol, abs_tol)
    got = [_row(r, columns) for r in actual.collect()]
    want = [_row(r, columns) for r in expected.collect()]
    if check_order:
        rows = _ordered_diff(got, want, columns, tolerance, max_shown)
    else:
        rows = _unordered_diff(got, want, columns, tolerance, max_shown)
    if problems or rows:
        _fail(problems, rows)


def assert_dataset_equal(
    actual: DataFrame,
    expected: DataFrame,
    *,
    check_order: bool = False,
    check_nullable: bool = False,
    rel_tol: float = 0.0,
    abs_tol: float = 0.0,
    max_shown: int = MAX_SHOWN,
) -> None:
    """``assert_frame_equal`` for typedspark ``DataSet[Schema]`` values.

    It first checks that both carry the same typedspark schema class (when
    both carry one; typedspark itself checks, when a ``DataSet`` is made,
    that its columns are those the schema declares), then compares columns
    and rows as ``assert_frame_equal`` does, types included. Collects both
    to the driver: for small frames.

    Args:
        actual: The ``DataSet`` under test.
        expected: The ``DataSet`` (or plain frame) it should equal.
        check_order: Compare rows position by position.
        check_nullable: Also compare each column's ``nullable`` flag.
        rel_tol: Relative tolerance for floats.
        abs_tol: Absolute tolerance for floats.
        max_shown: At most this many differing rows are shown.

    Raises:
        AssertionError: The schema classes, the columns or the rows differ.

    Added in 0.5.
    """
    mine, theirs = _schema_class(actual), _schema_class(expected)
    problems: list[str] = []
    if mine is not None and theirs is not None and mine is not theirs:
        problems.append(
            f"  the DataSets have different schemas: {_name(mine)} (actual) "
            f"!= {_name(theirs)} (expected)"
        )
    if problems:
        _fail(problems, [], title="DataSets differ")
    assert_frame_equal(
        actual,
        expected,
        check_order=check_order,
        check_nullable=check_nullable,
        rel_tol=rel_tol,
        abs_tol=abs_tol,
        max_shown=max_shown,
    )


# ------------------------------------------------------------------ schema
def _field_text(field: Any, *, nullable: bool) -> str:
    text = f"{field.name}: {field.dataType.simpleString()}"
    if nullable:
        text += " (nullable)" if field.nullable else " (not null)"
    return text


def _schema_problems(
    actual: DataFrame,
    expected: DataFrame,
    *,
    check_schema: bool,
    check_nullable: bool,
) -> list[str]:
    got_names, want_names = list(actual.columns), list(expected.columns)
    problems = [
        f"  missing column {name!r} (expected, not in actual)"
        for name in want_names
        if name not in got_names
    ]
    problems += [
        f"  unexpected column {name!r} (in actual, not expected)"
        for name in got_names
        if name not in want_names
    ]
    if not check_schema:
        return problems
    got = {f.name: f for f in actual.schema.fields}
    for field in expected.schema.fields:
        mine = got.get(field.name)
        if mine is None:
            continue
        same_type = mine.dataType == field.dataType
        same_null = not check_nullable or mine.nullable == field.nullable
        if not (same_type and same_null):
            problems.append(
                f"  column {field.name!r}: "
                f"{_field_text(mine, nullable=check_nullable)} (actual) != "
                f"{_field_text(field, nullable=check_nullable)} (expected)"
            )
    if not problems and got_names != want_names:
        problems.append(
            f"  column order: {got_names} (actual) != {want_names} (expected); "
            "pass check_schema=False to compare by name only"
        )
    return problems


def _schema_class(frame: Any) -> Any:
    annotations = getattr(frame, "_schema_annotations", None)
    return getattr(annotations, "__origin__", annotations)


def _name(schema: Any) -> str:
    return str(getattr(schema, "__name__", schema))


# -------------------------------------------------------------------- rows
def _plain(value: Any) -> Any:
    """A collected value as plain, comparable Python (Rows, lists, maps)."""
    as_dict = getattr(value, "asDict", None)
    if isinstance(value, tuple) and callable(as_dict):  # a nested Row
        return tuple((k, _plain(v)) for k, v in as_dict().items())
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((k, _plain(v)) for k, v in value.items()), key=repr))
    if isinstance(value, bytearray):  # BinaryType: hashable, as rows are counted
        return bytes(value)
    return value


def _row(row: Any, columns: Sequence[str]) -> tuple[Any, ...]:
    values = row.asDict(recursive=False)
    return tuple(_plain(values[c]) for c in columns)


def _close(a: Any, b: Any, tolerance: _Tolerance) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=tolerance.rel, abs_tol=tolerance.abs)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(
            _close(x, y, tolerance) for x, y in zip(a, b, strict=True)
        )
    return bool(a == b) and type(a) is type(b)


def _show(row: tuple[Any, ...], columns: Sequence[str]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=True))


def _more(count: int, max_shown: int) -> list[str]:
    return [f"    ... and {count - max_shown} more"] if count > max_shown else []


def _ordered_diff(
    got: list[tuple[Any, ...]],
    want: list[tuple[Any, ...]],
    columns: Sequence[str],
    tolerance: _Tolerance,
    max_shown: int,
) -> list[str]:
    lines: list[str] = []
    differing = [
        i
        for i in range(min(len(got), len(want)))
        if not _close(got[i], want[i], tolerance)
    ]
    for i in differing[:max_shown]:
        lines += [
            f"  row {i}:",
            f"    - {_show(want[i], columns)}",
            f"    + {_show(got[i], columns)}",
        ]
    lines += _more(len(differing), max_shown)
    extra = got[len(want) :]
    missing = want[len(got) :]
    lines += _listed(
        "missing (expected, not in actual)", "-", missing, columns, max_shown
    )
    lines += _listed(
        "unexpected (in actual, not expected)", "+", extra, columns, max_shown
    )
    if lines:
        lines.insert(0, f"Rows (in order): {len(got)} actual, {len(want)} expected")
    return lines


def _listed(
    title: str,
    sign: str,
    rows: list[tuple[Any, ...]],
    columns: Sequence[str],
    max_shown: int = MAX_SHOWN,
) -> list[str]:
    if not rows:
        return []
    kind, where = title.split(" ", 1)  # "missing (expected, not in actual)"
    noun = "row" if len(rows) == 1 else "rows"
    lines = [f"  {len(rows)} {kind} {noun} {where}:"]
    lines += [f"    {sign} {_show(r, columns)}" for r in rows[:max_shown]]
    return lines + _more(len(rows), max_shown)


def _unordered_diff(
    got: list[tuple[Any, ...]],
    want: list[tuple[Any, ...]],
    columns: Sequence[str],
    tolerance: _Tolerance,
    max_shown: int,
) -> list[str]:
    # Exact matches first (cheap, by hash); then, with a tolerance, pair the
    # leftovers one by one (quadratic, but only over the differing rows).
    left = Counter(_key(r) for r in got)
    missing: list[tuple[Any, ...]] = []
    for row in want:
        key = _key(row)
        if left[key] > 0:
            left[key] -= 1
        else:
            missing.append(row)
    extra: list[tuple[Any, ...]] = []
    for row in got:
        key = _key(row)
        if left[key] > 0:
            left[key] -= 1
            extra.append(row)
    if not tolerance.exact:
        unmatched: list[tuple[Any, ...]] = []
        for row in missing:
            pair = next((r for r in extra if _close(r, row, tolerance)), None)
            if pair is None:
                unmatched.append(row)
            else:
                extra.remove(pair)
        missing = unmatched
    if not missing and not extra:
        return []
    return [
        f"Rows (order ignored): {len(got)} actual, {len(want)} expected",
        *_listed("missing (expected, not in actual)", "-", missing, columns, max_shown),
        *_listed(
            "unexpected (in actual, not expected)", "+", extra, columns, max_shown
        ),
    ]


def _key(row: tuple[Any, ...]) -> Any:
    # NaN != NaN would make a row never match itself; repr is hashable too
    # for unhashable leftovers (none: _plain made tuples of everything).
    return tuple(
        ("nan",) if isinstance(v, float) and math.isnan(v) else (type(v).__name__, v)
        for v in row
    )


def _fail(schema: list[str], rows: list[str], title: str = "DataFrames differ") -> None:
    lines = [title]
    if schema:
        lines += ["Schema:", *schema]
    lines += rows
    raise AssertionError("\n".join(lines))
