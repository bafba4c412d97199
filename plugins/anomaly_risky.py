"""RepeatedRisky: high and critical commands in quick succession, beyond this node's habit.

High and critical commands are chained while each follows the previous one
within ``risky_burst_minutes``; a chain is a *burst*.  A burst of the period is
reported when it holds ``risky_burst_count`` or more commands and, once the
baseline is ready, more than the largest burst of the baseline (bursts holding
a critical command are compared with the baseline's bursts holding one): a node
whose owner force-pushes five times in a row every day is not alarmed by
another five.  The description names the burst's shapes (``rm ×4, chmod ×2``).

Severity 5, +2 when it holds a critical command, +1 from twice the size it had
to reach, +1 from four times.

Bursts are found in SQL (window functions over the index ``events(risk,
timestamp)``, which this detector adds), so only the high and critical events
of a range are read; the largest bursts of each whole day of the baseline are
kept in :data:`caro_core.anomaly.DAYS` (a burst across midnight counts as two
there).
"""

import collections

from caro_core import hookimpl
from caro_core.config import Setting


@hookimpl
def caro_config_schema():
    """Declare this detector's keys of the shared ``[anomaly]`` section."""
    return {"anomaly": {
        "risky_burst_count": Setting(int, 3, "fewest high or critical commands that make a burst"),
        "risky_burst_minutes": Setting(int, 10, "longest gap, in minutes, between two commands "
                                                "of one burst"),
    }}


@hookimpl
def caro_store_migrations():
    """The index ``events(risk, timestamp)``."""
    from caro_core.store import Migration

    return [Migration("anomaly_risky.001-risk-index",
                      "CREATE INDEX IF NOT EXISTS events_risk ON events(risk, timestamp)")]


#: the bursts of a range: each high or critical event starts a new burst when it follows the
#: previous one by more than the gap (parameters: gap, risk levels, start, end)
BURSTS = """
    SELECT count(*), min(timestamp), max(timestamp), max(risk) FROM (
        SELECT timestamp, risk, sum(new) OVER (ORDER BY timestamp ROWS UNBOUNDED PRECEDING) AS burst
        FROM (SELECT timestamp, risk,
                     coalesce(timestamp - lag(timestamp) OVER (ORDER BY timestamp) > ?, 1) AS new
              FROM events WHERE risk IN (?, ?) AND timestamp >= ? AND timestamp < ?))
    GROUP BY burst"""


def bursts(store, start, end, gap):
    """``(size, first, last, critical)`` of every burst in ``[start, end)``, found in SQL."""
    from caro_core.risk import RiskLevel

    rows = store.query(BURSTS, (gap, int(RiskLevel.HIGH), int(RiskLevel.CRITICAL), start, end))
    return [(size, first, last, risk == RiskLevel.CRITICAL) for size, first, last, risk in rows]


def largest_bursts(store, start, end, gap):
    """``[high_only, with_critical]``: the sizes of the largest bursts in ``[start, end)``
    without and with a critical command."""
    largest = [0, 0]
    for size, _, _, critical in bursts(store, start, end, gap):
        largest[critical] = max(largest[critical], size)
    return largest


def burst_patterns(store, first, last):
    """``{pattern: count}`` of the high and critical events of the burst ``[first, last]``."""
    from caro_core.risk import RiskLevel

    return dict(store.query(
        "SELECT coalesce(pattern, ''), count(*) FROM events WHERE risk IN (?, ?) "
        "AND timestamp >= ? AND timestamp <= ? GROUP BY 1",
        (int(RiskLevel.HIGH), int(RiskLevel.CRITICAL), first, last)))


@hookimpl
def caro_anomaly_detect(node, window):
    from caro_core.anomaly import (DAYS, Anomaly, baseline, plural, settings, severity,
                                   shape_label)

    config = settings(node)
    minimum = config.get("risky_burst_count", 3)
    gap = config.get("risky_burst_minutes", 10) * 60
    found = [b for b in bursts(node.store, window.since, window.until, gap) if b[0] >= minimum]
    if not found:
        return []
    base = baseline(node, window)
    largest = [0, 0]  # by whether the burst holds a critical command
    if base.ready:
        def compute(store, low, high):
            return largest_bursts(store, low, high, gap)

        for _, sizes in DAYS.per_day(node.store, base.start, window.since, ("bursts", gap),
                                     compute):
            largest = [max(pair) for pair in zip(largest, sizes)]
    anomalies = []
    for size, first, last, critical in found:
        bar = max(minimum, largest[critical] + 1)
        if size < bar:
            continue
        labels = collections.Counter()
        for pattern, count in burst_patterns(node.store, first, last).items():
            labels[shape_label(node, pattern) if pattern else "other"] += count
        minutes = max(1, round((last - first) / 60))
        top = ", ".join(f"{label} ×{n}" for label, n in labels.most_common(3))
        more = " …" if len(labels) > 3 else ""
        score = 5 + 2 * critical + (size >= 2 * bar) + (size >= 4 * bar)
        kinds = "high or critical" if critical else "high"
        anomalies.append(Anomaly("RepeatedRisky", severity(score),
                                 f"{plural(size, kinds + '-risk command')} within "
                                 f"{plural(minutes, 'minute')} ({top}{more})",
                                 size, first, last))
    return anomalies
