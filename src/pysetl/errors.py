"""Every exception and warning pysetl raises, in one tree.

Each layer wraps foreign errors once, at its boundary, into its own subtree
(``raise ConnectorError(msg) from exc``); errors that are already ours pass
through untouched. Catch ``PySetlError`` to catch everything pysetl raises.

The tree (old ``pysetl`` names, kept as aliases, in brackets):

```text
PySetlError                              [BasePySetlException]
├── BuilderError                         [BuilderException]
├── AlreadyRegisteredError               [AlreadyExistsException]
├── ConfigError (also a ValueError)      [InvalidConfigException]
│   ├── ConfigLoadError                  (project config files, every problem)
│   ├── SecretError                      (a secret reference cannot be resolved)
│   │   ├── SecretNotFoundError
│   │   ├── SecretBackendError
│   │   └── SecretAccessError
│   └── ConfigCryptoError                (an ``enc:`` value, a key or a key file)
├── ConnectorError                       [InvalidConnectorException]
│   └── ConnectorUnavailableError
├── SparkError                           [PySparkException]
├── DependencyResolutionError            [InvalidDeliveryException]
├── StageError
├── PipelineError                        [PipelineException]
│   ├── CheckpointError                  (a stage checkpoint: missing, unreadable)
│   └── FactoryError
│       ├── FactoryOutputError           (``get()`` returned the wrong type)
│       └── FactoryTimeoutError          (an attempt ran past its timeout)
├── RunHistoryError
├── DashboardError
├── NotificationError                    (an alert notifier could not deliver)
└── ScaffoldError                        (pysetl.scaffold: a bad name, a folder in use)

PySetlWarning (a UserWarning)
├── PySetlDeprecationWarning (also a DeprecationWarning)
├── CheckpointWarning                    (workflow.checkpoint: a value not kept)
├── InsecureFileWarning                  (config.permissions: open to others)
└── UnknownOptionWarning                 (config.models: a misspelled option)
```

How to add an error: subclass the layer's class, build the message as
``msg = f"..."`` naming the object with ``!r``, say what was expected, pass a
``hint=`` that tells the user what to do, and keep the context on attributes
so logs and run history can record it.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "AlreadyRegisteredError",
    "BuilderError",
    "CheckpointError",
    "CheckpointWarning",
    "ConfigCryptoError",
    "ConfigError",
    "ConfigLoadError",
    "ConnectorError",
    "ConnectorUnavailableError",
    "DashboardError",
    "DependencyResolutionError",
    "FactoryError",
    "FactoryOutputError",
    "FactoryTimeoutError",
    "NotificationError",
    "PipelineError",
    "PySetlDeprecationWarning",
    "PySetlError",
    "PySetlWarning",
    "RunHistoryError",
    "SecretAccessError",
    "SecretBackendError",
    "SecretError",
    "SecretNotFoundError",
    "SparkError",
    "StageError",
]


class PySetlError(Exception):
    """Root of every error pysetl raises.

    Args:
        message: What went wrong, naming the object involved.
        hint: What the user can do about it, when we know.

    ``str(error)`` and ``error.args[0]`` are the message alone, so code that
    compares error texts (the old ``pysetl`` messages are part of its API)
    keeps working. The hint is an attribute, shown by the CLI, the logs, the
    run history and the dashboard; it is also added as a PEP 678 note
    (``__notes__``), so an uncaught error's traceback shows it.

    Attributes:
        message: The message, the same as ``str(error)``.
        hint: The hint, or ``None``.

    Changed in 0.2: ``str(error)`` no longer appends the hint.
    """

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        """Store the message and the optional hint."""
        self.message = message
        self._hint_note: str | None = None
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        """The message alone; the hint stays on ``.hint``."""
        return self.message

    @property
    def hint(self) -> str | None:
        """What the user can do about the error, or ``None``."""
        return self._hint

    @hint.setter
    def hint(self, value: str | None) -> None:
        self._hint = value
        # Keep exactly one note for the hint, in step with the attribute.
        notes: list[str] = list(getattr(self, "__notes__", []))
        if self._hint_note is not None and self._hint_note in notes:
            notes.remove(self._hint_note)
        self._hint_note = f"hint: {value}" if value else None
        if self._hint_note is not None:
            notes.append(self._hint_note)
        self.__notes__ = notes

    @property
    def context(self) -> dict[str, Any]:
        """Structured context of this error, for logs and run history.

        Subclasses extend it with their own attributes.
        """
        return {"error_type": type(self).__name__, "hint": self.hint}


class BuilderError(PySetlError):
    """A builder's ``get()`` was called before ``build()``.

    Changed in 0.2: derives from ``Exception`` (through ``PySetlError``); the old
    ``BuilderException`` derived from ``BaseException``.
    """


class AlreadyRegisteredError(PySetlError):
    """An item was registered twice in a registry."""


class ConfigError(PySetlError, ValueError):
    """A configuration is missing, malformed or does not fit where it is used.

    Attributes:
        config: The name of the config involved, when known.
        errors: One entry per problem: ``{"loc": ..., "msg": ..., "input": ...}``.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        config: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Store the message, the config name and the individual problems."""
        super().__init__(message, hint=hint)
        self.config = config
        self.errors = [dict(e) for e in errors]

    @property
    def context(self) -> dict[str, Any]:
        """Add the config name and problems to the base context."""
        return {**super().context, "config": self.config, "errors": self.errors}


class ConfigLoadError(ConfigError):
    """A project's config files cannot be loaded, merged or validated.

    ``errors`` holds every problem found, each with ``file``, ``line`` (when
    known), ``key`` (the dotted key path) and ``msg``; the message lists them.
    """


class SecretError(ConfigError):
    """A secret reference cannot be resolved. Never carries the secret's value.

    Attributes:
        reference: The reference as written (``vault:kv/db#password``), which
            names where the secret lives, never what it is.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        reference: str | None = None,
        config: str | None = None,
    ) -> None:
        """Store the message and the reference."""
        super().__init__(message, hint=hint, config=config)
        self.reference = reference

    @property
    def context(self) -> dict[str, Any]:
        """Add the reference to the config context."""
        return {**super().context, "reference": self.reference}


