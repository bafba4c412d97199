"""``caro history`` (alias ``caro --history``): the commands this node observed."""

import datetime as dt

import click

from caro_core import hookimpl
from caro_core.output import echo_json, echo_table

RISK_CHOICES = ("safe", "moderate", "high", "critical")


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True,
                  help="At most this many commands.")
    @click.option("--category", "-c", metavar="C", help="Only this category (git, docker, …).")
    @click.option("--risk", "-r", type=click.Choice(RISK_CHOICES), help="Only this risk or higher.")
    @click.option("--since", metavar="TIME", help="Since 90m, 2h, 3d, 1w, today, yesterday or an ISO time.")
    @click.option("--until", metavar="TIME", help="Before this time.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def history(node, limit, category, risk, since, until, as_json):
        """Show recorded commands, newest first (secrets redacted)."""
        from caro_core.events import query_events
        from caro_core.ingest import ingest
        from caro_core.risk import RiskLevel
        from caro_core.timespec import parse_time

        ingest(node)
        events = query_events(node.store, limit=limit, category=category,
                              min_risk=RiskLevel.parse(risk) if risk else None,
                              since=parse_time(since) if since else None,
                              until=parse_time(until) if until else None)
        if as_json:
            from caro_core.usage import usage_for

            usage = usage_for(node.store, [e.id for e in events])
            echo_json([{**e.to_json(), "usage": usage.get(e.id)} for e in events])
            return
        if not events:
            click.echo("No commands recorded yet. Add the shell integration: "
                       "eval \"$(caro init bash)\" (or zsh, fish, sh), or run 'caro import'.")
            return
        rows = []
        for e in reversed(events):
            when = dt.datetime.fromtimestamp(e.timestamp).strftime("%m-%d %H:%M:%S")
            status = "" if e.exit_code is None else str(e.exit_code)
            took = "" if e.duration_ms is None else f"{e.duration_ms}ms"
            rows.append((when, status, took, e.category, e.risk.label,
                         e.command.replace("\n", "⏎ ")))
        echo_table(rows, ["time", "exit", "took", "category", "risk", "command"])
