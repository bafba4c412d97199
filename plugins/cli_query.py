"""``caro query TYPE``: ask the mesh (through the running daemon) and show the merged answer.

The command sends the query to the daemon over the control channel
(:mod:`caro_core.control`); the daemon asks its peers (:mod:`caro_core.query`).  Without a
daemon it answers from this node alone and says so.
"""

import click

from caro_core import hookimpl

#: the daemon gets this much longer than the query's deadline to send the merged answer
GRACE_S = 10.0
#: maps with at most this many entries are shown on one line
SHORT = 8


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _render(data, indent=""):
    """Lines for people from a merged answer: scalars as ``key: value``, maps and lists of
    maps as aligned tables, lists of numbers on one line."""
    from caro_core.output import echo_table

    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = list(dict.fromkeys(c for v in value.values() for c in v))
            click.echo(f"{indent}{key}:")
            echo_table([[name, *(_cell(v.get(c)) for c in columns)] for name, v in value.items()],
                       ["", *columns])
        elif isinstance(value, dict) and len(value) > SHORT:
            click.echo(f"{indent}{key}:")
            echo_table([[k, _cell(v)] for k, v in value.items()], ["", "count"])
        elif isinstance(value, dict):
            click.echo(f"{indent}{key}: "
                       + (", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "none"))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(c for v in value for c in v))
            click.echo(f"{indent}{key}:")
            echo_table([[_cell(v.get(c)) for c in columns] for v in value], columns)
        elif isinstance(value, list):
            click.echo(f"{indent}{key}: {' '.join(map(_cell, value)) or 'none'}")
        else:
            click.echo(f"{indent}{key}: {_cell(value)}")


def _show(result, own_id):
    from caro_core.query import describe_node

    def names(node_ids):
        return ", ".join(describe_node(n) + (" (this node)" if n == own_id else "")
                         for n in node_ids) or "none"

    click.echo(f"{result['type']} from {result['since']} to {result['until']}"
               + (f" where {' and '.join(result['filters'])}" if result["filters"] else "")
               + f" ({result['elapsed_ms']:.0f} ms{', cached' if result['cached'] else ''})")
    click.echo()
    if result["data"] is None:
        click.echo(result["withheld"] or "no data")
    else:
        _render(result["data"])
    click.echo()
    click.echo(f"answered     {len(result['contributors'])}: {names(result['contributors'])}")
    click.echo(f"denied       {len(result['denied'])}: {names(result['denied'])}")
    click.echo(f"no response  {len(result['no_response'])}: {names(result['no_response'])}")
    for node_id, reason in result["failed"].items():
        click.echo(f"failed       {describe_node(node_id)}: {reason}")


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.argument("query_type", metavar="TYPE")
    @click.option("--since", metavar="TIME", default="1d", show_default=True,
                  help="From this time: 90m, 2h, 3d, 1w, today, yesterday or an ISO time.")
    @click.option("--until", metavar="TIME", help="Up to this time (default: now).")
    @click.option("--filter", "filters", multiple=True, metavar="EXPR",
                  help="Keep rows where FIELD=VALUE, FIELD!=VALUE, FIELD~TEXT, FIELD>N, FIELD<N "
                       "or 'FIELD in A,B' (repeatable; every filter must hold).")
    @click.option("--timeout", type=click.FloatRange(0, 60, min_open=True), metavar="S",
                  help="Deadline in seconds (default: [query] timeout_s, 5).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def query(node, query_type, since, until, filters, timeout, as_json):
        """Ask the mesh: tool-usage, safety-posture, activity, anomalies or health.

        Every reachable node answers for itself as its sharing policy allows; the answers
        are merged.  Nodes that refuse are listed as denied, nodes that do not answer in
        time as no response: a partial answer is normal.
        """
        from caro_core import control
        from caro_core import query as query_mod
        from caro_core.ingest import ingest
        from caro_core.output import echo_json
        from caro_core.timespec import parse_time

        query_mod.check_type(node, query_type)
        start = parse_time(since)
        end = parse_time(until) if until else None
        parsed = [query_mod.parse_filter(f) for f in filters]
        if timeout is None:
            timeout = node.config.get("query", {}).get("timeout_s", 5.0)
        try:
            result = control.request(node.home, "query", timeout + GRACE_S, type=query_type,
                                     since=start, until=end,
                                     filters=[f.to_json() for f in parsed], timeout_s=timeout)
        except control.NotRunning:
            ingest(node)
            result = query_mod.run(node, query_type, start, end, parsed, timeout).to_json()
            click.echo("caro: the mesh is not running (no daemon, or [mesh] enabled = false): "
                       "this node's data only", err=True)
        if as_json:
            echo_json(result)
        else:
            _show(result, node.identity.node_id)
