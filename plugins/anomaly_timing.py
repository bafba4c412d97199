"""UnusualTiming: activity at hours of the day this node is normally idle.

An hour of the day (local time) is *idle* when the baseline averages at most a
tenth of the node's average hourly activity in it (night hours for most
people).  An idle hour is reported when the period has ``timing_min_commands``
or more commands in it and at least three times what the baseline predicts
plus three; neighbouring hours (across midnight too) are reported together.

Severity 3, +1 from 20 commands, +1 from 100, +1 when the baseline has no
command at all in those hours, +2 when some of them were high or critical risk.
"""

from caro_core import hookimpl
from caro_core.config import Setting

#: an hour averaging at most this share of the node's mean hourly activity is idle
IDLE_SHARE = 0.1


@hookimpl
def caro_config_schema():
    """Declare this detector's key of the shared ``[anomaly]`` section."""
    return {"anomaly": {
        "timing_min_commands": Setting(int, 5, "fewest commands in normally idle hours "
                                               "before the activity is reported"),
    }}


def runs(hours):
    """Consecutive hours of day as lists (``[23, 0, 1]`` across midnight), earliest first."""
    groups = []
    for hour in sorted(hours):
        if groups and groups[-1][-1] == hour - 1:
            groups[-1].append(hour)
        else:
            groups.append([hour])
    if len(groups) > 1 and groups[0][0] == 0 and groups[-1][-1] == 23:
        groups[0] = groups.pop() + groups[0]
    return groups


@hookimpl
def caro_anomaly_detect(node, window):
    from caro_core.anomaly import (Anomaly, baseline, days_text, expected_by_hour,
                                   hourly_profile, local_hours, plural, settings, severity)
    from caro_core.risk import RiskLevel

    base = baseline(node, window)
    if not base.ready:
        return []
    minimum = settings(node).get("timing_min_commands", 5)
    recent, per_day = hourly_profile(node, window)
    expected = expected_by_hour(node, window)
    usual_hourly = sum(per_day) / 24
    flagged = [hour for hour in range(24)
               if per_day[hour] <= IDLE_SHARE * usual_hourly and recent[hour] >= minimum
               and recent[hour] >= 3 * expected[hour] + 3]
    found = []
    for group in runs(flagged):
        count, risky, first, last = 0, 0, None, None
        for hour, low, high in local_hours(window.since, window.until):
            if hour in group:
                n, r, lo, hi = node.store.query_one(
                    f"SELECT count(*), sum(risk >= {int(RiskLevel.HIGH)}), min(timestamp), "
                    "max(timestamp) FROM events WHERE timestamp >= ? AND timestamp < ?",
                    (low, high))
                if n:
                    count, risky = count + n, risky + (r or 0)
                    first = lo if first is None else min(first, lo)
                    last = hi if last is None else max(last, hi)
        usual = sum(per_day[hour] for hour in group)
        hours = f"{group[0]:02d}:00 and {(group[-1] + 1) % 24:02d}:00"
        history = ("no command in those hours" if usual == 0 else
                   f"about {usual:.1f} per day in those hours")
        text = (f"{plural(count, 'command')} between {hours}, when this node is normally idle "
                f"({history} over {days_text(base.days)})")
        if risky:
            text += f"; {risky} of them high or critical risk"
        score = 3 + (count >= 20) + (count >= 100) + (usual == 0) + 2 * (risky > 0)
        found.append(Anomaly("UnusualTiming", severity(score), text, count, first, last))
    return found
