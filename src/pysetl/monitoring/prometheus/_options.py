"""``PrometheusOptions``: the validated options of ``PrometheusExporter``.

The same model backs ``monitoring.observers`` entries today and a
first-class ``monitoring.prometheus:`` section later::

    monitoring:
      observers:
        - class: pysetl.monitoring.prometheus:PrometheusExporter
          options:
            pushgateway: https://pushgateway.example.org:9091
            username: pysetl
            password: ${secret:env:PUSHGATEWAY_PASSWORD}
            ca_file: /etc/ssl/certs/internal-ca.pem
            push_interval: 30
            timeout: 0.75
            textfile: /var/lib/node_exporter/textfile/pysetl.prom

Added in 0.5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic import ValidationError as PydanticValidationError

from pysetl.errors import ConfigError

__all__ = ["MAX_TIMEOUT", "PrometheusOptions", "parse_options"]

MAX_TIMEOUT = 30.0
"""The longest ``timeout`` allowed: a push never holds the writer longer."""

_RESERVED_LABELS = frozenset({"job", "pipeline", "instance"})


class PrometheusOptions(BaseModel):
    """How and where ``PrometheusExporter`` publishes the run history's figures.

    Attributes:
        pushgateway: The Pushgateway's URL (``http://`` or ``https://``); each
            pipeline is pushed at the end of every run and every
            ``push_interval`` seconds while it runs.
        job: The ``job`` of the pushed groups.
        instance: The ``instance`` of the pushed groups (default: the host name).
        grouping_key: More labels of the pushed groups (never a run id: keep
            them bounded); ``job``, ``pipeline`` and ``instance`` are set by
            the exporter.
        push_interval: Seconds between two pushes while a pipeline runs
            (``null``: push at the end of runs only).
        timeout: Seconds a push waits to connect, and for each read, before
            it gives up (at most ``MAX_TIMEOUT``).
        username: The user of HTTP basic authentication.
        password: Its password (``${secret:...}``; it is never shown).
        ca_file: CA certificates to verify the Pushgateway's certificate with.
        cert_file: A client certificate (mutual TLS), with ``key_file``.
        key_file: The client certificate's private key.
        insecure_skip_verify: Do not verify the server's certificate (tests only).
        textfile: Also write every pipeline's figures to this ``.prom`` file
            (node_exporter's textfile collector) at the end of every run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pushgateway: str | None = None
    job: str = Field(default="pysetl", min_length=1)
    instance: str | None = Field(default=None, min_length=1)
    grouping_key: dict[str, str] = Field(default_factory=dict)
    push_interval: float | None = Field(default=30.0, gt=0)
    # Under the writer's slow threshold (1 s): a push that times out is then
    # reported once by the exporter, not also as a slow call by the writer.
    timeout: float = Field(default=0.75, gt=0, le=MAX_TIMEOUT)
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_verify: bool = False
    textfile: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PrometheusOptions:
        if self.pushgateway is None and self.textfile is None:
            msg = "give 'pushgateway' (a URL), 'textfile' (a .prom path) or both"
            raise ValueError(msg)
        if self.pushgateway is not None:
            parts = urlsplit(self.pushgateway)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                msg = (
                    f"'pushgateway' must be an http:// or https:// URL, "
                    f"not {self.pushgateway!r}"
                )
                raise ValueError(msg)
            tls = self.ca_file or self.cert_file or self.insecure_skip_verify
            if tls and parts.scheme != "https":
                msg = (
                    "'ca_file', 'cert_file' and 'insecure_skip_verify' need an "
                    "https:// 'pushgateway'"
                )
                raise ValueError(msg)
        if self.password is not None and self.username is None:
            msg = "'password' needs 'username' (HTTP basic authentication)"
            raise ValueError(msg)
        if (self.cert_file is None) != (self.key_file is None):
            msg = "'cert_file' and 'key_file' go together (mutual TLS)"
            raise ValueError(msg)
        reserved = sorted(_RESERVED_LABELS & set(self.grouping_key))
        if reserved:
            msg = f"'grouping_key' cannot set {reserved}: the exporter sets them"
            raise ValueError(msg)
        if self.textfile is not None and self.textfile.suffix != ".prom":
            msg = (
                "'textfile' must end in .prom (the textfile collector's rule), "
                f"not {str(self.textfile)!r}"
            )
            raise ValueError(msg)
        return self


def parse_options(options: dict[str, Any], *, owner: str) -> PrometheusOptions:
    """``options`` validated, or a ``ConfigError`` that names each bad option.

    Args:
        options: The keyword options the exporter was built with.
        owner: Who is built with them, for the message.

    Raises:
        ConfigError: An option is unknown, missing or has a wrong value.
    """
    try:
        return PrometheusOptions(**options)
    except PydanticValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"{where}: {error['msg']}" if where else error["msg"])
        msg = f"Invalid options of {owner}: " + "; ".join(problems)
        raise ConfigError(
            msg,
            hint="see PrometheusOptions in docs/integrations.md for every option",
            errors=[
                {"loc": e["loc"], "msg": e["msg"], "input": None} for e in exc.errors()
            ],
        ) from None