class SecretNotFoundError(SecretError):
    """The backend answered, and has no such secret (or no such key in it)."""


class SecretBackendError(SecretError):
    """The backend cannot be reached, refused the credentials, or is not installed."""


class SecretAccessError(SecretError):
    """A secret was asked for by something its config entry does not allow."""


class ConfigCryptoError(ConfigError):
    """An encrypted config value cannot be decrypted, or its key is unusable."""


class ConnectorError(PySetlError):
    """A connector cannot do what was asked of it, or its storage failed.

    Attributes:
        connector: ``repr`` of the connector involved, when known.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        connector: str | None = None,
    ) -> None:
        """Store the message and the connector's description."""
        super().__init__(message, hint=hint)
        self.connector = connector

    @property
    def context(self) -> dict[str, Any]:
        """Add the connector to the base context."""
        return {**super().context, "connector": self.connector}


class ConnectorUnavailableError(ConnectorError):
    """The storage behind a connector could not be reached (host down, timeout)."""


class SparkError(PySetlError):
    """Spark raised an error that we wrap with pysetl context.

    Attributes:
        error_class: Spark's error class (``UNRESOLVED_COLUMN...``), when known.
        message_parameters: Spark's message parameters, when known.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        error_class: str | None = None,
        message_parameters: Mapping[str, str] | None = None,
    ) -> None:
        """Store the message and Spark's structured error details."""
        super().__init__(message, hint=hint)
        self.error_class = error_class
        self.message_parameters = dict(message_parameters or {})

    @property
    def context(self) -> dict[str, Any]:
        """Add Spark's error class and parameters to the base context."""
        return {
            **super().context,
            "error_class": self.error_class,
            "message_parameters": self.message_parameters,
        }


class DependencyResolutionError(PySetlError):
    """A delivery cannot be resolved: missing, ambiguous, cyclic or misdirected.

    Attributes:
        problems: One human-readable line per problem found; a pre-flight check
            reports all of them at once.
        candidates: Descriptions of the candidates found, when one lookup failed.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        problems: Sequence[str] = (),
        candidates: Sequence[str] = (),
    ) -> None:
        """Store the message, the problems and the candidates."""
        super().__init__(message, hint=hint)
        self.problems = list(problems)
        self.candidates = list(candidates)

    @property
    def context(self) -> dict[str, Any]:
        """Add the problems and candidates to the base context."""
        return {
            **super().context,
            "problems": self.problems,
            "candidates": self.candidates,
        }


class StageError(PySetlError):
    """A stage is malformed or failed as a whole."""


class PipelineError(PySetlError):
    """A pipeline is malformed, or a lookup in it failed."""


class CheckpointError(PipelineError):
    """A stage checkpoint cannot be written, found or read back.

    Raised by ``pysetl.workflow.checkpoint``: no checkpoint to restore from
    (run once with checkpoints on), a deliverable that was not kept (its type
    cannot be checkpointed), or files that do not match the pipeline.

    Added in 0.6.
    """


class FactoryError(PipelineError):
    """A factory failed while running; carries where and when it failed.

    Attributes:
        run_id: The run's correlation id.
        pipeline: The pipeline's name.
        stage: The stage index.
        factory: The factory's name.
        attempt: The attempt number, starting at 1.
        phase: ``read``, ``process``, ``write`` or ``get``.
        error_class: Spark's error class (``UNRESOLVED_COLUMN.WITH_SUGGESTION``)
            when the cause is a Spark error, else ``None``.
        message_parameters: Spark's message parameters of that error class.

    The original exception is chained as ``__cause__``.

    Changed in 0.2: ``error_class`` and ``message_parameters``.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        run_id: str | None = None,
        pipeline: str | None = None,
        stage: int | None = None,
        factory: str | None = None,
        attempt: int = 1,
        phase: str | None = None,
        error_class: str | None = None,
        message_parameters: Mapping[str, str] | None = None,
    ) -> None:
        """Store the message, where the failure happened and Spark's details."""
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.pipeline = pipeline
        self.stage = stage
        self.factory = factory
        self.attempt = attempt
        self.phase = phase
        self.error_class = error_class
        self.message_parameters = dict(message_parameters or {})

    @property
    def context(self) -> dict[str, Any]:
        """Add the run, stage, factory, attempt, phase and Spark's details."""
        return {
            **super().context,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "factory": self.factory,
            "attempt": self.attempt,
            "phase": self.phase,
            "error_class": self.error_class,
            "message_parameters": self.message_parameters,
        }


