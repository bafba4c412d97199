"""Aggregates over the events table: the numbers summaries and the dashboard are made of.

Every function reads the half-open epoch range ``[start, end)`` and returns
plain counts, rates and durations, never a command, path or argument.  They
read the roll-ups that triggers keep beside the events (:mod:`caro_core.rollup`:
per quarter hour; per day, category and risk; per day and pattern) for the
whole buckets of the range and the events themselves only for the partial
buckets at its edges, so a month of a busy node costs a few milliseconds and
every answer equals the one computed from the events alone.

A rate or average with nothing to compute it from (no recorded exit code, no
recorded duration: imported shell history has neither) is ``None``, not 0.

Time-of-day buckets take ``tz="utc"`` or ``tz="local"`` (the process's time
zone).  Local buckets are right across daylight-saving changes: the range is
cut where the UTC offset changes and each piece is bucketed with its own
offset (see :func:`offset_segments`).  Every zone's offset is a whole number of
quarter hours, so local hours are whole quarters of the roll-up in any zone.
"""

import datetime as dt
import math
import time

from . import rollup
from .risk import RiskLevel

_DAY_S = 86400
#: Local offsets are sampled this often; a zone never changes its offset twice within it.
_OFFSET_STEP_S = _DAY_S


def _rate(failures, known):
    return failures / known if known else None


def _average(total, count):
    return int(round(total / count)) if count else None


def category_stats(store, start, end, collapse_other=False):
    """Per category: ``{"category", "count", "avg_duration_ms", "failure_rate"}``.

    Sorted by count (highest first), then by name.  A failure is an exit code
    other than 0; the rate counts only events with a known exit code and the
    average only events with a known duration (each None when there are none).

    :param collapse_other: count every ``other:<program>`` category as
        ``other``.  Summaries do: an unknown program's name may be a private
        script's (``other:deploy-acme.sh``), and a file name must not leave the node.
    """
    by_name = {}
    for (category,), sums in rollup.sums_by(store, start, end, ("category",)).items():
        if collapse_other and category.startswith("other:"):
            category = "other"
        by_name[category] = rollup.plus(by_name.get(category, rollup.ZERO), sums)
    stats = [{"category": category, "count": s.events,
              "avg_duration_ms": _average(s.duration_sum, s.duration_count),
              "failure_rate": _rate(s.failures, s.known_exit)}
             for category, s in by_name.items()]
    stats.sort(key=lambda s: (-s["count"], s["category"]))
    return stats


def safety_counts(store, start, end):
    """In one pass: ``by_risk`` (as :func:`risk_counts`), ``caro_generated`` and
    ``user_confirmed_risky`` (as :func:`totals`)."""
    by_risk = rollup.sums_by(store, start, end, ("risk",))
    return {"by_risk": {level.label: by_risk.get((int(level),), rollup.ZERO).events
                        for level in RiskLevel},
            "caro_generated": sum(s.caro_generated for s in by_risk.values()),
            "user_confirmed_risky": sum(s.confirmed_risky for s in by_risk.values())}


def risk_counts(store, start, end):
    """Events per risk level: ``{"safe": n, "moderate": n, "high": n, "critical": n}``."""
    return safety_counts(store, start, end)["by_risk"]


def totals(store, start, end):
    """``total``, ``failures``, ``avg_duration_ms`` (None without durations), ``caro_generated``,
    ``user_confirmed_risky`` (confirmed by the user and moderate or worse) and ``elevated``."""
    s = rollup.total(store, start, end)
    return {"total": s.events, "failures": s.failures,
            "avg_duration_ms": _average(s.duration_sum, s.duration_count),
            "caro_generated": s.caro_generated, "user_confirmed_risky": s.confirmed_risky,
            "elevated": s.elevated}


def unique_patterns(store, start, end):
    """How many distinct command shapes (``git commit``, ``ls``) ran; empty or NULL ones don't."""
    return rollup.unique_patterns(store, start, end)


