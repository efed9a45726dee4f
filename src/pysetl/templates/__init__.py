"""The copier templates that ``pysetl new`` renders (data files, no code).

``project/`` is a whole project, ``factory/`` one factory and its test; each
is a copier template (``copier.yml`` and a ``template/`` folder whose
``.jinja`` files are rendered). See ``pysetl.scaffold``.

Added in 0.5.
"""

__all__: list[str] = []
