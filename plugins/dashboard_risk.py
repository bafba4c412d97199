"""Personal view: how the period's commands spread over the risk levels."""

from caro_core import hookimpl


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.aggregates import risk_counts
    from caro_core.dashboard import Panel
    from caro_core.svg import bar_chart

    counts = risk_counts(request.store, request.start, request.end)
    total = sum(counts.values())
    shares = {level: (count / total if total else None) for level, count in counts.items()}
    rows = [(level.title(), count, f"risk-{level}",
             f"{count} ({shares[level]:.0%})" if total else "0")
            for level, count in counts.items()]
    html = bar_chart(rows, "Commands per risk level")
    if not total:
        html += '<p class="muted">No commands in this period.</p>'
    return [Panel("risk", "Risk distribution", order=30, html=html,
                  data={"counts": counts, "shares": shares, "total": total})]