def failure_trend(store, start, end, buckets):
    """The range cut into ``buckets`` equal slices, oldest first:
    ``{"start": epoch, "total", "failures", "rate"}`` (rate None without known exit codes)."""
    width = (end - start) / buckets
    slices = []
    for index in range(buckets):
        low = start + index * width
        slices.append((low, end if index == buckets - 1 else low + width))
    return [{"start": low, "total": s.events, "failures": s.failures,
             "rate": _rate(s.failures, s.known_exit)}
            for (low, _), s in zip(slices, rollup.series(store, slices))]


def utc_offset(timestamp, tz):
    """Seconds east of UTC at ``timestamp`` in ``tz`` (``"utc"`` or ``"local"``)."""
    if tz == "utc":
        return 0
    if tz == "local":
        return time.localtime(timestamp).tm_gmtoff
    raise ValueError(f"unknown time zone {tz!r} (use 'local' or 'utc')")


def offset_segments(start, end, tz):
    """``[(seg_start, seg_end, offset)]`` covering ``[start, end)``, one per constant UTC offset.

    The offset is sampled once a day; where two samples differ, the second of
    the change (zones change on whole seconds) is found by bisection.
    """
    segments = []
    seg_start, offset = start, utc_offset(start, tz)
    probe = start
    while probe < end:
        step_end = min(probe + _OFFSET_STEP_S, end)
        if utc_offset(step_end, tz) != offset:
            low, high = math.floor(probe), math.ceil(step_end)  # old offset at low, new at high
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if utc_offset(middle, tz) == offset else (low, middle)
            if high < end:
                segments.append((seg_start, high, offset))
                seg_start, offset = high, utc_offset(high, tz)
        probe = step_end
    segments.append((seg_start, end, offset))
    return segments


def _local_hour_counts(store, start, end, tz):
    """``{absolute local hour: count}``: hour ``h`` starts at local wall time ``h * 3600``
    seconds after 1970-01-01 00:00, so ``h % 24`` is its hour of day and ``h // 24`` its day."""
    pieces = []
    for seg_start, seg_end, offset in offset_segments(start, end, tz):
        hour, low = math.floor((seg_start + offset) / 3600), seg_start
        while low < seg_end:
            high = min((hour + 1) * 3600 - offset, seg_end)
            pieces.append((hour, low, high))
            hour, low = hour + 1, high
    counts = {}
    for (hour, _, _), sums in zip(pieces, rollup.series(store, [p[1:] for p in pieces])):
        if sums.events:
            counts[hour] = counts.get(hour, 0) + sums.events
    return counts


def _weekday(absolute_hour):
    return (absolute_hour // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def hourly_activity(store, start, end, tz="local"):
    """24 counts: events per hour of day (0 = midnight to 1 am) in ``tz``."""
    hours = [0] * 24
    for hour, count in _local_hour_counts(store, start, end, tz).items():
        hours[hour % 24] += count
    return hours


def daily_activity(store, start, end, tz="local"):
    """7 counts: events per day of the week in ``tz``, Monday first."""
    days = [0] * 7
    for hour, count in _local_hour_counts(store, start, end, tz).items():
        days[_weekday(hour)] += count
    return days


def activity_matrix(store, start, end, tz="local"):
    """7 lists of 24 counts: events per weekday (Monday first) and hour of day in ``tz``."""
    matrix = [[0] * 24 for _ in range(7)]
    for hour, count in _local_hour_counts(store, start, end, tz).items():
        matrix[_weekday(hour)][hour % 24] += count
    return matrix


def blocked_count(node, start, end):
    """How many ``CommandBlocked`` audit entries (a suggestion Caro refused) fall in the range."""
    count = 0
    for entry in node.audit.entries():
        if entry.get("event_type") == "CommandBlocked":
            stamp = dt.datetime.fromisoformat(entry["timestamp"]).timestamp()
            count += start <= stamp < end
    return count
