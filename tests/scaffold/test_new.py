"""``pysetl new``: a project and a factory from the templates, template updates.

Spark-free: the files are rendered and read, not run (see
``test_generated_project.py`` for the project's own run and tests).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib
import yaml
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.config import load_config
from pysetl.runtime.project import find_project
from pysetl.scaffold import (
    ANSWERS_FILE,
    ScaffoldError,
    new_factory,
    new_project,
    pysetl_specifier,
    update_project,
)
from pysetl.scaffold._template import packaged_template

PROJECT_FILES = {
    ".copier-answers.yml",
    ".github/workflows/ci.yml",
    ".gitignore",
    "README.md",
    "conf/base/catalog.yaml",
    "conf/base/spark.yaml",
    "conf/dev/spark.yaml",
    "conf/prod/catalog.yaml",
    "conf/prod/spark.yaml",
    "data/customers.csv",
    "data/orders.csv",
    "pyproject.toml",
    "src/shop/__init__.py",
    "src/shop/factories/__init__.py",
    "src/shop/factories/compute_revenue.py",
    "src/shop/factories/read_orders.py",
    "src/shop/factories/write_revenue.py",
    "src/shop/pipeline.py",
    "src/shop/schemas.py",
    "tests/conftest.py",
    "tests/test_compute_revenue.py",
    "tests/test_config.py",
    "tests/test_pipeline.py",
    "tests/test_read_orders.py",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - git with the test's own arguments
        ["git", *args],  # noqa: S607 - git from PATH, as copier runs it
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def shop(tmp_path_factory, template_cache):
    """One project for the tests that read it or only add factories to it."""
    folder = tmp_path_factory.mktemp("projects")
    return new_project("shop", directory=folder, cache_dir=template_cache)


class TestNewProject:
    def test_writes_the_whole_project(self, shop):
        assert shop.root.name == "shop"
        assert set(shop.files) == PROJECT_FILES
        assert re.fullmatch(r"1\.0\.0\+t[0-9a-f]{10}", shop.template_ref)

    def test_pyproject_registers_the_pipeline_and_asks_for_the_extras(self, shop):
        data = tomllib.loads((shop.root / "pyproject.toml").read_text())
        assert data["project"]["name"] == "shop"
        assert data["project"]["dependencies"] == [
            f"pysetl[spark,monitoring,config,cli]{pysetl_specifier()}"
        ]
        assert data["tool"]["pytest"]["ini_options"]["pythonpath"] == ["src"]
        project = find_project(shop.root)
        assert project.pipelines == {"revenue": "shop.pipeline:build"}
        assert project.default == "revenue"
        assert project.conf == shop.root / "conf"

    def test_every_environment_loads_with_the_catalog(self, shop, monkeypatch):
        monkeypatch.delenv("PYSETL_ENV", raising=False)
        monkeypatch.delenv("SHOP_OUTPUT", raising=False)
        paths = {
            env: load_config(shop.root / "conf", env).get("connectors.revenue.path")
            for env in (None, "dev", "prod")
        }
        assert paths == {
            None: "data/output/revenue",
            "dev": "data/output/revenue",
            "prod": "data/output/prod/revenue",
        }
        dev = load_config(shop.root / "conf", "dev")
        assert dev.get("spark")["spark.master"] == "local[1]"
        assert set(dev.connectors()) == {"orders", "customers", "revenue"}

    def test_the_answers_file_records_the_template_version(self, shop, template_cache):
        answers = yaml.safe_load((shop.root / ANSWERS_FILE).read_text())
        assert answers["_commit"] == shop.template_ref
        assert answers["_src_path"] == str(template_cache / "templates" / "project")
        assert answers["package_name"] == "shop"
        assert answers["pipeline_name"] == "revenue"

    def test_the_ci_workflow_runs_the_readme_commands(self, shop):
        workflow = yaml.safe_load((shop.root / ".github/workflows/ci.yml").read_text())
        steps = [s.get("run") for s in workflow["jobs"]["ci"]["steps"] if "run" in s]
        readme = (shop.root / "README.md").read_text()
        for command in ("pysetl run --env dev", "pytest", "pysetl doctor --env dev"):
            assert command in steps
            assert f"$ {command}" in readme

    def test_a_second_project_in_an_empty_folder_with_its_own_pipeline(
        self, tmp_path, shop
    ):
        (tmp_path / "daily").mkdir()
        made = new_project("daily", directory=tmp_path, data={"pipeline_name": "kpi"})
        assert made.template_ref == shop.template_ref  # the same template version
        assert find_project(made.root).pipelines == {"kpi": "daily.pipeline:build"}

    def test_an_existing_folder_with_files_is_refused(self, shop):
        with pytest.raises(ScaffoldError, match="exists and is not empty") as info:
            new_project("shop", directory=shop.root.parent)
        assert "pysetl new --update" in info.value.hint

    def test_the_specifier_accepts_this_build(self):
        assert pysetl_specifier("0.5.2") == ">=0.5,<0.6"
        assert pysetl_specifier("1.3.0") == ">=1.3,<2"
        assert pysetl_specifier("0.2.0.dev423+gf3fd9dd") == ">=0.2.0.dev0,<0.3"
        assert pysetl_specifier("unknown") == ""


class TestNewFactory:
    def test_adds_the_module_and_its_test_from_inside_the_project(self, shop):
        made = new_factory("enrich_orders", project=shop.root / "src" / "shop")
        assert made.files == (
            "src/shop/factories/enrich_orders.py",
            "tests/test_enrich_orders.py",
        )
        module = (shop.root / made.files[0]).read_text()
        assert "class EnrichOrders(Factory[DataSet[EnrichOrdersOutput]]):" in module
        test = (shop.root / made.files[1]).read_text()
        assert "from shop.factories.enrich_orders import (" in test
        answers = yaml.safe_load((shop.root / ANSWERS_FILE).read_text())
        assert answers["_commit"] == shop.template_ref  # the project's, untouched

    def test_an_existing_factory_is_refused(self, shop):
        new_factory("LoadFiles", project=shop.root)
        with pytest.raises(ScaffoldError, match="exists already"):
            new_factory("load_files", project=shop.root)

    def test_outside_a_project_it_says_where_to_run(self, tmp_path):
        with pytest.raises(ScaffoldError, match="No project made by pysetl new"):
            new_factory("EnrichOrders", project=tmp_path)


class TestUpdate:
    """A project takes the template's later changes; its own changes stay."""

    @pytest.fixture
    def cache(self, tmp_path):
        """A cache of this test's own: these tests change and clear it."""
        return tmp_path / "cache"

    @pytest.fixture
    def committed(self, tmp_path, cache):
        shop = new_project("shop", directory=tmp_path, cache_dir=cache)
        git(shop.root, "init", "--quiet")
        git(shop.root, "add", "--all")
        git(shop.root, "commit", "--quiet", "-m", "made by pysetl new")
        readme = shop.root / "README.md"
        readme.write_text(readme.read_text() + "\nOur own notes.\n")
        git(shop.root, "commit", "--quiet", "-am", "our notes")
        return shop

    @pytest.fixture
    def newer_template(self, tmp_path):
        """The packaged template with the changes a later pysetl would bring."""
        folder = tmp_path / "template-next"
        with packaged_template("project") as packaged:
            shutil.copytree(packaged, folder)
        files = folder / "template"
        ignore = files / ".gitignore"
        ignore.write_text(ignore.read_text() + ".ipynb_checkpoints/\n")
        (files / "conf/base/monitoring.yaml").write_text(
            "monitoring:\n  heartbeat_interval: 5\n"
        )
        readme = files / "README.md.jinja"
        readme.write_text(readme.read_text().replace("A [pysetl]", "This [pysetl]"))
        return folder

    def test_merges_the_template_changes_and_keeps_ours(
        self, committed, newer_template, monkeypatch
    ):
        """The next pysetl's template, and its series in the project's requirements."""
        monkeypatch.setattr(
            "pysetl.scaffold._new.pysetl_specifier", lambda: ">=9.1,<10"
        )
        readme = committed.root / "README.md"
        ours = readme.read_text()
        readme.write_text("uncommitted\n")
        with pytest.raises(ScaffoldError, match="Destination repository is dirty"):
            update_project(committed.root, template=newer_template)
        readme.write_text(ours)
        done = update_project(committed.root / "tests", template=newer_template)
        assert done.template_ref.startswith("2.0.0+t")
        assert set(done.files) == {
            ".copier-answers.yml",
            ".gitignore",
            "README.md",
            "conf/base/monitoring.yaml",
            "pyproject.toml",
        }
        pyproject = tomllib.loads((committed.root / "pyproject.toml").read_text())
        assert pyproject["project"]["dependencies"] == [
            "pysetl[spark,monitoring,config,cli]>=9.1,<10"
        ]
        merged = readme.read_text()
        assert "This [pysetl](https://pypi.org/project/pysetl/) project" in merged
        assert merged.endswith("Our own notes.\n")
        assert "<<<<<<<" not in merged
        assert ".ipynb_checkpoints/" in (committed.root / ".gitignore").read_text()
        answers = yaml.safe_load((committed.root / ANSWERS_FILE).read_text())
        assert answers["_commit"] == done.template_ref
        git(committed.root, "add", "--all")
        git(committed.root, "commit", "--quiet", "-m", "template 2.0.0")
        again = update_project(committed.root, template=newer_template)
        assert (again.files, again.template_ref) == ((), done.template_ref)

    def test_a_version_made_elsewhere_needs_that_template_once(
        self, committed, cache, newer_template
    ):
        """Another machine, or a cleared cache: the version that made it is unknown."""
        shutil.rmtree(cache / "templates")
        with pytest.raises(ScaffoldError, match=r"that made .* is not in the") as info:
            update_project(committed.root, template=newer_template)
        assert "made on another machine, or the cache was cleared" in info.value.hint
        # With the pysetl that made it, the update records its template...
        same = update_project(committed.root)
        assert (same.files, same.template_ref) == ((), committed.template_ref)
        # ...and the next pysetl's template merges.
        done = update_project(committed.root, template=newer_template)
        assert "conf/base/monitoring.yaml" in done.files


