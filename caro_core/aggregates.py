"""Aggregates over the events table: the numbers summaries and the dashboard are made of.

Every function reads the half-open epoch range ``[start, end)`` and returns
plain counts, rates and durations, never a command, path or argument.  The
work happens in SQL over the ``events(timestamp)`` index, without sorting
where it can be avoided: a day of 100k events takes tens of milliseconds.

A rate or average with nothing to compute it from (no recorded exit code, no
recorded duration: imported shell history has neither) is ``None``, not 0.

Time-of-day buckets take ``tz="utc"`` or ``tz="local"`` (the process's time
zone).  Local buckets are right across daylight-saving changes: the range is
cut where the UTC offset changes and each piece is bucketed in SQL with its
own offset (see :func:`offset_segments`).
"""

import datetime as dt
import math
import time

from .risk import RiskLevel

_RANGE = "timestamp >= ? AND timestamp < ?"
_DAY_S = 86400
#: Local offsets are sampled this often; a zone never changes its offset twice within it.
_OFFSET_STEP_S = _DAY_S


def _rate(failures, known):
    return failures / known if known else None


def _average(value):
    return None if value is None else int(round(value))


def category_stats(store, start, end, collapse_other=False):
    """Per category: ``{"category", "count", "avg_duration_ms", "failure_rate"}``.

    Sorted by count (highest first), then by name.  A failure is an exit code
    other than 0; the rate counts only events with a known exit code and the
    average only events with a known duration (each None when there are none).

    :param collapse_other: count every ``other:<program>`` category as
        ``other``.  Summaries do: an unknown program's name may be a private
        script's (``other:deploy-acme.sh``), and a file name must not leave the node.
    """
    name = ("CASE WHEN category GLOB 'other:*' THEN 'other' ELSE category END"
            if collapse_other else "category")
    rows = store.query(
        f"SELECT {name} AS name, count(*), avg(duration_ms), sum(exit_code != 0), "
        f"count(exit_code) FROM events WHERE {_RANGE} GROUP BY name", (start, end))
    stats = [{"category": category, "count": count, "avg_duration_ms": _average(avg),
              "failure_rate": _rate(failures or 0, known)}
             for category, count, avg, failures, known in rows]
    stats.sort(key=lambda s: (-s["count"], s["category"]))
    return stats


def safety_counts(store, start, end):
    """In one pass: ``by_risk`` (as :func:`risk_counts`), ``caro_generated`` and
    ``user_confirmed_risky`` (as :func:`totals`)."""
    levels = list(RiskLevel)
    sums = ", ".join(f"sum(risk = {int(level)})" for level in levels)
    *by_risk, generated, confirmed = store.query_one(
        f"SELECT {sums}, sum(caro_generated), "
        f"sum(user_confirmed AND risk >= {int(RiskLevel.MODERATE)}) FROM events WHERE {_RANGE}",
        (start, end))
    return {"by_risk": {level.label: count or 0 for level, count in zip(levels, by_risk)},
            "caro_generated": generated or 0, "user_confirmed_risky": confirmed or 0}


def risk_counts(store, start, end):
    """Events per risk level: ``{"safe": n, "moderate": n, "high": n, "critical": n}``."""
    return safety_counts(store, start, end)["by_risk"]


def totals(store, start, end):
    """``total``, ``failures``, ``avg_duration_ms`` (None without durations), ``caro_generated``,
    ``user_confirmed_risky`` (confirmed by the user and moderate or worse) and ``elevated``."""
    total, failures, avg, generated, confirmed, elevated = store.query_one(
        "SELECT count(*), sum(exit_code != 0), avg(duration_ms), sum(caro_generated), "
        f"sum(user_confirmed AND risk >= {int(RiskLevel.MODERATE)}), sum(elevated) "
        f"FROM events WHERE {_RANGE}", (start, end))
    return {"total": total, "failures": failures or 0, "avg_duration_ms": _average(avg),
            "caro_generated": generated or 0, "user_confirmed_risky": confirmed or 0,
            "elevated": elevated or 0}


def unique_patterns(store, start, end):
    """How many distinct command shapes (``git commit``, ``ls``) ran; empty or NULL ones don't."""
    (count,) = store.query_one(
        f"SELECT count(DISTINCT NULLIF(pattern, '')) FROM events WHERE {_RANGE}", (start, end))
    return count


def failure_trend(store, start, end, buckets):
    """The range cut into ``buckets`` equal slices, oldest first:
    ``{"start": epoch, "total", "failures", "rate"}`` (rate None without known exit codes)."""
    width = (end - start) / buckets
    trend = []
    for index in range(buckets):
        low = start + index * width
        high = end if index == buckets - 1 else low + width
        total, failures, known = store.query_one(
            f"SELECT count(*), sum(exit_code != 0), count(exit_code) FROM events WHERE {_RANGE}",
            (low, high))
        trend.append({"start": low, "total": total, "failures": failures or 0,
                      "rate": _rate(failures or 0, known)})
    return trend


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
    seconds after 1970-01-01 00:00, so ``h % 24`` is its hour of day and ``h // 24`` its day.

    One ``count(*)`` per hour reads only the timestamp index (no table rows, no
    sort): a few milliseconds for a day of 100k events, where one ``GROUP BY``
    over a computed hour costs several times more.
    """
    counts = {}
    for seg_start, seg_end, offset in offset_segments(start, end, tz):
        hour, low = math.floor((seg_start + offset) / 3600), seg_start
        while low < seg_end:
            high = min((hour + 1) * 3600 - offset, seg_end)
            (count,) = store.query_one(f"SELECT count(*) FROM events WHERE {_RANGE}", (low, high))
            if count:
                counts[hour] = counts.get(hour, 0) + count
            hour, low = hour + 1, high
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
