"""Summary field ``safety_stats`` (FR-502 safety stats): commands per risk level, suggestions
Caro blocked, risky commands the user confirmed, and Caro-generated commands.

Until the copilot records the commands it suggests, ``caro_generated`` and
``caro_executed`` are the same number: the executed events marked as generated
by Caro.
"""

from caro_core import hookimpl


@hookimpl
def caro_summary_fields(node, period):
    """``safety_stats``: ``by_risk`` (safe, moderate, high, critical), ``blocked_count``
    (``CommandBlocked`` audit entries), ``user_confirmed_risky`` (moderate or worse),
    ``caro_generated`` and ``caro_executed``."""
    from caro_core import aggregates

    counts = aggregates.safety_counts(node.store, period.start, period.end)
    return {"safety_stats": {
        "by_risk": counts["by_risk"],
        "blocked_count": aggregates.blocked_count(node, period.start, period.end),
        "user_confirmed_risky": counts["user_confirmed_risky"],
        "caro_generated": counts["caro_generated"],
        "caro_executed": counts["caro_generated"],
    }}
