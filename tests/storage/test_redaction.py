"""Secrets handed to Spark are masked in Py4J's debug log."""

from __future__ import annotations

import logging
import uuid

from pysetl.storage._redaction import PY4J_LOGGERS, protect, protected_secrets


class TestProtect:
    def test_a_protected_secret_is_masked_in_py4j_records(self, caplog):
        secret = f"canary-{uuid.uuid4().hex}"
        protect(secret)
        protect(secret)
        caplog.set_level(logging.DEBUG, logger=PY4J_LOGGERS[0])
        logging.getLogger(PY4J_LOGGERS[0]).debug("Command to send: %s", secret)
        assert secret not in caplog.text
        assert "Command to send: **********" in caplog.text
        assert secret in protected_secrets()
        assert (
            logging.getLogger(PY4J_LOGGERS[0]).filters.count(
                logging.getLogger(PY4J_LOGGERS[1]).filters[0]
            )
            == 1
        )

    def test_records_without_secrets_are_untouched(self, caplog):
        caplog.set_level(logging.DEBUG, logger=PY4J_LOGGERS[0])
        logging.getLogger(PY4J_LOGGERS[0]).debug("Answer received: %s", "!yv")
        assert "Answer received: !yv" in caplog.text

    def test_an_empty_secret_is_ignored(self):
        before = protected_secrets()
        protect("")
        assert protected_secrets() == before
