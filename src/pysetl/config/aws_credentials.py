"""``AwsCredentials``: the keys a ``FileConnector`` needs for an ``s3://`` path."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AwsCredentials"]


class AwsCredentials(BaseModel):
    """Credentials of an S3-compatible object store.

    The keys stay plain ``str`` (as in the old API) but are hidden from
    ``repr``, so printing a config never shows them.

    Attributes:
        access_key: The access key id.
        secret_key: The secret access key.
        session_token: The session token.
        credentials_provider: The name of the credentials provider.
    """

    model_config = ConfigDict(frozen=True)

    access_key: str = Field(repr=False)
    secret_key: str = Field(repr=False)
    session_token: str = Field(repr=False)
    credentials_provider: str
