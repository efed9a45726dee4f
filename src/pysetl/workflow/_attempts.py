"""Running a factory under its policy: numbered attempts, retries, timeouts.

``run_factory`` hands a factory here when ``RunPolicies.of`` finds a retry
policy or a timeout for it (see ``pysetl.workflow.retry``); every other
factory stays on the engine's hot path. An attempt does what
``run_factory`` does (events, job group, phases, error context), with its
own number.

How a timeout stops an attempt (``_run_watched``): the attempt runs on a
daemon thread, in a copy of the caller's context (its run scope, its log
context); the caller waits ``timeout`` seconds. Then, in this order:

1. the caller and the attempt's thread race, through ``_Watch.claim`` (one
   ``dict.setdefault``: atomic under the GIL), to *settle* the attempt: an
   attempt that finished first keeps its outcome;
2. the caller cancels the attempt's Spark job group (a Spark action waiting
   in the attempt's thread then fails at once) and gives the thread a
   moment to end on its own;
3. it then raises ``_Interrupt`` in that thread
   (``PyThreadState_SetAsyncExc``): a pure-Python loop stops at its next
   instruction, a C call (``time.sleep``, a socket read) when it returns;
   whether the interrupt is sent is claimed too, so that the thread never
   leaves with an interrupt still on its way;
4. after ``grace`` more seconds a thread still running is abandoned.

A limit of CPython: while an interrupt waits for a thread stuck in a C
call, a thread that is *traced* (``sys.settrace``: coverage, a debugger)
cannot run either; under a tracer the caller then waits for the C call to
return, whatever the grace. Untraced processes are not affected.

Only the caller reports a timed-out attempt (``on_factory_run_failed`` with
a ``FactoryTimeoutError``); the attempt's thread reports nothing once it
lost the race.

Added in 0.6.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from contextvars import copy_context
from typing import TYPE_CHECKING, Any, NoReturn

from pysetl.errors import FactoryError, FactoryTimeoutError
from pysetl.utils.redaction import redact_text
from pysetl.utils.run_scope import RunScope, bind_scope, reset_scope
from pysetl.workflow import spark as _spark
from pysetl.workflow._execute import (
    _fill,
    _partial,
    _succeeded,
    _wrap,
    _wrong_output,
)
from pysetl.workflow.factory import Factory, class_record
from pysetl.workflow.retry import FactoryPolicies, FactoryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pysetl.workflow._execute import FactoryRun, Job, RunContext
    from pysetl.workflow._inject import Source

__all__ = ["DEFAULT_GRACE", "RunPolicies"]

_LOGGER = logging.getLogger("pysetl.workflow.retry")
_perf = time.perf_counter
DEFAULT_GRACE = 5.0
"""Seconds a timed-out attempt gets to stop before it is abandoned."""
_SPARK_GRACE = 1.0  # of the grace: for a cancelled Spark action to return
_NOT_SET = object()


def _class_policy(cls: type) -> FactoryPolicy | None:
    retry = getattr(cls, "retry_policy", None)
    timeout = getattr(cls, "timeout_seconds", None)
    if retry is None and timeout is None:
        return None
    return FactoryPolicy(retry, timeout)


class RunPolicies:
    """The policies of one run, resolved once per factory class and name.

    Args:
        policies: The pipeline's (the config's over the code's).
    """

    __slots__ = ("_cache", "policies")

    def __init__(self, policies: FactoryPolicies | None) -> None:
        """Keep the pipeline's policies; nothing is resolved yet."""
        self.policies = policies
        self._cache: dict[tuple[type, str], FactoryPolicy | None] = {}

    def warn_unknown(self, names: Iterable[str]) -> None:
        """Log a warning for each policy whose factory name the run does not have."""
        if self.policies is None:
            return
        names = list(names)
        unknown = self.policies.unknown(names)
        classes = {n.split("#")[0] for n in names}
        unknown = [n for n in unknown if n not in classes]
        if unknown:
            _LOGGER.warning(
                "pysetl: no factory of this run is named %s (retry policies and "
                "timeouts of execution.factories / Pipeline(policies=...)); the "
                "run names its factories %s",
                ", ".join(unknown),
                ", ".join(sorted(classes)[:20]),
            )

    def of(self, factory: Any, name: str) -> FactoryPolicy | None:
        """What applies to ``factory`` (run name ``name``); ``None``: nothing."""
        key = (type(factory), name)
        found = self._cache.get(key, _NOT_SET)
        if found is _NOT_SET:
            found = self._cache[key] = self._resolve(type(factory), name)
        return found  # type: ignore[return-value]

    def _resolve(self, cls: type, name: str) -> FactoryPolicy | None:
        policies = self.policies
        entry = default = None
        if policies is not None:
            short = cls.name() if issubclass(cls, Factory) else cls.__name__
            entry = policies.entry(name, short) or policies.factories.get(cls.__name__)
            default = policies.default
        policy = (entry or FactoryPolicy()).over(_class_policy(cls)).over(default)
        timeout = policy.timeout or None  # 0 turns a timeout off
        retry = policy.retry
        if retry is not None and retry.max_attempts == 1:
            retry = None
        if retry is None and timeout is None:
            return None
        return FactoryPolicy(retry, timeout, policy.grace)

    def run(
        self,
        context: RunContext,
        stage_id: int,
        job: Job,
        name: str,
        policy: FactoryPolicy,
        *,
        record: bool = True,
    ) -> FactoryRun | Source:
        """Run the factory's attempts until one succeeds or the policy gives up.

        Raises:
            FactoryError: The last attempt's error (a ``FactoryTimeoutError``
                when it timed out), its ``attempt`` the attempt's number.
        """
        retry = policy.retry
        rng = None if retry is None else retry.rng(name)
        attempt = 1
        while True:
            try:
                if policy.timeout is None:
                    return _attempt(context, stage_id, job, name, attempt, record)
                return _run_watched(
                    context, stage_id, job, name, attempt, policy, record
                )
            except FactoryError as error:
                failed = error
                timed_out = isinstance(error, FactoryTimeoutError)
                cause = error if timed_out else error.__cause__
                if retry is None or not retry.retries(cause or error, attempt):
                    if attempt > 1:
                        note = f"gave up after {attempt} attempts"
                        error.add_note(note)  # type: ignore[attr-defined]
                    raise
                delay = retry.delay_before(attempt + 1, rng)
            _retried(context, stage_id, job, name, attempt, failed, delay)
            if delay > 0:
                time.sleep(delay)
            attempt += 1


