"""``caro audit verify|export``: check and export the tamper-evident audit log."""

import click

from caro_core import hookimpl
from caro_core.errors import CaroError
from caro_core.output import echo_json

EXPORT_FIELDS = ("seq", "id", "event_type", "timestamp", "peer", "details", "success",
                 "prev_hash", "hash")


class AuditTampered(CaroError):
    exit_code = 5


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def audit():
        """The node's append-only audit log."""

    @audit.command()
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def verify(node, as_json):
        """Check the hash chain; exit non-zero naming the first bad entry."""
        ok, count, problem = node.audit.verify()
        if as_json:
            echo_json({"ok": ok, "entries": count, "problem": problem})
        if not ok:
            raise AuditTampered(f"audit log {node.audit.path} is not intact: {problem}")
        if not as_json:
            click.echo(f"audit log intact: {count} entries")

    @audit.command()
    @click.option("--format", "fmt", type=click.Choice(["json"]), default="json",
                  show_default=True, help="Output format.")
    @pass_node
    def export(node, fmt):
        """Print every entry as a JSON array."""
        echo_json([{k: e.get(k) for k in EXPORT_FIELDS} for e in node.audit.entries()])