class TestCommand:
    def invoke(self, *args):
        return CliRunner().invoke(app, list(args))

    def test_creates_a_project_and_says_what_next(self, tmp_path):
        result = self.invoke(
            "new", "demo_project", "--dir", str(tmp_path), "--defaults"
        )
        assert result.exit_code == 0, result.output
        assert f"Created {tmp_path / 'demo_project'} (24 files)" in result.output
        assert "pysetl run --env dev" in result.output
        assert (tmp_path / "demo_project" / "src" / "demo_project").is_dir()

    def test_an_invalid_name_is_a_usage_error_with_a_fix(self, tmp_path):
        result = self.invoke("new", "1bad", "--dir", str(tmp_path))
        assert result.exit_code == 2
        assert (
            "pysetl: error: The project name '1bad' does not start with a letter"
            in result.output
        )
        assert "try 'project_1bad'" in result.output
        assert list(tmp_path.iterdir()) == []

    def test_an_existing_folder_is_a_usage_error(self, tmp_path):
        (tmp_path / "demo").mkdir()
        (tmp_path / "demo" / "notes.txt").write_text("mine")
        result = self.invoke("new", "demo", "--dir", str(tmp_path))
        assert result.exit_code == 2
        assert "already exists and is not empty" in result.output
        assert [p.name for p in (tmp_path / "demo").iterdir()] == ["notes.txt"]

    def test_factory_without_a_name_asks_for_it(self, tmp_path):
        result = self.invoke("new", "factory", "--dir", str(tmp_path))
        assert result.exit_code == 2
        assert "pysetl new factory needs the factory's NAME" in result.output
        assert list(tmp_path.iterdir()) == []

    def test_adds_a_factory(self, shop):
        result = self.invoke("new", "factory", "CleanUp", "--dir", str(shop.root))
        assert result.exit_code == 0, result.output
        assert "created src/shop/factories/clean_up.py" in result.output
        assert "pytest tests/test_clean_up.py" in result.output

    def test_update_of_a_project_at_the_latest_template(self, shop):
        result = self.invoke("new", "--update", "--dir", str(shop.root))
        assert result.exit_code == 0, result.output
        assert f"is up to date (template {shop.template_ref})" in result.output

    def test_a_bad_pipeline_name_is_a_usage_error(self, tmp_path):
        result = self.invoke("new", "x", "--dir", str(tmp_path), "--pipeline", "A B")
        assert result.exit_code == 2
        assert "The pipeline name 'A B' is not valid" in result.output


