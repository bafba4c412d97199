"""Personal view: commands per category as a bar chart (the largest eight, then the rest)."""

from caro_core import hookimpl

SHOWN = 8


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.aggregates import category_stats
    from caro_core.dashboard import Panel
    from caro_core.svg import bar_chart

    stats = category_stats(request.store, request.start, request.end)
    rows = [(s["category"], s["count"], "", str(s["count"])) for s in stats[:SHOWN]]
    rest = sum(s["count"] for s in stats[SHOWN:])
    if rest:
        rows.append((f"{len(stats) - SHOWN} more", rest, "", str(rest)))
    html = (bar_chart(rows, "Commands per category") if rows
            else '<p class="muted">No commands in this period.</p>')
    return [Panel("categories", "Command categories", order=20, html=html,
                  data={"categories": stats})]
