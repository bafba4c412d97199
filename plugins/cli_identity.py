"""``caro identity show``: this node's id, fingerprint and certificate."""

import click

from caro_core import hookimpl
from caro_core.output import echo_json


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def identity():
        """This node's cryptographic identity."""

    @identity.command("show")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def show(node, as_json):
        """Show the node id and fingerprint (creating the identity on first use)."""
        facts = node.identity.describe()
        if as_json:
            echo_json(facts)
            return
        for key in ("node_id", "fingerprint", "created_at", "certificate"):
            click.echo(f"{key.replace('_', ' '):12} {facts[key]}")