class TestBrokenProjects:
    def test_a_file_in_the_way_is_refused(self, tmp_path):
        (tmp_path / "shop").write_text("a file")
        with pytest.raises(ScaffoldError, match="is a file, not a folder"):
            new_project("shop", directory=tmp_path)

    @pytest.mark.parametrize(
        ("answers", "problem"),
        [
            ("a: [unclosed\n", "cannot be read"),
            ("- a list\n", "holds no answers"),
            ("project_name: shop\n", "names no package_name"),
        ],
    )
    def test_a_broken_answers_file_is_named(self, tmp_path, answers, problem):
        (tmp_path / ANSWERS_FILE).write_text(answers)
        with pytest.raises(ScaffoldError, match=problem) as info:
            new_factory("EnrichOrders", project=tmp_path)
        assert str(tmp_path / ANSWERS_FILE) in info.value.message

    def test_a_project_without_a_template_version_cannot_update(self, tmp_path):
        (tmp_path / ANSWERS_FILE).write_text("package_name: shop\n")
        with pytest.raises(ScaffoldError, match="records no template version"):
            update_project(tmp_path)

    def test_a_broken_template_repository_is_a_clear_error(self, tmp_path):
        (tmp_path / "templates" / "project").mkdir(parents=True)
        (tmp_path / "templates" / "project" / ".git").write_text("gitdir: /nowhere\n")
        with pytest.raises(ScaffoldError, match=r"^git .* failed in ") as info:
            new_project("shop", directory=tmp_path / "out", cache_dir=tmp_path)
        assert info.value.hint == "check that git works there"