def _retried(  # noqa: PLR0917 - the event's payload
    context: RunContext,
    stage_id: int,
    job: Job,
    name: str,
    attempt: int,
    error: FactoryError,
    delay: float,
) -> None:
    _LOGGER.warning(
        "factory %s failed (attempt %d): %s; retried in %.3f s",
        name,
        attempt,
        redact_text(
            f"{type(error.__cause__ or error).__name__}: {error.__cause__ or error}"
        ),
        delay,
    )
    hooks = context.hooks
    if hooks.enabled:
        hooks.emit(
            "on_factory_retried",
            timestamp=time.time(),
            run_id=context.run_id,
            pipeline=context.pipeline,
            pipeline_name=context.pipeline_name,
            stage_id=stage_id,
            factory=job.factory,
            factory_name=name,
            attempt=attempt,
            error=error,
            delay=delay,
            next_attempt=attempt + 1,
        )


class _Interrupt(BaseException):
    """Raised in a timed-out attempt's thread.

    A ``BaseException``, so that a factory's ``except Exception`` does not
    swallow it.
    """


class _Watch:
    """What a watched attempt and its caller share."""

    __slots__ = (
        "delivered",
        "error",
        "flags",
        "marks",
        "result",
        "scope",
    )

    def __init__(self) -> None:
        self.flags: dict[str, str] = {}
        self.delivered = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.marks: list[float | None] = [None, None, None, None]
        self.scope: RunScope | None = None

    def claim(self, key: str, who: str) -> bool:
        """Whether ``who`` is the first to claim ``key`` (atomic under the GIL)."""
        return self.flags.setdefault(key, who) is who


