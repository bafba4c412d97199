"""UnusualPattern: command shapes run at a risk this node never or rarely reached with them.

For every shape (``rm``, ``curl | sh``; unrecognised programs show as ``other``)
and risk level of the period, the baseline is asked how often the same shape ran
at that risk or worse.  ``rm`` deleting single files every day is normal; a
critical ``rm`` (of the root filesystem) that never happened before is not.

* high or critical, seen at most ``pattern_rare_count`` times at that risk in the
  baseline: severity 6 (high) or 8 (critical), +1 when the shape itself is new,
  +1 when it ran 5 times or more;
* moderate, never at that risk before: severity 3, +1 when it ran 5 times or more;
* safe but entirely new and run 5 times or more: severity 2, +1 from 20 times.
"""

from caro_core import hookimpl
from caro_core.config import Setting

#: a new harmless shape is worth mentioning from this many runs
NEW_SAFE_MIN = 5


@hookimpl
def caro_config_schema():
    """Declare this detector's key of the shared ``[anomaly]`` section."""
    return {"anomaly": {
        "pattern_rare_count": Setting(int, 2, "a high or critical command shape seen at most this "
                                              "many times at that risk in the baseline is unusual"),
    }}


@hookimpl
def caro_anomaly_detect(node, window):
    from caro_core.anomaly import (Anomaly, Counts, baseline, days_text, plural, severity,
                                   settings, shape_labels, shapes)
    from caro_core.risk import RiskLevel

    base = baseline(node, window)
    if not base.ready:
        return []
    recent, before = shapes(node, window)
    labels = shape_labels(node, window)
    rare = settings(node).get("pattern_rare_count", 2)
    seen = {}  # label -> events at risk >= level, for each level
    for (_, pattern, risk), counts in before.items():
        if pattern:
            at_least = seen.setdefault(labels[pattern], [0] * 4)
            for level in range(risk + 1):
                at_least[level] += counts.events
    now = {}  # (label, risk) -> Counts
    for (_, pattern, risk), counts in recent.items():
        if pattern:
            now.setdefault((labels[pattern], risk), Counts()).add(counts)
    found = []
    for (label, risk), counts in sorted(now.items()):
        level = RiskLevel(risk)
        at_least = seen.get(label, [0] * 4)
        runs = plural(counts.events, "time")
        if level >= RiskLevel.HIGH and at_least[risk] <= rare:
            score = (8 if level == RiskLevel.CRITICAL else 6) + (at_least[0] == 0) + \
                (counts.events >= 5)
        elif level == RiskLevel.MODERATE and at_least[risk] == 0:
            score = 3 + (counts.events >= 5)
        elif level == RiskLevel.SAFE and at_least[0] == 0 and counts.events >= NEW_SAFE_MIN:
            score = 2 + (counts.events >= 20)
        else:
            continue
        if at_least[0] == 0:
            history = f"never seen in {days_text(base.days)}"
        elif at_least[risk] == 0:
            history = (f"seen {plural(at_least[0], 'time')} in {days_text(base.days)}, "
                       "never at that risk")
        else:
            history = (f"only {plural(at_least[risk], 'time')} at that risk in "
                       f"{days_text(base.days)}")
        found.append(Anomaly("UnusualPattern", severity(score),
                             f"'{label}' ran {runs} at {level.label} risk; {history}",
                             counts.events, counts.first, counts.last))
    return found
