"""Personal view: the period's activity in numbers (commands, Caro-generated, risky, blocked, duration)."""

from caro_core import hookimpl


def duration_text(ms):
    """``"340 ms"``, ``"1.2 s"``, ``"3.5 min"``, or ``"—"`` when unknown."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core import aggregates
    from caro_core.dashboard import Panel, facts

    span = (request.store, request.start, request.end)
    totals = aggregates.totals(*span)
    risks = aggregates.risk_counts(*span)
    data = {
        "commands": totals["total"],
        "caro_generated": totals["caro_generated"],
        "risky": risks["high"] + risks["critical"],
        "blocked": aggregates.blocked_count(request.node, request.start, request.end),
        "failures": totals["failures"],
        "elevated": totals["elevated"],
        "user_confirmed_risky": totals["user_confirmed_risky"],
        "average_duration_ms": totals["avg_duration_ms"],
        "unique_patterns": aggregates.unique_patterns(*span),
    }
    html = facts([
        ("Commands", data["commands"]),
        ("Caro-generated", data["caro_generated"]),
        ("Risky (high or critical)", data["risky"]),
        ("Blocked by Caro", data["blocked"]),
        ("Failed", data["failures"]),
        ("With sudo or as root", data["elevated"]),
        ("Distinct command patterns", data["unique_patterns"]),
        ("Average duration", duration_text(data["average_duration_ms"])),
    ])
    return [Panel("activity", f"Activity · {request.period_label}", order=10, html=html, data=data)]
