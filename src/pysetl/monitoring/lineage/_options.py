"""``OpenLineageOptions``: the validated options of the OpenLineage exporter.

They are the ``options`` of the exporter's entry in ``monitoring.observers``
(and, later, of a ``monitoring.lineage`` section)::

    monitoring:
      observers:
        - class: pysetl.monitoring.lineage:OpenLineageExporter
          options:
            url: http://marquez.internal:5000
            namespace: my-team
            api_key: ${secret:env:LINEAGE_API_KEY}

Added in 0.4.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["DEFAULT_PRODUCER", "OpenLineageOptions"]

DEFAULT_PRODUCER = "https://pypi.org/project/pysetl/"
"""The ``producer`` URI of the events: who wrote them (the spec asks for a URI)."""


class OpenLineageOptions(BaseModel):
    """Where and how the exporter sends OpenLineage events.

    Attributes:
        url: The backend's base URL (``http://host:5000``); events are
            POSTed to ``url`` + ``endpoint``.
        endpoint: The path of the lineage API.
        namespace: The namespace of the jobs (the pipeline and its factories).
        api_key: Sent as ``Authorization: Bearer <key>``; give it as
            ``${secret:...}``: it is a secret, masked in every output.
        timeout: Seconds one send may wait to connect, and again to read
            the answer; a send never retries.
        retry_after: Seconds during which nothing is sent after a send
            failed (events are dropped and counted meanwhile).
        producer: The ``producer`` URI written in every event.
        schema_facets: Add a ``schema`` facet to the datasets of typed
            repositories.
        verify: Check the server's TLS certificate.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://\S+$")
    endpoint: str = "api/v1/lineage"
    namespace: str = Field(default="pysetl", min_length=1)
    api_key: SecretStr | None = None
    # Under the writer's 1 s slow-call threshold: a silent backend is reported
    # once (by this exporter), not also as a slow observer call.
    timeout: float = Field(default=0.75, gt=0, le=60)
    retry_after: float = Field(default=300.0, ge=0)
    producer: str = Field(default=DEFAULT_PRODUCER, pattern=r"^[a-z][a-z0-9+.-]*:\S+$")
    schema_facets: bool = True
    verify: bool = True

    @field_validator("api_key", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        # A plain str from code becomes a SecretStr at once; an empty one is none.
        if isinstance(value, str):
            return SecretStr(value) if value else None
        return value
