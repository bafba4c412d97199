"""Personal view: the period's latest commands, sanitized (:mod:`caro_core.sanitize`), with risk badges."""

import datetime as dt
from html import escape

from caro_core import hookimpl

LIMIT = 15
#: period → strftime of a command's time
TIME_FORMAT = {"today": "%H:%M", "week": "%a %H:%M", "month": "%b %d %H:%M"}
MARKS = {"safe": "✓", "moderate": "⚠", "high": "⚠", "critical": "✖"}


def badge(risk, confirmed):
    """A risk badge: ``✓ Safe``, ``⚠ Moderate (confirmed)``…"""
    note = " (confirmed)" if confirmed and risk != "safe" else ""
    return f'<span class="badge risk-{risk}">{MARKS[risk]} {risk.title()}{note}</span>'


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.dashboard import Panel
    from caro_core.events import iso, query_events
    from caro_core.sanitize import sanitize

    events = query_events(request.store, limit=LIMIT, since=request.start, until=request.end)
    commands = [{"time": iso(e.timestamp), "command": sanitize(e.command), "risk": e.risk.label,
                 "category": e.category, "exit_code": e.exit_code,
                 "caro_generated": e.caro_generated, "user_confirmed": e.user_confirmed,
                 "elevated": e.elevated} for e in events]
    rows = []
    for event, shown in zip(events, commands):
        when = dt.datetime.fromtimestamp(event.timestamp).strftime(TIME_FORMAT[request.period])
        failed = "" if not event.exit_code else f' <span class="error">exit {event.exit_code}</span>'
        rows.append(f'<tr><td class="time">{escape(when)}</td>'
                    f'<td><code>{escape(shown["command"])}</code>{failed}</td>'
                    f'<td>{badge(shown["risk"], event.user_confirmed)}</td></tr>')
    if rows:
        html = ('<table class="commands"><thead><tr><th>Time</th><th>Command (sanitized)</th>'
                f'<th>Risk</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    else:
        html = '<p class="muted">No commands in this period.</p>'
    html += ('<p class="muted">Paths, hosts, addresses, e-mail addresses, secrets and quoted text '
             'are masked.</p>')
    return [Panel("recent", "Recent commands", order=60, html=html, data={"commands": commands})]
