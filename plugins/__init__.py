"""Caro's built-in plugins, one module per feature, named ``<family>_<feature>``.

Installed as ``caro_plugins``; the list and its tiers are in
:data:`caro_core.plugins.BUILTIN_PLUGINS`.
"""
