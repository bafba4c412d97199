"""The plugin manager factory.

Built-in plugins live in ``caro_plugins`` (the ``plugins/`` folder) and are
listed in :data:`BUILTIN_PLUGINS`; external plugins come from the entry-point
group ``caro``.  A plugin that fails to import, to register or that implements
a hook Caro does not know is reported in one line and skipped; the host carries on.
"""

import importlib
import importlib.metadata
import os
import sys

import pluggy

import caro_hookspecs

#: Essential plugins make the node work at all and cannot be disabled.
ESSENTIAL = "essential"
#: Default plugins are features that are on unless disabled by name.
DEFAULT = "default"

#: Every built-in plugin as ``(tier, module)``, in registration order;
#: ``module`` is the plugin's name and its module in ``caro_plugins``.
BUILTIN_PLUGINS = (
    (ESSENTIAL, "cli_plugins"),
    (ESSENTIAL, "cli_identity"),
    (ESSENTIAL, "cli_audit"),
    (ESSENTIAL, "cli_doctor"),
    (ESSENTIAL, "cli_daemon"),
    (DEFAULT, "cli_history"),
    (DEFAULT, "cli_stats"),
    (DEFAULT, "cli_import"),
    (DEFAULT, "observe_spool"),
    (DEFAULT, "classify_categories"),
    (DEFAULT, "classify_safety"),
    (DEFAULT, "classify_secrets"),
    (DEFAULT, "cli_check"),
    (DEFAULT, "shell_bash"),
    (DEFAULT, "shell_zsh"),
    (DEFAULT, "shell_fish"),
    (DEFAULT, "shell_sh"),
    (DEFAULT, "cli_init"),
    (DEFAULT, "observe_procmon"),
    (DEFAULT, "summary_categories"),
    (DEFAULT, "summary_activity"),
    (DEFAULT, "summary_safety"),
    (DEFAULT, "summary_schedule"),
    (DEFAULT, "cli_summary"),
    (DEFAULT, "dashboard_server"),
    (DEFAULT, "cli_dashboard"),
    (DEFAULT, "dashboard_activity"),
    (DEFAULT, "dashboard_categories"),
    (DEFAULT, "dashboard_heatmap"),
    (DEFAULT, "dashboard_risk"),
    (DEFAULT, "dashboard_recent"),
    (DEFAULT, "dashboard_failures"),
    (DEFAULT, "dashboard_mesh"),
    (DEFAULT, "dashboard_views"),
    (DEFAULT, "mesh_service"),
    (DEFAULT, "mesh_summaries"),
    (DEFAULT, "trust_static"),
    (DEFAULT, "trust_tofu"),
    (DEFAULT, "discovery_static"),
    (DEFAULT, "cli_peers"),
    (DEFAULT, "discovery_mdns"),
    (DEFAULT, "discovery_subnet"),
    (DEFAULT, "discovery_dnssd"),
    (DEFAULT, "trust_ca"),
    (DEFAULT, "trust_subnet"),
    (DEFAULT, "cli_ca"),
    (DEFAULT, "cli_skills"),
    (DEFAULT, "skill_knowledge"),
    (DEFAULT, "skill_recipes"),
    (DEFAULT, "skill_guardrails"),
    (DEFAULT, "skill_fetch_path"),
    (DEFAULT, "skill_fetch_git"),
    (DEFAULT, "skill_fetch_archive"),
    (DEFAULT, "skill_fetch_oci"),
    (DEFAULT, "skill_wasm"),
    (DEFAULT, "generate_offline"),
    (DEFAULT, "generate_openai"),
    (DEFAULT, "explain_builtin"),
    (DEFAULT, "cli_ask"),
    (DEFAULT, "cli_explain"),
    (DEFAULT, "anomaly_pattern"),
    (DEFAULT, "anomaly_failure_rate"),
    (DEFAULT, "anomaly_timing"),
    (DEFAULT, "anomaly_risky"),
    (DEFAULT, "anomaly_baseline"),
    (DEFAULT, "dashboard_anomalies"),
    (DEFAULT, "cli_anomalies"),
    (DEFAULT, "sharing_policy"),
    (DEFAULT, "cli_policy"),
    (DEFAULT, "mesh_queries"),
    (DEFAULT, "query_tool_usage"),
    (DEFAULT, "query_safety_posture"),
    (DEFAULT, "query_activity"),
    (DEFAULT, "query_anomalies"),
    (DEFAULT, "query_health"),
    (DEFAULT, "cli_query"),
)

