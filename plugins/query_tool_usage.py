"""Query type ``tool-usage`` (the plan's ToolUsage, FR-605): commands per category.

A node's rows are its events of the range grouped by category and risk; filters on
``category`` (``other:<program>`` counts as ``other``) and ``risk`` (``safe`` … ``critical``)
select rows, ``count`` then selects categories by their total.

Answer at Level 2 (numbers fit to be summed; counts noised when ``[sharing] epsilon`` is set)::

    {"total_commands": 120, "by_category": {"git": {"count": 45, "avg_duration_ms": 80,
                                                    "failure_rate": 0.04}, …}}

Level 1 adds ``patterns``: the node's 20 most used command shapes with their counts
(``{"git commit": 12}``), named as :func:`caro_core.anomaly.shape_label` allows — a program
and maybe its subcommand word, never an argument or path.  The merge adds the counts, counts
the nodes per category (``node_count``), weighs averages and rates by count, and adds up the
patterns of the Level-1 answers.
"""

from caro_core import hookimpl

TYPE = "tool-usage"
FIELDS = ("category", "risk", "count")
TOP_PATTERNS = 20


@hookimpl
def caro_query_types():
    return [TYPE]


def _rows(node, query):
    """``{category: Sums}`` of the rows the filters select."""
    from caro_core import rollup
    from caro_core.anomaly import category_label
    from caro_core.risk import RiskLevel

    selected = {}
    for (category, risk), sums in rollup.sums_by(node.store, query.since, query.until,
                                                 ("category", "risk")).items():
        category = category_label(category)
        if query.keep({"category": category, "risk": RiskLevel(risk).label}):
            selected[category] = rollup.Sums(*map(sum, zip(selected.get(category, rollup.ZERO),
                                                           sums)))
    return selected


def _patterns(node, query):
    """The most used command shapes of the selected rows: ``{shape: count}``."""
    from caro_core.anomaly import category_label, shape_label
    from caro_core.risk import RiskLevel

    counts = {}
    for pattern, category, risk, count in node.store.query(
            "SELECT pattern, category, risk, count(*) FROM events WHERE timestamp >= ? AND "
            "timestamp < ? AND pattern != '' GROUP BY pattern, category, risk",
            (query.since, query.until)):
        if query.keep({"category": category_label(category), "risk": RiskLevel(risk).label}):
            shape = shape_label(node, pattern)
            counts[shape] = counts.get(shape, 0) + count
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_PATTERNS]
    return dict(top)


@hookimpl
def caro_query_answer(node, query, level):
    if query.query_type != TYPE:
        return None
    query.check_fields(FIELDS)
    noised = query.noise(node, level)
    by_category = {}
    for category, s in _rows(node, query).items():
        count = noised(f"count:{category}", s.events)
        if not count or not query.keep({"count": count}):
            continue
        by_category[category] = {
            "count": count,
            "avg_duration_ms": round(s.duration_sum / s.duration_count) if s.duration_count
            else None,
            "failure_rate": s.failures / s.known_exit if s.known_exit else None}
    data = {"total_commands": sum(c["count"] for c in by_category.values()),
            "by_category": by_category}
    if level == 1:
        data["patterns"] = _patterns(node, query)
    return data


def _weighted(items, key):
    """The count-weighted mean of ``key`` over the answers that have it (None if none do)."""
    known = [(c[key], c["count"]) for c in items if c.get(key) is not None]
    weight = sum(count for _, count in known)
    return sum(value * count for value, count in known) / weight if weight else None


@hookimpl
def caro_query_merge(query_type, answers):
    if query_type != TYPE:
        return None
    per_category, patterns = {}, {}
    for _, data in answers:
        for category, stats in data.get("by_category", {}).items():
            per_category.setdefault(category, []).append(stats)
        for shape, count in data.get("patterns", {}).items():
            patterns[shape] = patterns.get(shape, 0) + count
    by_category = {}
    for category, items in per_category.items():
        avg = _weighted(items, "avg_duration_ms")
        by_category[category] = {"count": sum(c["count"] for c in items),
                                 "node_count": len(items),
                                 "avg_duration_ms": None if avg is None else round(avg),
                                 "failure_rate": _weighted(items, "failure_rate")}
    by_category = dict(sorted(by_category.items(), key=lambda item: (-item[1]["count"], item[0])))
    merged = {"total_commands": sum(c["count"] for c in by_category.values()),
              "by_category": by_category}
    if patterns:
        merged["patterns"] = dict(sorted(patterns.items(), key=lambda item: (-item[1], item[0])))
    return merged
