r"""The one redaction point: every output of pysetl masks secrets through it.

Log lines, run history rows (errors, events, logs), metric labels, exception
messages and the dashboard API all pass what they show through one
``Redactor``. It masks three kinds of secret:

* **by key name**: the value of any key whose name says it is a secret
  (``password``, ``secret``, ``token``, ``api_key``, ``credentials``, a bare
  ``key`` or ``*_key``...), at any depth of mappings and sequences, and
  ``key=value`` / ``"key": "value"`` / ``key: value`` pairs inside free
  text (a ``key: word`` in running prose, such as "password: cannot
  connect", is not a pair and stays readable);
* **by value**: every secret registered with ``register_secret`` (configs
  register their ``SecretStr`` values when they are resolved, the JDBC
  connector its password), wherever it appears in a text, in each of the
  forms it takes on its way out (``secret_forms``): plain, the inside
  of its ``repr()`` (``KeyError(password)`` shows ``'a\\b'``), JSON-escaped,
  backslash-escaped as Py4J sends it to the JVM, URL-encoded, and one escape
  of each of these again (a ``repr()`` inside a JSON log line);
* **by pattern**: AWS access key ids, PEM blocks, ``Bearer`` tokens, JSON Web
  Tokens and the password of ``scheme://user:password@host`` URLs.

The process-wide redactor lives here and nowhere else; tests start afresh
with ``reset_default_redactor``. How to mask a new kind of secret:
register its value (``register_secret``), or add a pattern
(``default_redactor().add_pattern(...)``).

Added in 0.2.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from pysetl._state import STATE

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "default_redactor",
    "is_secret_key",
    "redact_labels",
    "redact_mapping",
    "redact_text",
    "redact_value",
    "register_secret",
    "reset_default_redactor",
    "secret_forms",
]

MASK = "**********"
"""What a secret is replaced with."""

MIN_SECRET_LENGTH = 4
"""Registered values shorter than this are ignored: masking them would garble text."""

_MAX_SECRETS = 10_000

# Substrings of key names whose values are secrets.
_SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "apikey",
    "api_key",
    "access_key",
    "accesskey",
    "private_key",
    "authorization",
    "signature",
    "sas_key",
)
# ``*_key`` names that are not secrets: the key of a table, a partition, an object.
_PLAIN_KEY_PREFIXES = frozenset(
    {
        "primary",
        "partition",
        "sort",
        "cluster",
        "clustering",
        "join",
        "foreign",
        "bucket",
        "group",
        "order",
        "merge",
        "unique",
        "row",
        "hash",
        "cache",
        "dedup",
        "surrogate",
        "natural",
        "business",
        "composite",
        "distribution",
        "shard",
        "lookup",
        "object",
        "s3",
        "map",
        "dict",
        "idempotency",
    }
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")

_KEY_WORDS = (
    r"[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|credentials?|"
    r"api[_-]?key|access[_-]?key|private[_-]?key|authorization)[\w.-]*"
)
# A value that is only letters (and ``.-'``) is a word, not a secret, unless
# where it stands says it is a value.
_WORD_CHARS = frozenset(".-'\u2019")
# "key: value" followed by another "key=value" or "key: value" on its line.
_NEXT_PAIR = re.compile(r"[ \t]+[\w.-]+[ \t]*(?:=|:(?:\s|$))")


def _is_assignment(match: re.Match[str]) -> bool:
    """Whether a secret-like key followed by ``:`` or ``=`` is given a value.

    ``key=value`` always is, and so are ``key:value`` (no space), a quoted
    value (``"key": "x"``, ``{'key': 'x'}``, ``key: "x"``) and
    ``key: Bearer x``. A ``key: word`` with a space after the colon is
    running prose ("password: cannot connect to Vault") unless the word
    looks like a value (it has a digit or a symbol: ``hunter2``, ``p@ss``)
    or its place says it is one: alone at the end of its line as in YAML
    (``password: hunter`` or ``password: hunter  # old``), inside a
    ``{...}`` mapping before ``,`` or ``}``, or before another
    ``key=value`` / ``key: value`` pair.
    """
    separator, space, scheme, value = match.group("sep", "space", "scheme", "value")
    if separator == "=" or match["quote"] or match["open"] or scheme or not space:
        return True
    if any(not (c.isalpha() or c in _WORD_CHARS) for c in value.rstrip(".:!?")):
        return True
    text, start, end = match.string, match.start(), match.end()
    line_end = text.find("\n", end)
    rest = text[end:] if line_end < 0 else text[end:line_end]
    tail = rest.strip()
    if not tail or tail.startswith("#"):
        return True
    before = text[text.rfind("\n", 0, start) + 1 : start]
    if tail[0] in ",}" and before.count("{") > before.count("}"):
        return True
    return _NEXT_PAIR.match(rest) is not None


def _mask_assignment(match: re.Match[str]) -> str:
    """The replacement of a secret-like ``key: value``: its value masked, if any."""
    if _is_assignment(match):
        return f"{match['key']}{match['quote'] or match['open']}{MASK}"
    return match[0]


_Replacement: TypeAlias = str | Callable[[re.Match[str]], str]
_DEFAULT_PATTERNS: tuple[tuple[str, _Replacement], ...] = (
    # PEM blocks (private keys, certificates): keep the armour, drop the body.
    (
        r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----",
        rf"-----BEGIN \1-----{MASK}-----END \1-----",
    ),
    # AWS access key ids.
    (
        (
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)"
            r"[A-Z0-9]{16}\b"
        ),
        MASK,
    ),
    # Bearer tokens (HTTP Authorization headers).
    (r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", rf"\1 {MASK}"),
    # JSON Web Tokens.
    (r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+", MASK),
    # The password of a URL: scheme://user:password@host.
    (r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):([^@\s/]+)@", rf"\1:{MASK}@"),
    # key=value, key: value, "key": "value" where the key names a secret; a
    # "key: word" in running prose is left alone (see _mask_assignment).
    (
        (
            rf"(?i)(?P<key>[\"']?\b{_KEY_WORDS}[\"']?\s*(?P<sep>[:=])(?P<space>\s*))"
            # a quoted value, whole (spaces and escaped quotes included) ...
            r"(?:(?P<quote>[\"'])(?!(?P=quote))(?:\\.|[^\n\\])+?(?=(?P=quote))"
            # ... or an unquoted (or unclosed) one, up to a space or a delimiter.
            r"|(?P<open>[\"']?)(?P<scheme>(?:bearer|basic)\s+)?"
            r"(?![{\[])(?P<value>[^\s\"'&;,)}\]]+))"
        ),
        _mask_assignment,
    ),
)


def _has(*words: str) -> Callable[[str], bool]:
    """A cheap test that must pass before a pattern can match (lower-cased)."""
    return lambda text: any(word in text for word in words)


# Literal pre-checks of the default patterns, run on the lower-cased text: most
# texts (factory names, event names, log lines) contain none of these words, and
# a pattern whose pre-check fails is not run at all. Patterns added later, or
# given to the constructor, have no pre-check and always run.
_TRIGGERS: dict[str, Callable[[str], bool]] = {
    _DEFAULT_PATTERNS[0][0]: _has("-----begin"),
    _DEFAULT_PATTERNS[2][0]: _has("bearer"),
    _DEFAULT_PATTERNS[3][0]: _has("eyj"),
    _DEFAULT_PATTERNS[4][0]: _has("://"),
    _DEFAULT_PATTERNS[5][0]: _has(
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "credential",
        "key",
        "authorization",
    ),
}
# Short texts repeat (names, labels, event names): their redacted form is
# cached until a secret or a pattern is added.
_CACHED_LENGTH = 256
_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=4096)
def _is_secret_name(key: str) -> bool:
    """Whether ``key`` names a secret (cached: the same keys come back often)."""
    name = _CAMEL.sub(r"\1_\2", key).lower()
    if any(word in name.replace("-", "_") for word in _SECRET_WORDS):
        return True
    tokens = [t for t in _SEPARATORS.split(name) if t]
    if not tokens or tokens[-1] != "key":
        return False
    return len(tokens) == 1 or tokens[-2] not in _PLAIN_KEY_PREFIXES


_PLAIN = frozenset({int, float, bool, type(None)})


def _repr_bodies(text: str) -> set[str]:
    """The inside of ``repr(text)``, between single and between double quotes.

    ``repr`` picks one quote; a text printed inside another one's ``repr``
    (or by ``%r`` of a container) may be quoted either way.
    """
    quoted = repr(text)
    body = quoted[1:-1]
    if quoted.startswith('"'):  # text has a ' and no ": the ' is not escaped
        return {body, body.replace("'", "\\'")}
    return {body, body.replace("\\'", "'").replace('"', '\\"')}


def _escapes(text: str) -> set[str]:
    """``text`` as the escaping outputs write it (repr, JSON, Py4J, bytes)."""
    return {
        *_repr_bodies(text),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        # Py4J's command protocol: backslashes doubled, line breaks escaped.
        text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n"),
        repr(text.encode("utf-8"))[2:-1],
    }


def _url_encodings(text: str) -> set[str]:
    """``text`` percent-encoded, as a URL or a form writes it (either hex case)."""
    found = {
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote(text),
        urllib.parse.quote_plus(text),
    }
    lower = {re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), form) for form in found}
    return found | lower


def secret_forms(secret: str) -> frozenset[str]:
    r"""Every form of ``secret`` the redactor masks (see the module docstring).

    A secret of letters, digits and ``-_.~`` has one form, itself; one with a
    backslash, a quote, a control character or non-ASCII characters has
    several, and each of them is a leak if shown.

    Examples:
        >>> secret_forms("s3cret-pw")
        frozenset({'s3cret-pw'})
        >>> sorted(secret_forms(r"pw\1234"))[:3]
        ['pw%5C1234', 'pw%5c1234', 'pw\\1234']

    Added in 0.4.
    """
    once = _escapes(secret)
    twice = {form for escaped in once for form in _escapes(escaped)}
    return frozenset({secret, *once, *twice, *_url_encodings(secret)})


class Redactor:
    """Masks secrets in texts, mappings and metric labels.

    Args:
        mask: The replacement of a secret.
        patterns: ``(regex, replacement)`` pairs applied to every text (a
            replacement is a ``re.sub`` template or a function of the match);
            default: the patterns listed in the module docstring.
        min_secret_length: Registered values shorter than this are ignored.

    Examples:
        >>> redactor = Redactor()
        >>> redactor.register_secret("hunter2-xyz")
        >>> redactor.redact_text("login with hunter2-xyz")
        'login with **********'
        >>> redactor.redact_mapping({"user": "etl", "password": "pw"})
        {'user': 'etl', 'password': '**********'}
    """

    def __init__(
        self,
        *,
        mask: str = MASK,
        patterns: tuple[tuple[str, _Replacement], ...] = _DEFAULT_PATTERNS,
        min_secret_length: int = MIN_SECRET_LENGTH,
    ) -> None:
        """Create a redactor with no registered secret."""
        self.mask = mask
        self.min_secret_length = min_secret_length
        self._patterns = tuple(
            (re.compile(regex, re.DOTALL), repl, _TRIGGERS.get(regex))
            for regex, repl in patterns
        )
        self._secrets: frozenset[str] = frozenset()
        self._forms: frozenset[str] = frozenset()  # the secrets' forms
        self._secret_re: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    # ----------------------------------------------------------- registration
    @property
    def secrets(self) -> frozenset[str]:
        """The values registered so far (as given; their forms are masked too)."""
        return self._secrets

    def register_secret(self, value: object) -> None:
        """Mask ``value`` wherever it appears from now on.

        Args:
            value: The secret: a ``str``, ``bytes`` or anything with
                ``get_secret_value()`` (pydantic's ``SecretStr``). Values
                shorter than ``min_secret_length`` are ignored.
        """
        if getattr(value, "is_resolved", True) is False:
            # A lazy secret not fetched yet (pysetl.config.secrets.LazySecret):
            # it registers itself when it is resolved; fetching it here only
            # to mask it would be a needless call to its backend.
            return
        getter = getattr(value, "get_secret_value", None)
        if callable(getter):
            value = getter()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str) or len(value) < self.min_secret_length:
            return
        if value in self._secrets:
            return
        forms = secret_forms(value)
        with self._lock:
            if value in self._secrets or len(self._secrets) >= _MAX_SECRETS:
                return
            secrets = self._secrets | {value}
            self._forms = self._forms | forms
            # Longest first, so a secret that contains another is masked whole.
            alternatives = sorted(self._forms, key=len, reverse=True)
            self._secret_re = re.compile("|".join(map(re.escape, alternatives)))
            self._secrets = secrets
            self._cache = {}  # a new dict: texts redacted before are stale

    def add_pattern(self, regex: str, replacement: str = MASK) -> None:
        """Mask every match of ``regex`` (``re.sub`` syntax for ``replacement``)."""
        with self._lock:
            self._patterns = (*self._patterns, (re.compile(regex), replacement, None))
            self._cache = {}

    # --------------------------------------------------------------- masking
    def is_secret_key(self, key: object) -> bool:
        """Whether a value stored under ``key`` is a secret.

        ``password``, ``db.password``, ``AWS_SECRET_ACCESS_KEY``, ``apiToken``,
        ``credentials``, ``key`` and ``encryption_key`` are;
        ``primary_key``, ``partition_key``, ``user`` and ``keys`` are not.
        """
        return _is_secret_name(str(key))

    def redact_text(self, text: str) -> str:
        """``text`` with every registered secret and every pattern masked."""
        if not text:
            return text
        # Read the state once: a secret registered meanwhile swaps in a new
        # cache, so what we store below can never hide it.
        cache, secret_re = self._cache, self._secret_re
        cached = cache.get(text)
        if cached is not None:
            return cached
        original = text
        if secret_re is not None:
            text = secret_re.sub(self.mask, text)
        lowered = text.lower()
        for regex, replacement, trigger in self._patterns:
            if trigger is None or trigger(lowered):
                text = regex.sub(replacement, text)
        if len(original) <= _CACHED_LENGTH:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[original] = text
        return text

    def redact_value(self, value: Any, key: object = None) -> Any:  # noqa: PLR0911
        """A copy of ``value`` safe to show.

        Mappings are masked by key name at any depth (everything under a
        secret key is masked), strings by ``redact_text``; lists and
        tuples are walked; secret objects (``SecretStr``) become the mask;
        other values are returned as they are.

        Args:
            value: What is about to be shown.
            key: The name ``value`` is stored under, if any.
        """
        if key is not None and self.is_secret_key(key):
            return self._mask_all(value)
        if type(value) in _PLAIN:  # numbers and None: nothing to mask, no lookup
            return value
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {k: self.redact_value(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(v) for v in value)
        if callable(getattr(value, "get_secret_value", None)):
            self.register_secret(value)
            return self.mask
        return value

    def _mask_all(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, Mapping):
            return {k: self._mask_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._mask_all(v) for v in value)
        # Not registered: a key name is a guess, and registering a false
        # positive ("tokenizer": "bert") would mask that word everywhere.
        return self.mask

    def redact_mapping(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        """A copy of ``mapping`` with its secrets masked (see ``redact_value``)."""
        return {k: self.redact_value(v, k) for k, v in mapping.items()}

    def redact_labels(self, labels: Mapping[str, object]) -> dict[str, str]:
        """Metric labels as strings, with secret-named labels and secrets masked."""
        return {
            str(name): self.mask
            if self.is_secret_key(name)
            else self.redact_text(str(value))
            for name, value in labels.items()
        }


_DEFAULT_LOCK = threading.Lock()


def default_redactor() -> Redactor:
    """The process-wide redactor that every pysetl output uses.

    Made on first use and kept in ``pysetl._state.STATE`` (``reset_state()``
    forgets it, with the secrets it learnt).
    """
    redactor = STATE.redactor
    if redactor is None:
        with _DEFAULT_LOCK:  # one redactor: a secret registered is never lost
            redactor = STATE.redactor
            if redactor is None:
                redactor = STATE.redactor = Redactor()
    return redactor


def reset_default_redactor() -> Redactor:
    """Replace the process-wide redactor with a fresh one (for tests)."""
    fresh = STATE.redactor = Redactor()
    return fresh


# The functions below run for every log line and label: they read the
# redactor straight from ``STATE`` and call ``default_redactor()`` only to
# make it (a Redactor is always true: it defines no ``__len__``).


def register_secret(value: object) -> None:
    """Mask ``value`` in every output from now on (see ``Redactor.register_secret``)."""
    (STATE.redactor or default_redactor()).register_secret(value)


def is_secret_key(key: object) -> bool:
    """Whether a value stored under ``key`` is a secret (see ``Redactor``)."""
    return (STATE.redactor or default_redactor()).is_secret_key(key)


def redact_text(text: str) -> str:
    """``text`` with secrets masked by the process-wide redactor."""
    return (STATE.redactor or default_redactor()).redact_text(text)


def redact_value(value: Any, key: object = None) -> Any:
    """A copy of ``value`` with secrets masked by the process-wide redactor."""
    return (STATE.redactor or default_redactor()).redact_value(value, key)


def redact_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy of ``mapping`` with secrets masked by the process-wide redactor."""
    return (STATE.redactor or default_redactor()).redact_mapping(mapping)


def redact_labels(labels: Mapping[str, object]) -> dict[str, str]:
    """Metric labels, as strings, safe to export (for metrics and exporters).

    Examples:
        >>> redact_labels({"stage": 0, "api_token": "abc123"})
        {'stage': '0', 'api_token': '**********'}
    """
    return (STATE.redactor or default_redactor()).redact_labels(labels)
