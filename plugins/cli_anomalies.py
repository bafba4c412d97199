"""``caro anomalies``: this node's recent activity compared with its own baseline."""

import datetime as dt

import click

from caro_core import hookimpl
from caro_core.output import echo_json, echo_table


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.option("--since", metavar="TIME", default="1d", show_default=True,
                  help="Examine from this time: 90m, 2h, 3d, 1w, today, yesterday or an ISO time.")
    @click.option("--until", metavar="TIME", help="Examine up to this time (default: now).")
    @click.option("--baseline-days", type=click.IntRange(min=1), metavar="DAYS",
                  help="Days of history before --since to compare with "
                       "(default: [anomaly] baseline_days, 30).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def anomalies(node, since, until, baseline_days, as_json):
        """Unusual activity: risky shapes, failures, idle hours, risky bursts, volume."""
        from caro_core.anomaly import baseline, days_text, make_window, run_detectors
        from caro_core.events import iso
        from caro_core.ingest import ingest
        from caro_core.timespec import parse_time

        ingest(node)
        window = make_window(node, parse_time(since), parse_time(until) if until else None,
                             baseline_days)
        found, failures = run_detectors(node, window)
        base = baseline(node, window)
        for name, message in failures:
            click.echo(f"caro: warning: anomaly detector {name} failed: {message}", err=True)
        if as_json:
            echo_json({"since": iso(window.since), "until": iso(window.until),
                       "baseline": {"since": iso(base.start), "days": round(base.days, 2),
                                    "events": base.events, "ready": base.ready},
                       "anomalies": [a.to_json() for a in found],
                       "failures": [{"plugin": name, "error": message}
                                    for name, message in failures]})
            return
        if found:
            echo_table([(a.severity, a.level, a.kind, _when(a), a.description) for a in found],
                       ["sev", "level", "type", "when", "description"])
        else:
            click.echo("No anomalies in this period.")
        if base.ready:
            click.echo(f"Baseline: {days_text(base.days)} ({base.events} commands).")
        else:
            click.echo(f"Baseline still short ({base.events} commands over {base.days:.1f} days): "
                       "only bursts of risky commands are reported until it grows.")


def _when(anomaly):
    if anomaly.first_seen is None:
        return ""
    return dt.datetime.fromtimestamp(anomaly.first_seen).strftime("%m-%d %H:%M")
