"""Property: any files and values give a valid config or a located ConfigLoadError.

Arbitrary text and bytes, random nested mappings dumped as YAML and TOML
(with the loader's special keys and values mixed in: ``extends``, ``!``
keys, ``__delete__``, ``${env:...}``, ``${secret:...}``, ``enc:``...),
random ``PYSETL_*`` variables and overrides: ``load_config`` either returns
a ``ResolvedConfig`` whose masked view is JSON and whose version is a
sha256, or raises a ``ConfigLoadError`` whose every problem names its file
and a key or a line. Never any other exception.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pysetl.config import ResolvedConfig, load_config
from pysetl.errors import ConfigLoadError

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SPECIAL_KEYS = st.sampled_from(
    ["extends", "a", "b", "_tpl", "db!", "x.y", "password", "connectors", "1"]
)
SPECIAL_STRINGS = st.sampled_from(
    [
        "${env:HOME}",
        "${env:NOPE:-dflt}",
        "${env:NOPE}",
        "$${env:X}",
        "${what}",
        "${secret:env:PW}",
        "pre ${secret:env:PW} post",
        "${secret:nope:x}",
        "enc:not-a-token",
        "__delete__",
        "_tpl",
        "a.b",
        "t.yaml",
        "${",
    ]
)
KEYS = st.one_of(SPECIAL_KEYS, st.text(min_size=1, max_size=8))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    SPECIAL_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(KEYS, children, max_size=4),
    ),
    max_leaves=12,
)
MAPPINGS = st.dictionaries(KEYS, VALUES, max_size=5)
ENVIRON = st.dictionaries(
    st.sampled_from(
        ["PYSETL_A__B", "PYSETL_DB__HOST", "PYSETL_X", "PYSETL_ENV", "PW", "HOME"]
    ),
    st.text(max_size=10).filter(lambda s: "\x00" not in s),
    max_size=3,
)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, but characters outside the BMP must stay raw
    # (TOML refuses escaped surrogate pairs) and DEL must be escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    items = ", ".join(
        f"{_toml_string(k)} = {_toml_value(v)}"
        for k, v in value.items()
        if v is not None
    )
    return "{" + items + "}"


def _toml(data: dict[str, Any]) -> str:
    return "".join(
        f"{_toml_string(k)} = {_toml_value(v)}\n"
        for k, v in data.items()
        if v is not None
    )


def _check(root: Path, env: str | None, **kwargs: Any) -> None:
    kwargs.setdefault("environ", {})
    failure: ConfigLoadError | None = None
    try:
        cfg = load_config(root, env, **kwargs)
    except ConfigLoadError as exc:
        failure = exc
    if failure is not None:
        assert failure.errors, "a ConfigLoadError lists its problems"
        event(f"error: {failure.errors[0]['type']}")
        for error in failure.errors:
            # Located: a file with a line, or a key path (values given in
            # code, ``overrides=``, have a key but no file).
            has_line = error["file"] is not None and error["line"] is not None
            assert has_line or error["key"] != "<root>", error
            assert isinstance(error["msg"], str), error
        return
    event("valid config")
    assert isinstance(cfg, ResolvedConfig)
    json.dumps(cfg.as_dict(masked=True))
    assert len(cfg.version) == 64
    for key in cfg:
        assert cfg.explain((key,)), key


def _project(files: dict[str, str | bytes]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="pysetl-prop-"))
    (root / "base").mkdir()
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return root


def _run(files: dict[str, str | bytes], env: str | None = None, **kwargs: Any) -> None:
    root = _project(files)
    try:
        _check(root, env, **kwargs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class TestLoaderProperty:
    @SETTINGS
    @given(text=st.text(max_size=200), suffix=st.sampled_from([".yaml", ".toml"]))
    def test_arbitrary_text(self, text, suffix):
        _run({f"base/a{suffix}": text.encode("utf-8", "surrogatepass")})

    @SETTINGS
    @given(data=st.binary(max_size=200), suffix=st.sampled_from([".yml", ".toml"]))
    def test_arbitrary_bytes(self, data, suffix):
        _run({f"base/a{suffix}": data})

    @SETTINGS
    @given(
        base=MAPPINGS,
        prod=MAPPINGS,
        template=MAPPINGS,
        environ=ENVIRON,
        overrides=st.dictionaries(st.sampled_from(["a", "a.b", "db.host"]), VALUES),
        toml=st.booleans(),
    )
    def test_random_nested_mappings(  # noqa: PLR0917 - one argument per input
        self, base, prod, template, environ, overrides, toml
    ):
        dump = _toml if toml else yaml.safe_dump
        suffix = ".toml" if toml else ".yaml"
        _run(
            {
                f"base/a{suffix}": dump(base),
                f"prod/b{suffix}": dump(prod),
                f"base/t{suffix}": dump(template),
                "t.yaml": yaml.safe_dump(template),
            },
            "prod",
            environ=environ,
            overrides=overrides,
        )

    @SETTINGS
    @given(
        text=st.text(alphabet=":- \n\t{}[]\"'#&*!|>%@,.~$ab1=", max_size=120),
        suffix=st.sampled_from([".yaml", ".toml"]),
    )
    def test_text_made_of_syntax_characters(self, text, suffix):
        _run({f"base/a{suffix}": text})