def _attempt(  # noqa: C901, PLR0912, PLR0915, PLR0917 - one attempt, in one frame
    context: RunContext,
    stage_id: int,
    job: Job,
    name: str,
    attempt: int,
    record: bool,
    watch: _Watch | None = None,
) -> FactoryRun | Source:
    """One attempt, as ``run_factory`` runs a factory, numbered ``attempt``.

    With ``watch`` (a timeout watches it) an attempt that lost the race
    against its timeout reports nothing: it returns ``None``.
    """
    factory = job.factory
    hooks = context.hooks
    observed = hooks.enabled
    sc = context.spark_context
    common: dict[str, Any] = {}
    if observed:
        common = {
            "run_id": context.run_id,
            "pipeline": context.pipeline,
            "pipeline_name": context.pipeline_name,
            "stage_id": stage_id,
            "factory": factory,
            "factory_name": name,
            "attempt": attempt,
        }
        hooks.emit("before_factory_run", timestamp=time.time(), **common)
    scope = RunScope(
        context.run_id,
        context.pipeline_name,
        stage_id,
        name,
        attempt,
        "read",
        hooks.emit,
    )
    token = bind_scope(scope)
    start = _perf()
    marks: list[float | None] = (
        [None, None, None, None] if watch is None else watch.marks
    )
    if watch is not None:
        watch.scope = scope
    failure: BaseException | None = None
    output: Any = None
    try:
        try:
            if sc is not None:
                _spark.set_job_group(
                    sc,
                    context.run_id,
                    context.pipeline_name,
                    name,
                    attempt,
                    interrupt=watch is not None,
                )
            _fill(factory, job)
            factory.read()
            marks[0] = _perf()
            scope.phase = "process"
            factory.process()
            marks[1] = _perf()
            if job.write:
                scope.phase = "write"
                factory.write()
                marks[2] = _perf()
            scope.phase = "get"
            output = factory.get()
            marks[3] = _perf()
            check = class_record(type(factory))[3]
            if check is not None and not isinstance(output, check):
                _wrong_output(context, stage_id, name, factory, output)
        except BaseException as exc:  # noqa: BLE001 - the interrupt too; re-raised below
            failure = exc
            if watch is not None and isinstance(exc, _Interrupt):
                watch.delivered = True
        if watch is not None and not watch.claim("settled", "attempt"):
            watch.error = failure  # timed out: the caller reports it
            return None  # type: ignore[return-value]
    finally:
        reset_scope(token)
        if sc is not None:
            _spark.clear_job_group(sc)
    if failure is not None:
        if not isinstance(failure, Exception):
            raise failure
        phase = scope.phase or "read"
        read, process, written, _ = marks
        error = _wrap(failure, context, stage_id, name, phase, factory)
        error.attempt = attempt
        if observed:
            hooks.emit(
                "on_factory_run_failed",
                timestamp=time.time(),
                duration=_perf() - start,
                phases=_partial(start, read, process, written, _perf()),
                phase=phase,
                error=error,
                **common,
            )
        if error is failure:
            raise error
        raise error from failure
    read, process, written, end = marks
    return _succeeded(
        hooks,
        job,
        output,
        (start, read, process, written, end),
        common,
        record=record,
        observed=observed,
    )


def _watched(  # noqa: PLR0917 - the attempt's thread
    context: RunContext,
    stage_id: int,
    job: Job,
    name: str,
    attempt: int,
    record: bool,
    watch: _Watch,
) -> None:
    """The body of a watched attempt's thread: never lets anything escape."""
    try:
        try:
            if context.spark_session is not None:
                _spark.activate(context.spark_session)
            watch.result = _attempt(
                context, stage_id, job, name, attempt, record, watch
            )
        except _Interrupt:
            watch.delivered = True
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            watch.error = exc
        _absorb(watch)
    except _Interrupt:  # arrived between the steps above: now it has
        watch.delivered = True
        _absorb(watch)


def _absorb(watch: _Watch) -> None:
    """Leave only when no interrupt is on its way to this thread."""
    waited = _perf() + DEFAULT_GRACE * 2
    while True:
        try:
            if (
                watch.flags.get("settled") != "timeout"  # settled first: none sent
                or watch.delivered
                or watch.claim("interrupt", "attempt")  # claimed first: none sent
            ):
                return
            while not watch.delivered and _perf() < waited:
                time.sleep(0.001)  # the interrupt arrives between two sleeps
        except _Interrupt:  # noqa: PERF203 - at most once
            watch.delivered = True
        else:
            return


def _interrupt(thread: threading.Thread) -> None:
    """Raise ``_Interrupt`` in ``thread`` at its next Python instruction."""
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(ident), ctypes.py_object(_Interrupt)
        )


