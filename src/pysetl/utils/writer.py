"""``BackgroundWriter``: the one thread every observer does its slow work on.

The hook manager's event deliveries and the observers (the run history,
metrics, Spark progress, log capture) never start threads of their own.
They hand work to one writer, which runs it on one daemon thread
("pysetl-writer"):

* ``call(fn, *args, key=...)`` runs ``fn(*args)`` on the thread;
* ``put(sink, item)`` (or ``put_many(sink, items)``) buffers items for
  ``sink``; after each pass over the queue the writer hands every sink its
  buffered items in one ``sink.write_batch(items)`` call (one transaction
  for a store), so items are batched by themselves when they arrive fast
  and written at once when they arrive slowly;
* ``every(seconds, fn)`` runs ``fn`` periodically on the thread (heartbeats,
  progress samples) until the returned ``Ticker`` is cancelled.

One failure policy for everything: a ``call`` or a tick that raises is
logged and counted; a sink's batch that raises is retried ``retries`` times
with a doubling backoff, then dropped and counted. The first failure of a
key is logged at ERROR with its traceback, later ones at most once every
``report_interval`` seconds with a count: a broken store cannot flood the
logs (nor the log capture, which ignores this thread's own records).
Nothing is ever raised into the caller.

A sink whose batch was dropped counts as down: its next batches are dropped
(and counted) at once, without trying, and once every ``probe_interval``
seconds one batch is tried, once; the first that is written brings the sink
back (logged at WARNING). A try that failed after more than
``slow_threshold`` seconds (a lock or connection timeout) is not retried.
So a store that cannot be written costs the writer one batch's retries
(0.35 s with the defaults), or one slow try, and then one try per probe
interval, instead of the retries of every batch: the writer keeps up, and
the wait at the end of a run (``drain``) stays short.

The queue is bounded (``max_pending``): what does not fit is dropped and
counted in ``dropped``, never blocking the run. ``drain()`` waits (bounded)
until everything submitted so far is done; called on the writer's own
thread it returns at once instead of waiting for itself. ``close()`` is
idempotent and bounded: it drains, stops the thread and, from then on,
drops new work instead of starting a new thread, so a log line emitted
from a ``__del__`` at interpreter exit cannot restart anything and exit is
never held up (the thread is a daemon, too).

The writer is in ``_background_writer``, what its users hand it and get back
in ``_writer_types``, how it reports failures in ``_writer_reports`` and the
process-wide one in ``_shared_writer``; every name is re-exported here.

Added in 0.4.
"""

from __future__ import annotations

from pysetl.utils._background_writer import THREAD_NAME, BackgroundWriter
from pysetl.utils._shared_writer import reset_shared_writer, shared_writer
from pysetl.utils._writer_types import Sink, Ticker, on_writer_thread

__all__ = [
    "THREAD_NAME",
    "BackgroundWriter",
    "Sink",
    "Ticker",
    "on_writer_thread",
    "reset_shared_writer",
    "shared_writer",
]
