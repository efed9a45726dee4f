"""The config's ``execution:`` section: retries and timeouts by factory name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from typing_extensions import Self

from pysetl.config import load_config
from pysetl.errors import ConfigLoadError, FactoryError, FactoryTimeoutError
from pysetl.runtime import ExecutionSection, Session
from pysetl.workflow import Factory
from pysetl.workflow.retry import FactoryPolicy, RetryPolicy

if TYPE_CHECKING:
    from pathlib import Path

CALLS: list[str] = []


class Load(Factory[int], retry=RetryPolicy(max_attempts=1), timeout=30):
    """Fails its first two attempts; its class allows one attempt only."""

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        CALLS.append("Load")
        if len(CALLS) < 3:  # fails twice
            msg = "flaky source"
            raise ConnectionError(msg)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return len(CALLS)


class Spin(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        while True:
            pass

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


def _config(tmp_path: Path, text: str):
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "base" / "execution.yaml").write_text(text)
    return load_config(conf, None)


SECTION = """\
execution:
  timeout: 0.3
  retry: {max_attempts: 2, delay: 0.001}
  factories:
    Load:
      retry:
        max_attempts: 3
        delay: 0.001
        jitter: 0
        retry_on: [ConnectionError]
"""


class TestSection:
    def test_becomes_policies_by_factory_name_and_a_default(self):
        section = ExecutionSection.model_validate(
            {"timeout": 60, "factories": {"Load": {"retry": {"max_attempts": 4}}}}
        )
        policies = section.policies()
        assert policies.default == FactoryPolicy(timeout=60)
        retry = policies.factories["Load"].retry
        assert retry is not None
        assert (retry.max_attempts, retry.retry_on) == (4, ("Exception",))
        assert policies.factories["Load"].timeout is None  # left to the default

    def test_the_config_entry_wins_over_the_class_keyword(self, tmp_path):
        CALLS.clear()
        with Session(config=_config(tmp_path, SECTION), observe=False) as session:
            pipeline = session.pipeline().add_stage_from_type(Load).run()
        assert pipeline.get_last_output() == 3  # retried by the config's policy

    def test_the_config_default_applies_to_the_other_factories(self, tmp_path):
        with (
            Session(config=_config(tmp_path, SECTION), observe=False) as session,
            pytest.raises(FactoryTimeoutError) as info,
        ):
            session.pipeline().add_stage_from_type(Spin).run()
        assert info.value.timeout == 0.3
        assert info.value.attempt == 1  # a timeout is not retried unless asked

    def test_without_the_section_the_class_keywords_apply(self, tmp_path):
        CALLS.clear()
        config = _config(tmp_path, "app: {}\n")
        with Session(config=config, observe=False) as session:
            assert session.policies is None
            with pytest.raises(FactoryError):
                session.pipeline().add_stage_from_type(Load).run()
        assert CALLS == ["Load"]  # one attempt: the class's policy

    def test_mistakes_name_file_line_and_key(self, tmp_path):
        text = (
            "execution:\n"
            "  timeout: -1\n"
            "  factories:\n"
            "    Load:\n"
            "      retry:\n"
            "        max_attempt: 3\n"
            "        jitter: 2\n"
            "        retry_on: ['not a name']\n"
        )
        with pytest.raises(ConfigLoadError) as caught:
            Session(config=_config(tmp_path, text), observe=False)
        errors = {e["key"]: e for e in caught.value.errors}
        assert set(errors) == {
            "execution.timeout",
            "execution.factories.Load.retry.max_attempt",
            "execution.factories.Load.retry.jitter",
            "execution.factories.Load.retry.retry_on",
        }
        assert all(e["line"] for e in errors.values())
        assert all(str(e["file"]).endswith("execution.yaml") for e in errors.values())
        retry = "execution.factories.Load.retry"
        assert "not permitted" in errors[f"{retry}.max_attempt"]["msg"]
        assert "not a class name" in errors[f"{retry}.retry_on"]["msg"]
        assert caught.value.hint
