"""Summary fields: when commands ran and how varied they were (FR-502 activity patterns).

Hours and weekdays are UTC, like the periods, so that summaries of nodes in
different time zones add up bucket by bucket.  ``unique_patterns`` counts
distinct command shapes (``git commit``); the shapes themselves never leave the node.
"""

from caro_core import hookimpl


@hookimpl
def caro_summary_fields(node, period):
    """``hourly_activity`` (24 UTC hours), ``daily_activity`` (7 UTC weekdays, Monday first),
    ``total_commands`` and ``unique_patterns``."""
    from caro_core import aggregates

    matrix = aggregates.activity_matrix(node.store, period.start, period.end, tz="utc")
    return {"hourly_activity": [sum(day[hour] for day in matrix) for hour in range(24)],
            "daily_activity": [sum(day) for day in matrix],
            "total_commands": sum(map(sum, matrix)),
            "unique_patterns": aggregates.unique_patterns(node.store, period.start, period.end)}
