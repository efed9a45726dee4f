"""Keep secrets out of Py4J's debug log.

Py4J logs every command it sends to the JVM at DEBUG level
(``py4j.clientserver``: ``Command to send: ...``), and a JDBC password is one
of those commands' arguments. A connector that hands a secret to Spark first
calls ``protect``: the secret is registered with the one redaction point
(``pysetl.utils.redaction``), and a filter on Py4J's loggers masks it in
every record, whatever handler the user configured. The filter only runs for
records that are emitted, so it costs nothing unless Py4J debug logging is on.

Added in 0.2.
"""

from __future__ import annotations

import logging
import threading

from pysetl.logs import RedactFilter
from pysetl.utils.redaction import default_redactor

__all__ = ["PY4J_LOGGERS", "protect", "protected_secrets"]

PY4J_LOGGERS = ("py4j.clientserver", "py4j.java_gateway", "py4j.protocol")


# The same filter that ``pysetl.logs`` puts on handlers: one way of masking
# a record, here attached to Py4J's loggers themselves.
_FILTER = RedactFilter()
_LOCK = threading.Lock()


def protect(secret: str) -> None:
    """Mask ``secret`` in Py4J's log records (and every other output) from now on.

    Args:
        secret: A value about to be sent to the JVM (a password).
    """
    if not secret:
        return
    default_redactor().register_secret(secret)
    with _LOCK:
        for name in PY4J_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def protected_secrets() -> frozenset[str]:
    """The secrets masked so far (for tests)."""
    return default_redactor().secrets
