"""Query type ``safety-posture`` (the plan's SafetyPosture, FR-605): how risky the commands were.

A node's rows are its events of the range grouped by category and risk; filters on
``category`` (``other:<program>`` counts as ``other``) and ``risk`` (``safe``, ``moderate``,
``high``, ``critical``) select them.

Answer at Level 2 (counts, noised when ``[sharing] epsilon`` is set)::

    {"by_risk": {"safe": 90, "moderate": 6, "high": 3, "critical": 1}, "total": 100,
     "confirmed_risky": 2, "blocked_count": 0}

``confirmed_risky`` counts moderate-or-worse commands the user confirmed; ``blocked_count``
the suggestions Caro refused (audit ``CommandBlocked``; not selectable by category or risk, so
it is left out when filters are given).  Level 1 adds ``risky_patterns``: the shapes of the
high and critical commands with their counts (no argument, no path).  The merge adds the
counts and derives ``risk_distribution`` (percent of all commands per level) and
``nodes_by_risk`` (how many nodes ran at least one command of each level).  Every recorded
command is assessed at ingest, so the plan's ``coverage`` is always complete and not sent.
"""

from caro_core import hookimpl

TYPE = "safety-posture"
FIELDS = ("category", "risk")
TOP_PATTERNS = 20


@hookimpl
def caro_query_types():
    return [TYPE]


def _risky_patterns(node, query):
    from caro_core.anomaly import category_label, shape_label
    from caro_core.risk import RiskLevel

    counts = {}
    for pattern, category, risk, count in node.store.query(
            "SELECT pattern, category, risk, count(*) FROM events WHERE timestamp >= ? AND "
            "timestamp < ? AND risk >= ? AND pattern != '' GROUP BY pattern, category, risk",
            (query.since, query.until, int(RiskLevel.HIGH))):
        if query.keep({"category": category_label(category), "risk": RiskLevel(risk).label}):
            shape = shape_label(node, pattern)
            counts[shape] = counts.get(shape, 0) + count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_PATTERNS])


@hookimpl
def caro_query_answer(node, query, level):
    if query.query_type != TYPE:
        return None
    from caro_core import aggregates, rollup
    from caro_core.anomaly import category_label
    from caro_core.risk import RiskLevel

    query.check_fields(FIELDS)
    noised = query.noise(node, level)
    by_risk = {r.label: 0 for r in RiskLevel}
    confirmed = 0
    for (category, risk), sums in rollup.sums_by(node.store, query.since, query.until,
                                                 ("category", "risk")).items():
        if query.keep({"category": category_label(category), "risk": RiskLevel(risk).label}):
            by_risk[RiskLevel(risk).label] += sums.events
            confirmed += sums.confirmed_risky
    by_risk = {label: noised(f"risk:{label}", count) for label, count in by_risk.items()}
    data = {"by_risk": by_risk, "total": sum(by_risk.values()),
            "confirmed_risky": noised("confirmed_risky", confirmed)}
    if not query.filters:
        data["blocked_count"] = noised("blocked", aggregates.blocked_count(node, query.since,
                                                                           query.until))
    if level == 1:
        data["risky_patterns"] = _risky_patterns(node, query)
    return data


@hookimpl
def caro_query_merge(query_type, answers):
    if query_type != TYPE:
        return None
    from caro_core.risk import RiskLevel

    labels = [r.label for r in RiskLevel]
    by_risk = {label: sum(d["by_risk"].get(label, 0) for _, d in answers) for label in labels}
    total = sum(by_risk.values())
    merged = {"by_risk": by_risk, "total": total,
              "risk_distribution": {label: round(100 * by_risk[label] / total, 2) if total
                                    else 0.0 for label in labels},
              "nodes_by_risk": {label: sum(1 for _, d in answers if d["by_risk"].get(label))
                                for label in labels},
              "confirmed_risky": sum(d.get("confirmed_risky", 0) for _, d in answers)}
    blocked = [d["blocked_count"] for _, d in answers if "blocked_count" in d]
    if blocked:
        merged["blocked_count"] = sum(blocked)
    patterns = {}
    for _, data in answers:
        for shape, count in data.get("risky_patterns", {}).items():
            patterns[shape] = patterns.get(shape, 0) + count
    if patterns:
        merged["risky_patterns"] = dict(sorted(patterns.items(),
                                               key=lambda item: (-item[1], item[0])))
    return merged
