"""``/api/project``: the sample project's pipelines from code, and their last run."""

from __future__ import annotations

import json

import pytest
from tests.shop_project import DOC_PAYLOAD, SECRET, make_project

from pysetl.dashboard import create_app
from pysetl.dashboard._api import ApiProblem
from pysetl.dashboard._project import ProjectDescriber
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime.project import run_project


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The sample project with two recorded runs of 'orders' (the last failed)."""
    root, _ = make_project(tmp_path_factory.mktemp("project") / "shop")
    url = str(root / "history.db")
    run_project("orders", project_dir=root, history=url, observe=True)
    failed = run_project(
        "orders", project_dir=root, history=url, observe=True, params={"fail": "1"}
    )
    return root, url, failed.run_id


@pytest.fixture(scope="module")
def history(shop):
    _, url, _ = shop
    store = SqliteRunHistory(url, migrate=False)
    yield store
    store.close()


@pytest.fixture(scope="module")
def app(shop, history):
    """One app for the module: the code is described once (a long reuse)."""
    made = create_app(history)
    made.state.project = ProjectDescriber(shop[0], ttl=600)
    return made


@pytest.fixture
def client(app, client_of):
    return client_of(app)


class TestProject:
    def test_every_pipeline_with_the_last_run_of_each_factory(self, shop, client):
        root, _, failed = shop
        answer = client.get("/api/project")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["root"] == str(root)
        assert body["default"] == "orders"
        by_key = {p["project_name"]: p for p in body["pipelines"]}
        assert sorted(by_key) == ["broken", "orders", "reports"]
        orders = by_key["orders"]
        assert orders["last_run"]["run_id"] == failed
        assert orders["last_run"]["status"] == "failed"
        states = {f["name"]: f["last_run"]["status"] for f in orders["factories"]}
        assert states == {
            "LoadOrders": "succeeded",
            "CleanOrders": "succeeded",
            "CountOrders": "failed",
            "FlagOrders": "not run",  # after the failure in its stage
        }
        assert [s["factories"] for s in orders["stages"]][2] == [
            "CountOrders",
            "FlagOrders",
        ]
        assert by_key["reports"]["last_run"] is None
        assert by_key["broken"]["error"] == "RuntimeError: the catalog is missing"

    def test_texts_are_shown_as_they_are_and_secrets_never(self, client):
        text = client.get("/api/project").text
        assert SECRET not in text
        body = json.loads(text)
        orders = next(p for p in body["pipelines"] if p["project_name"] == "orders")
        count = next(f for f in orders["factories"] if f["name"] == "CountOrders")
        assert DOC_PAYLOAD in count["doc"]  # JSON carries text; the page escapes

    def test_one_pipeline_and_an_unknown_one(self, client):
        one = client.get("/api/project", params={"pipeline": "reports"}).json()
        assert [p["project_name"] for p in one["pipelines"]] == ["reports"]
        missing = client.get("/api/project", params={"pipeline": "nope"})
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert missing.json()["hint"] == "pick one from /api/project"

    def test_answers_are_reused_until_refreshed(self, shop, client):
        def first_doc(params):
            body = client.get("/api/project", params=params).json()
            orders = next(p for p in body["pipelines"] if p["project_name"] == "orders")
            return orders["factories"][0]["doc"]

        assert first_doc({}).startswith("Reads the orders of the day")  # cached now
        module = next(shop[0].glob("shop_etl_*.py"))
        source = module.read_text()
        module.write_text(
            source.replace("Reads the orders of the day", "Reads today's")
        )
        # no other test reads this docstring: the change may stay
        assert first_doc({}).startswith("Reads the orders of the day")
        assert first_doc({"refresh": "true"}).startswith("Reads today's")

    def test_bad_parameters_are_422(self, client):
        assert (
            client.get("/api/project", params={"refresh": "maybe"}).status_code == 422
        )
        assert (
            client.get("/api/project", params={"pipeline": "a\x00b"}).status_code == 422
        )
        long = client.get("/api/project", params={"pipeline": "x" * 201})
        assert long.status_code == 422


class TestDescriber:
    def test_an_unreadable_project_is_503_with_a_hint(
        self, tmp_path, history, client_of
    ):
        (tmp_path / "pyproject.toml").write_text("[tool.pysetl\n")
        app = create_app(history)
        app.state.project_dir = tmp_path
        answer = client_of(app).get("/api/project")
        assert answer.status_code == 503
        body = answer.json()
        assert body["error"] == "project_unavailable"
        assert "cannot be read" in body["message"]
        assert body["hint"] == "fix the TOML syntax of the file"

    def test_a_child_that_dies_or_hangs_is_503(self, tmp_path, monkeypatch):
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pysetl]\n[tool.pysetl.pipelines]\nslow = "slow_etl:build"\n'
        )
        (tmp_path / "slow_etl.py").write_text(
            "import os, time\n"
            "def build():\n"
            "    if os.environ.get('DIE'): os._exit(3)\n"
            "    time.sleep(30)\n"
        )
        with pytest.raises(ApiProblem, match="took more than 1 s") as hung:
            ProjectDescriber(tmp_path, timeout=1).describe()
        assert hung.value.status == 503
        monkeypatch.setenv("DIE", "1")
        with pytest.raises(ApiProblem, match="failed: no output") as died:
            ProjectDescriber(tmp_path).describe()
        assert died.value.status == 503
