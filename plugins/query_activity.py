"""Query type ``activity`` (the plan's ActivityPatterns, FR-605): when commands run.

A node's rows are the cells of its UTC week: ``weekday`` (0 = Monday … 6) and ``hour``
(0 … 23, UTC, so nodes in different time zones add up hour by hour, as their summaries do);
filters on both select cells.

Answer at Level 2 (each cell's count noised when ``[sharing] epsilon`` is set, the sums derived
from the noised cells)::

    {"hourly": [24 counts], "daily": [7 counts], "total": 311}

Level 1 adds ``unique_patterns``, how many distinct command shapes the node ran (never the
shapes).  The merge adds the counts and derives the plan's ``hourly_pattern`` and
``daily_pattern`` (each count divided by the largest, 0.0 … 1.0), ``peak_hours`` (the three
busiest UTC hours, busiest first) and ``active_nodes`` (nodes with at least one command).
"""

from caro_core import hookimpl

TYPE = "activity"
FIELDS = ("weekday", "hour")


@hookimpl
def caro_query_types():
    return [TYPE]


@hookimpl
def caro_query_answer(node, query, level):
    if query.query_type != TYPE:
        return None
    from caro_core import aggregates

    query.check_fields(FIELDS)
    noised = query.noise(node, level)
    matrix = aggregates.activity_matrix(node.store, query.since, query.until, tz="utc")
    hourly, daily = [0] * 24, [0] * 7
    for weekday, hours in enumerate(matrix):
        for hour, count in enumerate(hours):
            if query.keep({"weekday": weekday, "hour": hour}):
                count = noised(f"cell:{weekday}:{hour}", count)
                hourly[hour] += count
                daily[weekday] += count
    data = {"hourly": hourly, "daily": daily, "total": sum(hourly)}
    if level == 1:
        data["unique_patterns"] = aggregates.unique_patterns(node.store, query.since, query.until)
    return data


def _scaled(counts):
    top = max(counts, default=0)
    return [round(c / top, 4) if top else 0.0 for c in counts]


@hookimpl
def caro_query_merge(query_type, answers):
    if query_type != TYPE:
        return None
    hourly = [sum(d["hourly"][h] for _, d in answers) for h in range(24)]
    daily = [sum(d["daily"][w] for _, d in answers) for w in range(7)]
    busiest = sorted((h for h in range(24) if hourly[h]), key=lambda h: (-hourly[h], h))[:3]
    return {"hourly": hourly, "daily": daily, "total": sum(hourly),
            "hourly_pattern": _scaled(hourly), "daily_pattern": _scaled(daily),
            "peak_hours": busiest, "active_nodes": sum(1 for _, d in answers if d["total"])}
