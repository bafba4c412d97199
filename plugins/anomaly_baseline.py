"""BaselineDeviation: command volume or category mix far from this node's baseline.

Declares the ``[anomaly]`` keys every detector shares: how long the baseline is
and how many events it needs before anything is compared with it.

* Volume: the baseline predicts the period's command count hour of day by hour
  of day (:func:`caro_core.anomaly.expected_by_hour`).  The spread allows for
  chance (Poisson) and for the node's own day-to-day swings (the coefficient of
  variation of its daily totals, shrinking over a period of several days).  A
  count of at least 50, twice the prediction and ``deviation_z`` spreads above it
  is reported.  Severity 2, +1 from three times the prediction, +1 from five,
  +1 from ten.  Fewer commands than usual is not an anomaly.
* Category mix: a category (``other:<program>`` as ``other``) with 10 or more
  commands, at least three times its baseline share of the period, 15 points
  more of it, and ``deviation_z`` Poisson spreads above the expected count.
  Severity 3, +1 for 30 points more, +1 when the baseline never used it.
"""

import math

from caro_core import hookimpl
from caro_core.anomaly import BASELINE_DAYS, MIN_BASELINE_EVENTS
from caro_core.config import Setting

MIN_VOLUME = 50
MIN_CATEGORY = 10


@hookimpl
def caro_config_schema():
    """Declare the shared ``[anomaly]`` keys and this detector's own."""
    return {"anomaly": {
        "baseline_days": Setting(int, BASELINE_DAYS, "days of history before the examined "
                                                     "period that anomalies are judged against"),
        "min_baseline_events": Setting(int, MIN_BASELINE_EVENTS,
                                       "fewest events in the baseline before detectors compare "
                                       "with it"),
        "deviation_z": Setting(float, 4.0, "how many spreads above the baseline a volume or "
                                           "category share must be"),
    }}


def volume(node, window, base, limit):
    """The volume anomaly, or None."""
    import statistics  # decimal, fractions, random: only when detecting

    from caro_core.anomaly import (Anomaly, daily_totals, days_text, expected_by_hour,
                                   hourly_profile, plural, severity, shapes)

    observed = sum(hourly_profile(node, window)[0])
    expected = sum(expected_by_hour(node, window))
    totals = daily_totals(node, window)
    mean = statistics.fmean(totals) if totals else 0
    swing = statistics.pstdev(totals) / mean if mean else 0
    spread = math.sqrt(expected + (swing * expected) ** 2 / max(1.0, window.days))
    if observed < MIN_VOLUME or observed < 2 * expected or not spread or \
            (observed - expected) / spread < limit:
        return None
    ratio = observed / expected if expected else math.inf
    score = 2 + (ratio >= 3) + (ratio >= 5) + (ratio >= 10)
    usual = f"{ratio:.1f} times the usual {expected:.0f}" if expected else "where usually none run"
    recent = shapes(node, window)[0].values()
    return Anomaly("BaselineDeviation", severity(score),
                   f"{plural(observed, 'command')}, {usual} for these hours "
                   f"(baseline: {days_text(base.days)})", observed,
                   min(c.first for c in recent), max(c.last for c in recent))


def category_mix(node, window, base, limit):
    """The category share anomalies."""
    from caro_core.anomaly import Anomaly, Counts, category_label, days_text, severity, shapes

    recent, before = shapes(node, window)
    now, then = {}, {}
    for source, target in ((recent, now), (before, then)):
        for (category, _, _), counts in source.items():
            target.setdefault(category_label(category), Counts()).add(counts)
    total_now = sum(c.events for c in now.values())
    total_then = sum(c.events for c in then.values())
    known = len(set(now) | set(then))
    found = []
    for category, counts in sorted(now.items()):
        usual_count = then[category].events if category in then else 0
        usual = (usual_count + 1) / (total_then + known)
        share = counts.events / total_now
        expected = usual * total_now
        if counts.events < MIN_CATEGORY or share < 3 * usual or share < usual + 0.15 or \
                (counts.events - expected) / math.sqrt(expected) < limit:
            continue
        score = 3 + (share >= usual + 0.3) + (usual_count == 0)
        history = ("never used in " if usual_count == 0 else
                   f"usually {usual_count / total_then:.0%} over ") + days_text(base.days)
        found.append(Anomaly("BaselineDeviation", severity(score),
                             f"{category} made up {share:.0%} of commands ({counts.events} of "
                             f"{total_now}); {history}", counts.events, counts.first, counts.last))
    return found


@hookimpl
def caro_anomaly_detect(node, window):
    from caro_core.anomaly import baseline, settings

    base = baseline(node, window)
    if not base.ready:
        return []
    limit = settings(node).get("deviation_z", 4.0)
    found = category_mix(node, window, base, limit)
    spike = volume(node, window, base, limit)
    return found + ([spike] if spike else [])
