"""``caro plugins list``: which plugins are loaded and which hooks they implement."""

import click

from caro_core import hookimpl
from caro_core.output import echo_json, echo_table


def describe_plugins(pm, include_builtin, hook=None):
    """One dict per registered plugin: name, hooks, and origin."""
    result = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked (disabled) names stay listed by pluggy as None
            continue
        hooks = pm.hook_names(plugin)
        if hook and hook not in hooks:
            continue
        if name in pm.external:
            distribution, version = pm.external[name]
            result.append({"name": name, "hooks": hooks, "distribution": distribution,
                           "version": version})
        elif include_builtin:
            result.append({"name": name, "hooks": hooks,
                           "builtin": pm.builtin_tiers.get(name, "extra")})
    return result


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def plugins():
        """Inspect Caro's plugins."""

    @plugins.command("list")
    @click.option("--all", "include_builtin", is_flag=True, help="Include built-in plugins.")
    @click.option("--hook", metavar="NAME", help="Only plugins implementing this hook.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def list_plugins(node, include_builtin, hook, as_json):
        """List installed plugins (external ones; --all adds the built-ins)."""
        if hook and not hasattr(node.pm.hook, hook):
            raise click.BadParameter(f"no hook named {hook!r}", param_hint="--hook")
        found = describe_plugins(node.pm, include_builtin, hook)
        if as_json:
            echo_json(found)
        elif not found:
            click.echo("No external plugins installed (--all lists the built-in ones).")
        else:
            echo_table([(p["name"], p.get("distribution", "built-in"),
                         p.get("version", p.get("builtin", "")), ", ".join(p["hooks"]))
                        for p in found], ["name", "from", "version/tier", "hooks"])
