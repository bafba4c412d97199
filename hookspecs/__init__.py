"""Caro's hook specifications, one module per hook family.

Installed as the import package ``caro_hookspecs`` (the folder ``hookspecs/`` is
mapped in ``pyproject.toml``).  Every hook name starts with ``caro_`` followed by
its family; every spec documents when it is called, its arguments, what it
returns and whether it is ``firstresult``.  ``docs/plugins.md`` mirrors these
docstrings and a test fails when one is missing there.
"""

import pluggy

hookspec = pluggy.HookspecMarker("caro")

#: The spec modules, in the order the plugin manager adds them.
FAMILIES = (
    "core",
    "cli",
    "lifecycle",
    "shell",
    "classify",
    "observe",
    "summary",
    "discovery",
    "trust",
    "query",
    "dashboard",
    "generate",
    "skill",
    "anomaly",
)
