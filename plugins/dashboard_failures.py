"""Personal view: the failure rate (non-zero exit codes) over the period, hour by hour or day by day."""

import datetime as dt

from caro_core import hookimpl

#: period → (buckets, strftime of a bucket's label)
BUCKETS = {"today": (24, "%H:00"), "week": (7, "%a"), "month": (30, "%b %d")}


@hookimpl
def caro_dashboard_panels(view, request):
    if view != "personal":
        return []
    from caro_core.aggregates import failure_trend
    from caro_core.dashboard import Panel
    from caro_core.events import iso
    from caro_core.svg import line_chart

    buckets, label_format = BUCKETS[request.period]
    trend = failure_trend(request.store, request.start, request.end, buckets)
    labels = [dt.datetime.fromtimestamp(b["start"]).strftime(label_format) for b in trend]
    rates = [b["rate"] for b in trend]
    total = sum(b["total"] for b in trend)
    failures = sum(b["failures"] for b in trend)

    def describe(index, rate):
        b = trend[index]
        return f"{labels[index]}: {rate:.0%} failed ({b['failures']} of {b['total']})"

    if any(rate is not None for rate in rates):
        peak = max(rate for rate in rates if rate is not None)
        html = line_chart(rates, labels, "Failure rate", describe, y_max=max(peak, 0.05),
                          y_label=lambda value: f"{value:.0%}")
        html += f'<p class="muted">{failures} of {total} commands failed in this period.</p>'
    else:
        html = '<p class="muted">No commands with a known exit code in this period.</p>'
    data = {"buckets": [{"start": iso(b["start"]), "total": b["total"], "failures": b["failures"],
                         "rate": b["rate"]} for b in trend]}
    return [Panel("failures", "Failure rate trend", order=50, html=html, data=data)]
