"""Printing for commands: JSON for ``--json``, aligned tables for people."""

import json

import click


def echo_json(data):
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_table(rows, headers):
    """Print rows (sequences of strings) under headers, columns aligned."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
