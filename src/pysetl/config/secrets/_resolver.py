"""``SecretResolver``: binds secret references to config entries as ``LazySecret``.

Added in 0.3.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pysetl.config.permissions import InsecureFileWarning
from pysetl.config.secrets._base import BaseSecretBackend
from pysetl.config.secrets._env import EnvSecretBackend
from pysetl.config.secrets._file import FileSecretBackend
from pysetl.config.secrets._lazy import LazySecret
from pysetl.config.secrets._reference import (
    SecretReference,
    parse_reference,
    split_template,
)
from pysetl.errors import AlreadyRegisteredError, SecretAccessError, SecretError
from pysetl.utils.redaction import register_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = ["ENTRY_POINT_GROUP", "SecretPolicy", "SecretResolver"]

ENTRY_POINT_GROUP = "pysetl.secret_backends"


def _vault() -> BaseSecretBackend:
    from pysetl.config.secrets._vault import VaultSecretBackend  # noqa: PLC0415

    return VaultSecretBackend()


def _aws() -> BaseSecretBackend:
    from pysetl.config.secrets._aws import AwsSecretsManagerBackend  # noqa: PLC0415

    return AwsSecretsManagerBackend()


# Built in, created from the environment the first time a reference needs them.
_LAZY_BUILTINS: dict[str, Callable[[], BaseSecretBackend]] = {
    "vault": _vault,
    "aws": _aws,
}


@dataclass(frozen=True, slots=True)
class SecretPolicy:
    """Which config entries may reference which secrets.

    ``rules`` maps entry globs (``db.*``, ``connectors.warehouse.password``)
    to reference globs (``vault:secret/db*``, ``env:PG_*``); ``fnmatch``
    syntax, case-sensitive. An entry may bind a reference when some rule
    whose entry glob matches the entry has a reference glob matching the
    reference (``scheme:path`` or ``scheme:path#key``). Everything else is
    denied, with ``SecretAccessError``.

    Examples:
        >>> policy = SecretPolicy({"db.*": ["env:PG_*", "vault:secret/db#*"]})
        >>> policy.allows("db.password", parse_reference("vault:secret/db#password"))
        True
        >>> policy.allows("api.token", parse_reference("env:PG_PASSWORD"))
        False
    """

    rules: Mapping[str, Sequence[str]]

    def __post_init__(self) -> None:
        """Freeze the rules, so a policy cannot change after it is given."""
        frozen = {
            str(entry): (refs,) if isinstance(refs, str) else tuple(map(str, refs))
            for entry, refs in dict(self.rules).items()
        }
        object.__setattr__(self, "rules", frozen)

    def allows(self, entry: str, reference: SecretReference) -> bool:
        """Whether ``entry`` may bind ``reference``."""
        texts = {str(reference), f"{reference.scheme}:{reference.path}"}
        return any(
            fnmatchcase(text, pattern)
            for entry_glob, patterns in self.rules.items()
            if fnmatchcase(entry, entry_glob)
            for pattern in patterns
            for text in texts
        )


class SecretResolver:
    """Turns secret references into ``LazySecret`` values bound to config entries.

    ``bind`` and ``bind_template`` are the only ways to reach a secret: each
    returns a ``LazySecret`` tied to the entry that wrote the reference, and the
    value is fetched when that ``LazySecret`` is first read. There is no
    lookup by name, so code that was not handed the entry cannot read it.

    Backends by scheme: ``env`` and ``file`` are there from the start; ``vault``
    and ``aws`` are created from the environment (``VAULT_ADDR``...,
    ``AWS_REGION``...) the first time a reference uses them; any other scheme
    comes from ``register()`` or the entry-point group
    ``pysetl.secret_backends`` (the class is created with no arguments).

    Args:
        backends: The backends to start with; default: env and file backends.
        policy: An optional ``SecretPolicy`` (or its rules as a mapping) of
            which entries may reference which secrets.
        load_entry_points: Look unknown schemes up in ``pysetl.secret_backends``.

    Examples:
        >>> resolver = SecretResolver([EnvSecretBackend({"PG_PW": "s3cret"})])
        >>> password = resolver.bind("env:PG_PW", entry="db.password")
        >>> str(password), password.get_secret_value()
        ('**********', 's3cret')
    """

    def __init__(
        self,
        backends: Iterable[BaseSecretBackend] | None = None,
        *,
        policy: SecretPolicy | Mapping[str, Sequence[str]] | None = None,
        load_entry_points: bool = True,
    ) -> None:
        """Start with ``backends`` (default: env and file)."""
        self._backends: dict[str, BaseSecretBackend] = {}
        self._lock = threading.Lock()
        if backends is None:
            backends = (EnvSecretBackend(), FileSecretBackend.from_env())
        for backend in backends:
            self.register(backend)
        if policy is not None and not isinstance(policy, SecretPolicy):
            policy = SecretPolicy(policy)
        self.policy: SecretPolicy | None = policy
        self._load_entry_points = load_entry_points

    @property
    def schemes(self) -> tuple[str, ...]:
        """The schemes references may use (plugins not loaded yet are not listed)."""
        return tuple(sorted({*self._backends, *_LAZY_BUILTINS}))

    def register(self, backend: BaseSecretBackend, *, replace: bool = False) -> None:
        """Add a backend for its ``scheme``.

        Args:
            backend: The backend.
            replace: Replace a backend already registered for the scheme.

        Raises:
            AlreadyRegisteredError: The scheme is taken and ``replace`` is false.
        """
        scheme = getattr(backend, "scheme", None)
        if not isinstance(scheme, str) or not scheme:
            msg = f"{type(backend).__name__} has no 'scheme'"
            raise TypeError(msg)
        with self._lock:
            if scheme in self._backends and not replace:
                msg = f"a secret backend for {scheme!r} is already registered"
                raise AlreadyRegisteredError(msg, hint="pass replace=True to swap it")
            self._backends[scheme] = backend

    def _backend(self, reference: SecretReference, entry: str) -> BaseSecretBackend:
        scheme = reference.scheme
        with self._lock:
            backend = self._backends.get(scheme)
            if backend is not None:
                return backend
            factory: Callable[[], Any] | None = _LAZY_BUILTINS.get(scheme)
            if factory is None and self._load_entry_points:
                found = entry_points(group=ENTRY_POINT_GROUP, name=scheme)
                factory = next((ep.load() for ep in found), None)
            if factory is None:
                known = ", ".join(sorted({*self._backends, *_LAZY_BUILTINS}))
                msg = (
                    f"config entry {entry!r} references {str(reference)!r}, but "
                    f"no secret backend handles {scheme!r}"
                )
                hint = (
                    f"use one of: {known}; or register a backend "
                    f"(SecretResolver.register, or the entry-point group "
                    f"{ENTRY_POINT_GROUP!r})"
                )
                raise SecretError(
                    msg, hint=hint, reference=str(reference), config=entry
                )
            backend = factory()
            if not isinstance(backend, BaseSecretBackend):
                msg = (
                    f"the secret backend factory for {scheme!r} made a "
                    f"{type(backend).__name__}, not a BaseSecretBackend"
                )
                raise SecretError(msg, reference=str(reference), config=entry)
            self._backends[scheme] = backend
            return backend

    def _check(self, reference: SecretReference, entry: str) -> None:
        if self.policy is not None and not self.policy.allows(entry, reference):
            msg = f"config entry {entry!r} may not read the secret {str(reference)!r}"
            hint = (
                "the secret policy allows it for no rule matching this entry; add "
                f"a rule such as {{{entry!r}: [{str(reference)!r}]}} if it should"
            )
            raise SecretAccessError(
                msg, hint=hint, reference=str(reference), config=entry
            )

    def _fetch(self, reference: SecretReference, entry: str) -> str:
        self._check(reference, entry)
        backend = self._backend(reference, entry)
        try:
            value = backend.fetch(reference.path, reference.key)
        except SecretError as exc:
            if exc.config is None:
                exc.config = entry
            raise
        except Exception as exc:
            msg = (
                f"secret backend {backend.scheme!r} failed on {str(reference)!r} "
                f"for config entry {entry!r}: {type(exc).__name__}"
            )
            raise SecretError(msg, reference=str(reference), config=entry) from exc
        register_secret(value)
        return value

    @staticmethod
    def _warn_open(
        backend: BaseSecretBackend, reference: SecretReference, entry: str
    ) -> None:
        """Warn about a secret file others can read or write (never its value)."""
        for problem in backend.permission_problems(reference.path, reference.key):
            # The entry goes last: "'api.token': path" would read as a secret pair.
            msg = f"{problem} (the secret file of config entry {entry!r})"
            warnings.warn(msg, InsecureFileWarning, stacklevel=4)

    def bind(self, reference: str, *, entry: str) -> LazySecret:
        """A ``LazySecret`` for one reference, bound to the entry that wrote it.

        The reference is parsed, checked against the policy and its scheme
        looked up now; the value is fetched on first use.

        Args:
            reference: ``SCHEME:PATH[#KEY]`` (or ``${secret:SCHEME:PATH[#KEY]}``).
            entry: The dotted config key the reference was written under.

        Warns:
            InsecureFileWarning: A secret file that other users can read or
                write (``file:`` references; see ``check_file_permissions``).

        Raises:
            SecretError: The reference is malformed or names no known backend.
            SecretAccessError: The policy does not let ``entry`` read it.

        Changed in 0.4: warns about secret files open to other users.
        """
        parsed = parse_reference(reference)
        self._check(parsed, entry)
        self._warn_open(self._backend(parsed, entry), parsed, entry)

        def resolve() -> str:
            return self._fetch(parsed, entry)

        return LazySecret(resolve, reference=str(parsed), entry=entry)

    def bind_template(self, template: str, *, entry: str) -> LazySecret:
        """A ``LazySecret`` for text with ``${secret:REF}`` tokens in it.

        E.g. ``postgresql://app:${secret:env:PG_PW}@db/x``: every reference is
        resolved on first use and put in place; the whole result and each
        secret in it are registered with the Redactor.

        Args:
            template: Literal text with one or more ``${secret:...}`` tokens.
            entry: The dotted config key the template was written under.

        Raises:
            SecretError: No token, a malformed one, or an unknown scheme.
            SecretAccessError: The policy does not let ``entry`` read a reference.
        """
        parts = split_template(template)
        references = [part for part in parts if isinstance(part, SecretReference)]
        if not references:
            msg = f"config entry {entry!r} has no ${{secret:...}} token in its value"
            hint = "write ${secret:SCHEME:PATH[#KEY]} where the secret goes"
            raise SecretError(msg, hint=hint, config=entry)
        for reference in references:
            self._check(reference, entry)
            self._warn_open(self._backend(reference, entry), reference, entry)

        def resolve() -> str:
            return "".join(
                self._fetch(part, entry) if isinstance(part, SecretReference) else part
                for part in parts
            )

        return LazySecret(resolve, reference=template, entry=entry)

    def __repr__(self) -> str:
        """The schemes and whether a policy applies; never a value."""
        policy = "yes" if self.policy is not None else "no"
        return f"SecretResolver(schemes={list(self.schemes)!r}, policy={policy})"
