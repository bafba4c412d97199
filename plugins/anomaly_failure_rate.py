"""HighFailureRate: far more commands failing (non-zero exit code) than this node is used to.

Per category (``other:<program>`` counted as ``other``) the period's failure rate
is set against the baseline's.  The baseline rate of a category is shrunk towards
the node's overall rate (as if it had ``PRIOR_WEIGHT`` more commands failing at
that rate), so a category with little history is not judged on a handful of
commands.  A category is reported when, among ``failure_min_commands`` or more
commands with a known exit code,

* the rate is at least twice the baseline rate and 25 points above it, and
* the excess is unlikely by chance: binomial z-score of 3 or more.

When no single category stands out, all commands together are tested the same
way.  Severity 3, +1 from a 50% rate, +1 from 80%, +1 for z >= 6, +1 for 50
commands or more.
"""

import math

from caro_core import hookimpl
from caro_core.config import Setting

PRIOR_WEIGHT = 10
MIN_Z = 3.0


@hookimpl
def caro_config_schema():
    """Declare this detector's key of the shared ``[anomaly]`` section."""
    return {"anomaly": {
        "failure_min_commands": Setting(int, 10, "fewest commands with a known exit code in a "
                                                 "category before its failure rate is judged"),
    }}


def excess(failures, known, usual):
    """``(rate, z)`` of ``failures`` out of ``known`` against the usual rate ``usual``."""
    rate = failures / known
    spread = math.sqrt(known * usual * (1 - usual))
    return rate, (failures - known * usual) / spread if spread else math.inf


@hookimpl
def caro_anomaly_detect(node, window):
    from caro_core.anomaly import (Anomaly, Counts, baseline, category_label, days_text,
                                   settings, severity, shapes)

    base = baseline(node, window)
    if not base.ready:
        return []
    minimum = settings(node).get("failure_min_commands", 10)
    recent, before = shapes(node, window)
    now, then, overall_now, overall_then = {}, {}, Counts(), Counts()
    for source, target, overall in ((recent, now, overall_now), (before, then, overall_then)):
        for (category, _, _), counts in source.items():
            target.setdefault(category_label(category), Counts()).add(counts)
            overall.add(counts)
    if not overall_then.known:
        return []
    prior = (overall_then.failures + 1) / (overall_then.known + 2)

    def judge(name, counts, usual_counts):
        if counts.known < minimum:
            return None
        usual = (usual_counts.failures + PRIOR_WEIGHT * prior) / (usual_counts.known + PRIOR_WEIGHT)
        rate, z = excess(counts.failures, counts.known, usual)
        if rate < 2 * usual or rate < usual + 0.25 or z < MIN_Z:
            return None
        score = 3 + (rate >= 0.5) + (rate >= 0.8) + (z >= 6) + (counts.known >= 50)
        return Anomaly("HighFailureRate", severity(score),
                       f"{counts.failures} of {counts.known} {name} failed ({rate:.0%}); usually "
                       f"{usual:.0%} over {days_text(base.days)}",
                       counts.failures, counts.first, counts.last)

    found = [a for a in (judge(f"{category} commands", counts, then.get(category, Counts()))
                         for category, counts in sorted(now.items())) if a]
    if not found:
        found = [a for a in [judge("commands", overall_now, overall_then)] if a]
    return found
