"""Personal view: the period's anomalies against the node's own baseline
(:mod:`caro_core.anomaly`)."""

import datetime as dt
from html import escape

from caro_core import hookimpl

#: severity level → badge class of ``caro.css``
BADGES = {"low": "risk-moderate", "medium": "risk-high", "high": "risk-critical",
          "critical": "risk-critical"}
#: period → strftime of the first and last time seen
TIME_FORMAT = {"today": "%H:%M", "week": "%a %H:%M", "month": "%b %d %H:%M"}


def when(anomaly, period):
    """``09:12–09:20`` (or one time): when the events of ``anomaly`` happened."""
    if anomaly.first_seen is None:
        return ""
    times = dict.fromkeys(dt.datetime.fromtimestamp(t).strftime(TIME_FORMAT[period])
                          for t in (anomaly.first_seen, anomaly.last_seen) if t is not None)
    return "–".join(times)


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.anomaly import baseline, days_text, make_window, run_detectors
    from caro_core.dashboard import Panel

    window = make_window(request.node, request.start, request.end, now=request.now)
    anomalies, failures = run_detectors(request.node, window)
    base = baseline(request.node, window)
    rows = [f'<tr><td><span class="badge {BADGES[a.level]}">{a.severity} · '
            f'{escape(a.level.title())}</span></td><td>{escape(a.kind)}</td>'
            f'<td>{escape(a.description)}</td>'
            f'<td class="time">{escape(when(a, request.period))}</td></tr>' for a in anomalies]
    if rows:
        html = ('<table class="commands"><thead><tr><th>Severity</th><th>Type</th>'
                f'<th>What</th><th>When</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    else:
        html = '<p class="muted">No anomalies in this period.</p>'
    if base.ready:
        html += (f'<p class="muted">Compared with {escape(days_text(base.days))} of this '
                 f'node\'s own activity ({base.events} commands); nothing here leaves the node '
                 'unless a mesh query is allowed to ask.</p>')
    else:
        html += (f'<p class="muted">Still learning this node\'s habits: {base.events} commands '
                 f'over {base.days:.1f} days so far. Only bursts of risky commands are '
                 'reported until the baseline is longer.</p>')
    html += "".join(f'<p class="error">Detector {escape(name)} failed: {escape(message)}</p>'
                    for name, message in failures)
    data = {"anomalies": [a.to_json() for a in anomalies],
            "baseline": {"days": round(base.days, 2), "events": base.events, "ready": base.ready},
            "failures": [{"plugin": name, "error": message} for name, message in failures]}
    return [Panel("anomalies", "Anomalies", order=35, html=html, data=data)]
