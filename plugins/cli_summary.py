"""``caro summary preview|generate|list``: the node's Level-1 summaries (FR-501…504).

``preview`` builds and signs the summary of the current period so far, exactly
as it would be shared, without storing it; ``generate`` writes the summary of
the last complete period; ``list`` shows the stored ones, own and received.
``--json`` prints the signed summaries themselves.
"""

import json
import time

import click

from caro_core import hookimpl
from caro_core.output import echo_json, echo_table

GRANULARITIES = ("hourly", "daily", "weekly")
#: Fields :func:`show` lays out; any other field (from an installed plugin) is printed as JSON.
LAID_OUT = ("id", "node_id", "period", "generated_at", "audience", "signature", "total_commands",
            "unique_patterns", "category_stats", "hourly_activity", "daily_activity",
            "safety_stats")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RISK_LEVELS = ("safe", "moderate", "high", "critical")


def _rate(value):
    return "-" if value is None else f"{value:.1%}"


def _duration(value):
    return "-" if value is None else f"{value} ms"


def _when(iso):
    return iso.replace("T", " ").replace(":00Z", " UTC")


def show(summary, title):
    """Print a summary for people: every field it carries, under ``title``."""
    period = summary["period"]
    click.echo(f"{title}: {period['granularity']} {_when(period['start'])} to "
               f"{_when(period['end'])}")
    click.echo(f"  node       {summary['node_id']}")
    click.echo(f"  id         {summary['id']}")
    click.echo(f"  generated  {summary['generated_at']}")
    audience = summary.get("audience") or []
    click.echo(f"  shared to  {len(audience)} node{'s' * (len(audience) != 1)}"
               + (": " + ", ".join(audience) if audience else " (not shared)"))
    if "total_commands" in summary:
        click.echo(f"  commands   {summary['total_commands']} "
                   f"({summary.get('unique_patterns', '?')} unique patterns)")
    if summary.get("category_stats"):
        click.echo("")
        echo_table([(c["category"], c["count"], _duration(c["avg_duration_ms"]),
                     _rate(c["failure_rate"])) for c in summary["category_stats"]],
                   ("category", "commands", "avg duration", "failure rate"))
    if "hourly_activity" in summary:
        click.echo("\nCommands per hour (UTC):")
        hours = summary["hourly_activity"]
        for first in range(0, 24, 6):
            counts = " ".join(f"{n:>6}" for n in hours[first:first + 6])
            click.echo(f"  {first:02d}-{first + 5:02d}h {counts}")
    if "daily_activity" in summary:
        click.echo("Commands per weekday (UTC): "
                   + ", ".join(f"{d} {n}" for d, n in zip(WEEKDAYS, summary["daily_activity"])))
    safety = summary.get("safety_stats")
    if safety:
        click.echo("\nSafety:")
        by_risk = safety["by_risk"]  # canonical order is alphabetical; show it by level
        levels = [k for k in RISK_LEVELS if k in by_risk] + sorted(set(by_risk) - set(RISK_LEVELS))
        click.echo("  by risk            " + ", ".join(f"{k} {by_risk[k]}" for k in levels))
        click.echo(f"  blocked            {safety['blocked_count']}")
        click.echo(f"  confirmed risky    {safety['user_confirmed_risky']}")
        click.echo(f"  Caro-generated     {safety['caro_generated']} "
                   f"(executed {safety['caro_executed']})")
    extra = {k: v for k, v in summary.items() if k not in LAID_OUT}
    if extra:
        click.echo("\nOther fields:")
        for key, value in extra.items():
            click.echo(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    signature = summary["signature"]
    click.echo(f"\nSigned (Ed25519) by {signature['signer']} at {signature['timestamp']}: "
               f"{signature['value']}")


def _granularity_option(function):
    return click.option("--granularity", type=click.Choice(GRANULARITIES), default="daily",
                        show_default=True, help="Length of the period.")(function)


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def summary():
        """Level-1 summaries: the signed aggregates this node may share."""

    @summary.command()
    @_granularity_option
    @click.option("--json", "as_json", is_flag=True, help="Print the signed summary as JSON.")
    @pass_node
    def preview(node, granularity, as_json):
        """Show the current period's summary so far, exactly as it would be shared (not stored)."""
        from caro_core.exchange import audience
        from caro_core.ingest import ingest
        from caro_core.summary import Period, build

        ingest(node)
        data = build(node, Period.containing(time.time(), granularity), audience=audience(node))
        if as_json:
            echo_json(data)
            return
        show(data, "PREVIEW, current period so far (not stored, not shared)")
        click.echo("\n'--json' prints the exact signed form that would be shared.")

    @summary.command()
    @_granularity_option
    @click.option("--period-start", metavar="ISO-TIME",
                  help="A time in the period to summarise (UTC when no offset is given); "
                       "default: the last complete period.")
    @click.option("--json", "as_json", is_flag=True, help="Print the signed summary as JSON.")
    @pass_node
    def generate(node, granularity, period_start, as_json):
        """Write the summary of the last complete period (or the one given) and print it."""
        from caro_core.daemon import notify
        from caro_core.exchange import audience
        from caro_core.ingest import ingest
        from caro_core.summary import (Period, SummaryError, build, find_summary, iso_utc,
                                       parse_iso, store_summary)

        now = time.time()
        period = (Period.containing(parse_iso(period_start), granularity) if period_start
                  else Period.last_complete(now, granularity))
        if period.end > now:
            raise SummaryError(f"the {period.describe()} period has not ended yet (it ends "
                               f"{iso_utc(period.end)}); 'caro summary preview' shows it so far")
        ingest(node)
        stored = find_summary(node.store, node.identity.node_id, period)
        if stored is None:
            stored = build(node, period, now=now, audience=audience(node))
            store_summary(node.store, stored)
            node.audit.append("SummaryGenerated", details=f"{period.describe()} id {stored['id']}")
            notify(node.home)  # a running daemon shares it with connected peers at once
            title = "Summary written"
        else:
            click.echo(f"caro: the {period.describe()} summary was already written; "
                       "it is kept as it is", err=True)
            title = "Summary (stored earlier)"
        echo_json(stored) if as_json else show(stored, title)

    @summary.command("list")
    @click.option("--peer", metavar="NODE_ID", help="Only this node's (node id or fingerprint).")
    @click.option("--granularity", type=click.Choice(GRANULARITIES), help="Only this length.")
    @click.option("--limit", type=click.IntRange(min=1), help="At most this many, newest first.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the summaries.")
    @pass_node
    def list_(node, peer, granularity, limit, as_json):
        """Stored summaries, own and received, newest period first."""
        from caro_core.summary import list_summaries

        summaries = list_summaries(node.store, peer=peer, granularity=granularity, limit=limit)
        if as_json:
            echo_json(summaries)
            return
        if not summaries:
            click.echo("no summaries stored")
            return
        own = node.identity.node_id
        echo_table([(s["period"]["granularity"], _when(s["period"]["start"]),
                     "own" if s["node_id"] == own else s["signature"]["signer"],
                     s.get("total_commands", "-"), s["generated_at"], s["id"])
                    for s in summaries],
                   ("period", "start", "node", "commands", "generated", "id"))