def _run_watched(  # noqa: PLR0917 - an attempt and its timeout
    context: RunContext,
    stage_id: int,
    job: Job,
    name: str,
    attempt: int,
    policy: FactoryPolicy,
    record: bool,
) -> FactoryRun | Source:
    """One attempt on its own thread, stopped after ``policy.timeout`` seconds.

    Raises:
        FactoryTimeoutError: The attempt ran out of time.
        FactoryError: The attempt failed before its time was up.
    """
    timeout = float(policy.timeout or 0)
    grace = DEFAULT_GRACE if policy.grace is None else policy.grace
    watch = _Watch()
    thread = threading.Thread(
        target=copy_context().run,
        args=(_watched, context, stage_id, job, name, attempt, record, watch),
        name=f"pysetl-{name}-attempt-{attempt}",
        daemon=True,
    )
    start = _perf()
    thread.start()
    thread.join(timeout)
    if thread.is_alive() and watch.claim("settled", "timeout"):
        _time_out(
            context, stage_id, job, name, attempt, timeout, grace, watch, thread, start
        )
    thread.join()  # it settled first: it is reporting its outcome
    if watch.error is not None:
        raise watch.error
    return watch.result  # type: ignore[no-any-return]


def _time_out(  # noqa: PLR0917 - the timed-out attempt's whole context
    context: RunContext,
    stage_id: int,
    job: Job,
    name: str,
    attempt: int,
    timeout: float,
    grace: float,
    watch: _Watch,
    thread: threading.Thread,
    start: float,
) -> NoReturn:
    """Stop a timed-out attempt (job group, interrupt), report it, raise.

    Raises:
        FactoryTimeoutError: Always.
    """
    elapsed = _perf() - start
    sc = context.spark_context
    cancelled = False
    if sc is not None:
        group = _spark.job_group(context.run_id, context.pipeline_name, name, attempt)[
            0
        ]
        try:
            _spark.cancel_job_group(sc, group)
            cancelled = True
        except Exception:  # Spark is gone: nothing left to cancel
            _LOGGER.debug("pysetl could not cancel job group %s", group, exc_info=True)
        thread.join(min(grace, _SPARK_GRACE))
    if thread.is_alive() and watch.claim("interrupt", "timeout"):
        _interrupt(thread)
    thread.join(max(0.0, grace - (_perf() - start - elapsed)))
    abandoned = thread.is_alive()
    scope = watch.scope
    phase = (scope.phase if scope is not None else None) or "read"
    pipeline = context.pipeline_name
    msg = (
        f"Factory {name!r} timed out in {phase!r} after {elapsed:.1f} s (timeout "
        f"{timeout:g} s; stage {stage_id} of pipeline {pipeline!r}, run "
        f"{context.run_id}, attempt {attempt})"
    )
    done = ["its Spark job group was cancelled"] if cancelled else []
    if sc is not None and not cancelled:
        done.append("its Spark job group could not be cancelled")
    done.append("its thread was abandoned" if abandoned else "its code was interrupted")
    hint = (
        f"{' and '.join(done)}; raise the timeout of {name} "
        f"(execution.factories.{name}.timeout in the config, or timeout= on "
        "the factory class), or make it faster"
    )
    error = FactoryTimeoutError(
        redact_text(msg),
        hint=hint,
        run_id=context.run_id,
        pipeline=pipeline,
        stage=stage_id,
        factory=name,
        attempt=attempt,
        phase=phase,
        timeout=timeout,
        elapsed=elapsed,
        abandoned=abandoned,
    )
    cause = watch.error
    if isinstance(cause, Exception) and not isinstance(cause, _Interrupt):
        error.__cause__ = cause
    hooks = context.hooks
    if hooks.enabled:
        read, process, written, _ = watch.marks
        now = _perf()
        hooks.emit(
            "on_factory_run_failed",
            timestamp=time.time(),
            run_id=context.run_id,
            pipeline=context.pipeline,
            pipeline_name=pipeline,
            stage_id=stage_id,
            factory=job.factory,
            factory_name=name,
            attempt=attempt,
            duration=now - start,
            phases=_partial(start, read, process, written, now),
            phase=phase,
            error=error,
        )
    raise error
