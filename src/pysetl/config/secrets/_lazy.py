"""``LazySecret``: a ``SecretStr`` whose value is fetched on first use.

Added in 0.3.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from pydantic import types as _pydantic_types
from pydantic_core import core_schema

from pysetl.utils.redaction import MASK, register_secret

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import GetCoreSchemaHandler
    from typing_extensions import Self

__all__ = ["LazySecret"]

# Callers that read a secret only to *display* it (pydantic's JSON serializer
# shows "**********" for any non-empty value). Asking the backend for a secret
# just to print a mask would be a network call, and a resolution nobody needs:
# these callers get a placeholder while the secret is unresolved. Once
# resolved, they get the value. (The Redactor skips unresolved lazy secrets by
# their ``is_resolved`` flag: they register themselves when resolved.)
_PLACEHOLDERS: dict[object, str] = {}
# A private pydantic helper (pydantic 2.x); tests pin that dumps never resolve,
# so a rename upstream shows there instead of breaking this import.
_pydantic_serializer = getattr(_pydantic_types, "_serialize_secret_field", None)
if _pydantic_serializer is not None:  # pragma: no branch
    _PLACEHOLDERS[_pydantic_serializer.__code__] = MASK


def _serialize(value: LazySecret, info: core_schema.SerializationInfo) -> Any:
    """Pydantic serializer of fields typed ``LazySecret``: never resolves."""
    return MASK if info.mode == "json" else value


class LazySecret(SecretStr):
    """A secret resolved on the first ``get_secret_value()`` and cached.

    It is a ``SecretStr``, so it fits any ``SecretStr`` field (a
    ``JdbcConfigModel.password``) and passes validation as it is, unresolved.
    ``str``, ``repr``, ``format``, ``model_dump``/``model_dump_json`` and the
    Redactor all show ``**********`` and never fetch the value. The value is
    registered with the process-wide Redactor when it is resolved, so it is
    masked wherever it might leak afterwards.

    Only a ``SecretResolver`` (for ``${secret:...}`` references) and a
    ``ConfigCipher`` (for ``enc:`` values) create them: each is bound to the
    config entry that wrote the reference.

    Attributes:
        reference: Where the value comes from (``vault:secret/db#password``,
            a template with its references, or ``enc:**********``); never the value.
        entry: The dotted config key the reference was written under.

    Examples:
        >>> secret = LazySecret(lambda: "s3cret-pw", reference="env:PW", entry="db")
        >>> str(secret), secret.is_resolved
        ('**********', False)
        >>> secret.get_secret_value(), secret.is_resolved
        ('s3cret-pw', True)
    """

    def __init__(
        self, resolve: Callable[[], str], *, reference: str, entry: str
    ) -> None:
        """Bind a resolver; nothing is fetched yet.

        Args:
            resolve: Returns the value; called once, on first access (again
                after a failure).
            reference: Where the value comes from, for messages.
            entry: The config entry the secret is bound to.
        """
        super().__init__("")
        self._resolve = resolve
        self._lock = threading.Lock()
        self._resolved = False
        self.reference = reference
        self.entry = entry

    @property
    def is_resolved(self) -> bool:
        """Whether the value has been fetched (and cached) already."""
        return self._resolved

    def get_secret_value(self) -> str:
        """The value: fetched from its source on first call, then cached.

        Raises:
            SecretError: The source cannot give the value (the error names the
                entry and the reference, never a value).
            ConfigCryptoError: An ``enc:`` value cannot be decrypted.
        """
        if self._resolved:
            return self._secret_value
        placeholder = _PLACEHOLDERS.get(sys._getframe(1).f_code)  # noqa: SLF001
        if placeholder is not None:
            return placeholder
        with self._lock:
            if not self._resolved:
                value = self._resolve()
                register_secret(value)
                self._secret_value = value
                self._resolved = True
        return self._secret_value

    # ------------------------------------------------------------- display
    def _display(self) -> str:
        return MASK

    def __repr__(self) -> str:
        """``LazySecret('**********', reference=..., entry=...)``."""
        return (
            f"LazySecret({MASK!r}, reference={self.reference!r}, entry={self.entry!r})"
        )

    def __format__(self, format_spec: str) -> str:
        """The mask, formatted (``f"{secret:>20}"`` works and shows no value)."""
        return format(MASK, format_spec)

    def __bool__(self) -> bool:
        """True, unless the value is resolved and empty (does not resolve)."""
        return not self._resolved or bool(self._secret_value)

    def __len__(self) -> int:
        """The length of the value (resolves it)."""
        return len(self.get_secret_value())

    # ---------------------------------------------------------- comparison
    def __eq__(self, other: object) -> bool:
        """Same binding (entry and reference), or the same value as a ``SecretStr``."""
        if isinstance(other, LazySecret):
            return (self.entry, self.reference) == (other.entry, other.reference)
        if isinstance(other, SecretStr):
            return self.get_secret_value() == other.get_secret_value()
        return NotImplemented

    def __hash__(self) -> int:
        """Hash of the binding: hashing never resolves."""
        return hash((LazySecret, self.entry, self.reference))

    # ------------------------------------------------------------- copying
    def __copy__(self) -> Self:
        """Itself: the binding is immutable and the cache is shared."""
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """Itself (``model_copy(deep=True)`` keeps one binding, one cache)."""
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the binding, never the value (unpickled, it resolves anew)."""
        return {
            "resolve": self._resolve,
            "reference": self.reference,
            "entry": self.entry,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore an unresolved binding."""
        self.__init__(  # type: ignore[misc]
            state["resolve"], reference=state["reference"], entry=state["entry"]
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """A field typed ``LazySecret`` accepts bound instances only, dumps the mask."""
        return core_schema.is_instance_schema(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, info_arg=True
            ),
        )