ENTRY_POINT_GROUP = "caro"


class CaroPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers where each plugin came from."""

    def __init__(self):
        super().__init__("caro")
        #: built-in plugin name -> tier
        self.builtin_tiers = {}
        #: external plugin name -> (distribution name, version)
        self.external = {}

    def parse_hookimpl_opts(self, plugin, name):
        """Look only for the ``@hookimpl`` mark (pluggy also inspects every attribute of every
        plugin module, which start-up pays for); a marked function of an unknown name is
        still reported by :func:`make_plugin_manager`."""
        options = getattr(getattr(plugin, name, None), "caro_impl", None)
        return options if isinstance(options, dict) else None

    def hook_names(self, plugin):
        """The names of the hooks ``plugin`` implements, sorted."""
        return sorted(caller.name for caller in self.get_hookcallers(plugin) or ())


def _warn(message):
    """One line on stderr, whatever the message (pluggy's errors span several lines)."""
    sys.stderr.write("caro: warning: " + " ".join(str(message).split()) + "\n")


def _split_env(value):
    return {name.strip() for name in (value or "").split(",") if name.strip()}


def make_plugin_manager(settings=None, environ=os.environ, extra_plugins=()):
    """Build a fresh plugin manager.

    :param settings: the validated ``[plugins]`` config section
        (``disable``, ``autoload``); None means the defaults.
    :param environ: where ``CARO_DISABLE_PLUGINS`` (comma-separated names),
        ``CARO_LOAD_PLUGINS`` (allow-list of external plugins) and
        ``CARO_TRACE_PLUGINS`` are read.
    :param extra_plugins: ``(name, plugin)`` pairs registered after the
        built-ins (tests, embedding applications).
    """
    settings = settings or {"disable": [], "autoload": True}
    disabled = set(settings["disable"]) | _split_env(environ.get("CARO_DISABLE_PLUGINS"))
    pm = CaroPluginManager()
    for family in caro_hookspecs.FAMILIES:
        pm.add_hookspecs(importlib.import_module(f"caro_hookspecs.{family}"))

    for tier, name in BUILTIN_PLUGINS:
        if name in disabled and tier != ESSENTIAL:
            pm.set_blocked(name)
            continue
        pm.register(importlib.import_module(f"caro_plugins.{name}"), name=name)
        pm.builtin_tiers[name] = tier
    for name in disabled & {name for tier, name in BUILTIN_PLUGINS if tier == ESSENTIAL}:
        _warn(f"plugin '{name}' is essential and cannot be disabled")

    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)

    if settings["autoload"]:
        allow = _split_env(environ["CARO_LOAD_PLUGINS"]) if "CARO_LOAD_PLUGINS" in environ else None
        _load_entry_points(pm, disabled, allow)

    pm.check_pending()
    if environ.get("CARO_TRACE_PLUGINS") not in (None, "", "0"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def _load_entry_points(pm, disabled, allow):
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in disabled:
            pm.set_blocked(ep.name)
            continue
        if allow is not None and ep.name not in allow:
            continue
        dist = (ep.dist.name, ep.dist.version) if ep.dist else ("?", "?")
        origin = f"'{ep.name}' ({dist[0]} {dist[1]})"
        try:
            plugin = ep.load()
        except Exception as e:  # a broken plugin must not take the host down
            _warn(f"plugin {origin} failed to import: {type(e).__name__}: {e}; skipped")
            continue
        try:
            pm.register(plugin, name=ep.name)
        except Exception as e:
            _warn(f"plugin {origin} could not be registered: {e}; skipped")
            continue
        unknown = [c.name for c in pm.get_hookcallers(plugin) or () if not c.has_spec()]
        if unknown:
            pm.unregister(plugin)
            _warn(f"plugin {origin} implements unknown hook(s) {', '.join(unknown)}; skipped")
            continue
        pm.external[ep.name] = dist
