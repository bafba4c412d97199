"""caro_core.aggregates: the counts, rates and time buckets summaries and the dashboard show,
checked against the same numbers computed naively in Python, across daylight-saving changes."""

import datetime as dt
import os
import random
import time

import pytest

from caro_core import aggregates
from caro_core.events import insert_events
from caro_core.ingest import classify


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def add(node, command, when, exit_code=0, duration_ms=10, caro_generated=False,
        user_confirmed=False, elevated=False):
    event = classify(node, command, timestamp=when, exit_code=exit_code, duration_ms=duration_ms,
                     cwd="/home/ann", shell="bash", session="bash-1-1", user="ann",
                     elevated=elevated, caro_generated=caro_generated)
    event.user_confirmed = user_confirmed
    insert_events(node.store, [event])
    return event


DAY = (utc(2026, 11, 2), utc(2026, 11, 3))


@pytest.fixture
def known(node):
    add(node, "git status", utc(2026, 11, 2, 9), 0, 100)
    add(node, "git push --force origin main", utc(2026, 11, 2, 9, 30), 1, 301,
        caro_generated=True, user_confirmed=True)
    # confirmed, but safe: not counted as confirmed risky
    add(node, "git status", utc(2026, 11, 2, 11), None, None, user_confirmed=True)
    add(node, "ls -la", utc(2026, 11, 2, 12), 0, None)
    add(node, "sudo systemctl restart nginx", utc(2026, 11, 2, 23, 59), 0, 20)
    add(node, "./private-tool.sh", utc(2026, 11, 2, 3), 127, 1)
    add(node, "git log", DAY[1])  # outside: the range is half-open
    return node


def test_category_stats(known):
    assert aggregates.category_stats(known.store, *DAY) == [
        {"category": "git", "count": 3, "avg_duration_ms": 200, "failure_rate": 0.5},
        {"category": "file-ops", "count": 1, "avg_duration_ms": None, "failure_rate": 0.0},
        {"category": "other:private-tool.sh", "count": 1, "avg_duration_ms": 1,
         "failure_rate": 1.0},
        {"category": "system", "count": 1, "avg_duration_ms": 20, "failure_rate": 0.0},
    ]
    collapsed = aggregates.category_stats(known.store, *DAY, collapse_other=True)
    assert [c["category"] for c in collapsed] == ["git", "file-ops", "other", "system"]


def test_totals_risks_patterns(known):
    assert aggregates.totals(known.store, *DAY) == {
        "total": 6, "failures": 2, "avg_duration_ms": 106, "caro_generated": 1,
        "user_confirmed_risky": 1, "elevated": 1}
    assert aggregates.risk_counts(known.store, *DAY) == {"safe": 4, "moderate": 1, "high": 1,
                                                          "critical": 0}
    assert aggregates.safety_counts(known.store, *DAY)["user_confirmed_risky"] == 1
    assert aggregates.unique_patterns(known.store, *DAY) == 5
    known.store.execute("UPDATE events SET pattern = NULL WHERE command = 'ls -la'")
    known.store.execute("UPDATE events SET pattern = '' WHERE command LIKE 'sudo%'")
    assert aggregates.unique_patterns(known.store, *DAY) == 3


def test_empty_range(node):
    assert aggregates.category_stats(node.store, *DAY) == []
    assert aggregates.totals(node.store, *DAY) == {
        "total": 0, "failures": 0, "avg_duration_ms": None, "caro_generated": 0,
        "user_confirmed_risky": 0, "elevated": 0}
    assert aggregates.risk_counts(node.store, *DAY) == {label: 0 for label in
                                                         ("safe", "moderate", "high", "critical")}
    assert aggregates.unique_patterns(node.store, *DAY) == 0
    assert aggregates.hourly_activity(node.store, *DAY) == [0] * 24


def test_failure_trend(known):
    trend = aggregates.failure_trend(known.store, DAY[0], DAY[1], 4)  # 6-hour slices
    assert [t["start"] for t in trend] == [DAY[0] + i * 6 * 3600 for i in range(4)]
    assert [(t["total"], t["failures"], t["rate"]) for t in trend] == [
        (1, 1, 1.0), (3, 1, 0.5), (1, 0, 0.0), (1, 0, 0.0)]
    known.store.execute("UPDATE events SET exit_code = NULL")
    assert [t["rate"] for t in aggregates.failure_trend(known.store, *DAY, 2)] == [None, None]


def test_blocked_count_reads_command_blocked_audit_entries(node):
    node.audit.append("CommandBlocked", details="rm -rf / refused")
    node.audit.append("SummaryGenerated", details="not a block")
    now = time.time()
    assert aggregates.blocked_count(node, now - 60, now + 60) == 1
    assert aggregates.blocked_count(node, now + 60, now + 120) == 0


@pytest.fixture
def zone(request):
    """Run the test in the time zone ``request.param``; restore the process's zone after."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kolkata", "UTC"], indirect=True)
@pytest.mark.parametrize("start", [utc(2026, 3, 27), utc(2026, 10, 23), utc(2026, 4, 2),
                                   utc(2026, 11, 1)])
def test_local_buckets_match_the_wall_clock_across_dst(node, zone, start):
    """Five days around a DST change (half-hour ones in Lord Howe) bucket like the wall clock."""
    end = start + 5 * 86400 + 0.5
    rng = random.Random(int(start))
    stamps = [rng.uniform(start - 3600, end + 3600) for _ in range(600)] + [start, end - 0.001, end]
    with node.store.transaction():
        node.store.executemany(
            "INSERT INTO events (timestamp, command, shell, session, category, risk) "
            "VALUES (?, 'x', 'bash', 's', 'c', 0)", [(t,) for t in stamps])
    hours, days, matrix, utc_hours = [0] * 24, [0] * 7, [[0] * 24 for _ in range(7)], [0] * 24
    for t in stamps:
        if start <= t < end:
            local = dt.datetime.fromtimestamp(t)
            hours[local.hour] += 1
            days[local.weekday()] += 1
            matrix[local.weekday()][local.hour] += 1
            utc_hours[dt.datetime.fromtimestamp(t, dt.timezone.utc).hour] += 1
    assert aggregates.hourly_activity(node.store, start, end) == hours
    assert aggregates.daily_activity(node.store, start, end, tz="local") == days
    assert aggregates.activity_matrix(node.store, start, end) == matrix
    assert aggregates.hourly_activity(node.store, start, end, tz="utc") == utc_hours


@pytest.mark.parametrize("zone", ["Europe/Berlin"], indirect=True)
def test_offset_segments_split_at_the_change(zone):
    start = utc(2026, 3, 28)
    segments = aggregates.offset_segments(start, start + 2 * 86400, "local")
    change = utc(2026, 3, 29, 1)  # 02:00 CET becomes 03:00 CEST
    assert segments == [(start, change, 3600), (change, start + 2 * 86400, 7200)]
    assert aggregates.offset_segments(start, change, "local") == [(start, change, 3600)]


def test_unknown_time_zone_is_refused(node):
    with pytest.raises(ValueError, match="unknown time zone 'mars'"):
        aggregates.hourly_activity(node.store, *DAY, tz="mars")

