"""Caro's small core.

The core builds the plugin manager, finds the node's home, loads and validates
its configuration, owns its identity, store and audit log, and hosts the CLI
root.  Every feature lives in a plugin (``caro_plugins``) on the hooks of
``caro_hookspecs``.  Plugins import ``hookimpl`` from here.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("caro")