class FactoryOutputError(FactoryError):
    """A factory's ``get()`` returned ``None``, or a value that is not a ``T``.

    Raised in the ``get`` phase, with the context of ``FactoryError``; there
    is no chained cause. Turn the check off for one factory class with
    ``class F(Factory[T], check_output=False)``.

    Attributes:
        expected: The declared output type, as written (``DataSet[Orders]``).
        got: The class name of what ``get()`` returned (``NoneType`` for ``None``).

    Added in 0.2.
    """

    def __init__(
        self,
        message: str = "",
        *,
        expected: str | None = None,
        got: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Store the message, the declared type, what came back and the context."""
        super().__init__(message, **kwargs)
        self.expected = expected
        self.got = got

    @property
    def context(self) -> dict[str, Any]:
        """Add the declared type and what came back to the factory's context."""
        return {**super().context, "expected": self.expected, "got": self.got}


class FactoryTimeoutError(FactoryError):
    """A factory attempt ran longer than its timeout and was stopped.

    Its Spark job group was cancelled and the attempt's Python code
    interrupted (or abandoned, see ``pysetl.workflow.retry``).

    Attributes:
        timeout: The timeout, in seconds.
        elapsed: Seconds from the attempt's start to when it was given up.
        abandoned: Whether the attempt's thread was still running when the
            run went on (code blocked in a C call that never returned).

    Added in 0.6.
    """

    def __init__(
        self,
        message: str = "",
        *,
        timeout: float | None = None,
        elapsed: float | None = None,
        abandoned: bool = False,
        **kwargs: Any,
    ) -> None:
        """Store the message, the timeout, the time taken and the context."""
        super().__init__(message, **kwargs)
        self.timeout = timeout
        self.elapsed = elapsed
        self.abandoned = abandoned

    @property
    def context(self) -> dict[str, Any]:
        """Add the timeout, the time taken and whether it was abandoned."""
        return {
            **super().context,
            "timeout": self.timeout,
            "elapsed": self.elapsed,
            "abandoned": self.abandoned,
        }


class RunHistoryError(PySetlError):
    """The run history store cannot be opened, migrated, read or written."""


class DashboardError(PySetlError):
    """The dashboard cannot start (address, token, missing extra) or serve a request."""


class NotificationError(PySetlError):
    """An alert notifier could not deliver its messages (refused, timed out, failed).

    Never carries a credential: the endpoint is shown with its secrets masked.

    Attributes:
        notifier: The notifier's name (``slack``, ``ops-webhook``...).
        endpoint: Where it delivers, credentials and secret paths masked
            (``https://hooks.slack.com/**********``, ``smtp://mail:587``).
        status: The receiver's HTTP status or SMTP reply code, when it answered.
        retryable: Whether sending again may succeed (``False`` for a refusal
            that only a change of config fixes, such as HTTP 400 or 404).

    Added in 0.5.
    """

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        notifier: str | None = None,
        endpoint: str | None = None,
        status: int | None = None,
        retryable: bool = True,
    ) -> None:
        """Store the message, the notifier, its endpoint and the answer's code."""
        super().__init__(message, hint=hint)
        self.notifier = notifier
        self.endpoint = endpoint
        self.status = status
        self.retryable = retryable

    @property
    def context(self) -> dict[str, Any]:
        """Add the notifier, its endpoint, the answer's code and retryability."""
        return {
            **super().context,
            "notifier": self.notifier,
            "endpoint": self.endpoint,
            "status": self.status,
            "retryable": self.retryable,
        }


class PySetlWarning(UserWarning):
    """Root of the warnings pysetl emits."""


class PySetlDeprecationWarning(PySetlWarning, DeprecationWarning):
    """A pysetl name or behaviour is deprecated and will be removed."""


class CheckpointWarning(PySetlWarning):
    """A deliverable was left out of its stage's checkpoint (its type cannot be kept).

    Added in 0.6.
    """
