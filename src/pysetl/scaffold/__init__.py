"""Scaffolding: ``pysetl new`` makes projects and factories from copier templates.

Added in 0.5.
"""

from pysetl.scaffold._errors import ScaffoldError
from pysetl.scaffold._names import (
    check_factory_name,
    check_pipeline_name,
    check_project_name,
)
from pysetl.scaffold._new import (
    ANSWERS_FILE,
    Scaffolded,
    check_destination,
    find_scaffolded_project,
    new_factory,
    new_project,
    pysetl_specifier,
    update_project,
)
from pysetl.scaffold._template import default_cache_dir

__all__ = [
    "ANSWERS_FILE",
    "ScaffoldError",
    "Scaffolded",
    "check_destination",
    "check_factory_name",
    "check_pipeline_name",
    "check_project_name",
    "default_cache_dir",
    "find_scaffolded_project",
    "new_factory",
    "new_project",
    "pysetl_specifier",
    "update_project",
]
