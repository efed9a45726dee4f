"""Fixtures of the pysetl.testing tests: the plugin's own, imported explicitly.

pytest allows ``pytest_plugins`` only in the root conftest, so the plugin's
function-scoped fixtures are imported here. Its session-scoped
``pysetl_spark`` is exercised by the sample project, run by
``test_sample_project.py`` in a pytest of its own (``-p pysetl.testing.plugin``);
here the root ``spark`` fixture (built by ``local_spark_session``) serves.
"""

from __future__ import annotations

from pysetl.testing.plugin import pysetl_history, pysetl_recorder

__all__ = ["pysetl_history", "pysetl_recorder"]

# A user's project, run in a subprocess from a copy: not part of our suite.
collect_ignore = ["sample_project"]
