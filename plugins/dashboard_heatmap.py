"""Personal view: when you work — commands per weekday and hour of day, in local time."""

from caro_core import hookimpl

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.aggregates import activity_matrix
    from caro_core.dashboard import Panel
    from caro_core.svg import heat_map

    matrix = activity_matrix(request.store, request.start, request.end, "local")
    hours = [f"{h:02d}" if h % 3 == 0 else "" for h in range(24)]

    def describe(day, hour, count):
        return f"{DAYS[day]} {hour:02d}:00–{hour + 1:02d}:00: {count} command{'s' * (count != 1)}"

    html = heat_map(matrix, DAYS, hours, "Commands per weekday and hour (local time)", describe)
    return [Panel("heatmap", "Activity by weekday and hour", order=40, html=html,
                  data={"tz": "local", "days": list(DAYS), "matrix": matrix})]
