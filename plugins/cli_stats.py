"""``caro stats``: personal analytics over a day, week or month of observed commands."""

import collections
import datetime as dt

import click

from caro_core import hookimpl
from caro_core.output import echo_json


def compute_stats(events, period):
    """Totals, unique commands, top commands and categories, failure rate, busiest hour, risky ones."""
    total = len(events)
    with_exit = [e for e in events if e.exit_code is not None]
    failed = sum(1 for e in with_exit if e.exit_code != 0)
    programs = collections.Counter(e.command.split(None, 1)[0] for e in events if e.command.split())
    categories = collections.Counter(e.category for e in events)
    hours = collections.Counter(dt.datetime.fromtimestamp(e.timestamp).hour for e in events)
    risky = [e for e in events if e.risk >= 2]
    by_risk = collections.Counter(e.risk.label for e in events)
    durations = [e.duration_ms for e in events if e.duration_ms is not None]
    busiest = hours.most_common(1)[0] if hours else None
    return {
        "period": period,
        "total_commands": total,
        "unique_commands": len({e.command for e in events}),
        "failure_rate": round(failed / len(with_exit), 4) if with_exit else 0.0,
        "average_duration_ms": round(sum(durations) / len(durations)) if durations else None,
        "top_commands": [{"command": c, "count": n} for c, n in programs.most_common(10)],
        "top_categories": [{"category": c, "count": n} for c, n in categories.most_common(10)],
        "busiest_hour": {"hour": busiest[0], "count": busiest[1]} if busiest else None,
        "by_risk": {label: by_risk.get(label, 0) for label in ("safe", "moderate", "high", "critical")},
        "risky_commands": [{"command": e.command, "risk": e.risk.label, "reasons": e.reasons}
                           for e in risky[:10]],
    }


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.option("--period", type=click.Choice(["day", "week", "month"]), default="week",
                  show_default=True, help="How far back.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def stats(node, period, as_json):
        """Your terminal in numbers: top commands and categories, failures, risk."""
        from caro_core.events import query_events
        from caro_core.ingest import ingest
        from caro_core.timespec import period_start

        ingest(node)
        data = compute_stats(query_events(node.store, since=period_start(period)), period)
        if as_json:
            echo_json(data)
            return
        click.echo(f"Last {period}: {data['total_commands']} commands "
                   f"({data['unique_commands']} unique), failure rate "
                   f"{data['failure_rate']:.1%}")
        if data["busiest_hour"]:
            click.echo(f"Busiest hour: {data['busiest_hour']['hour']:02d}:00 "
                       f"({data['busiest_hour']['count']} commands)")
        for title, key, name in (("Top commands", "top_commands", "command"),
                                 ("Top categories", "top_categories", "category")):
            if data[key]:
                click.echo(f"{title}:")
                for item in data[key]:
                    click.echo(f"  {item['count']:6}  {item[name]}")
        click.echo("Risk: " + ", ".join(f"{k} {v}" for k, v in data["by_risk"].items()))
        for item in data["risky_commands"]:
            click.echo(f"  [{item['risk']}] {item['command']}  ({'; '.join(item['reasons'])})")
