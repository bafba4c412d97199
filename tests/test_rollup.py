"""caro_core.rollup: the roll-ups the aggregates read give exactly the numbers computed from the
events alone — on random events and random ranges, at bucket edges, in time zones with
half-hour and quarter-hour offsets and daylight-saving changes, after updates and deletes, after
the migration of a store that had events before the roll-ups, and after a salvage."""

import contextlib
import datetime as dt
import math
import os
import random
import time

import pytest

from caro_core import aggregates, repair, rollup
from caro_core.dashboard import PERIODS, period_range
from caro_core.events import MIGRATIONS, Event, insert_events
from caro_core.risk import RiskLevel
from caro_core.store import Store

START = dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc).timestamp()  # spans March's DST changes
SPAN = 45 * 86400
CATEGORIES = ["git", "file-ops", "build", "other:deploy.sh", "other:x"]
PATTERNS = ["git status", "git commit", "ls", "make", "", None]
ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe",
         "America/St_Johns"]


@contextlib.contextmanager
def time_zone(name):
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def stamps(rng, n):
    """Random times, a third of them on or next to quarter-hour, hour and day boundaries."""
    found = []
    for _ in range(n):
        t = START + rng.random() * SPAN
        if rng.random() < 0.33:
            edge = round(t / rng.choice((900, 3600, 86400))) * rng.choice((900, 3600, 86400))
            t = rng.choice((edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf)))
        found.append(t)
    return found


def event(rng, timestamp, source="hook"):
    return Event(timestamp=timestamp, command=f"cmd {rng.randrange(10**6)}",
                 exit_code=rng.choice((None, 0, 0, 0, 1, 2, 127)),
                 duration_ms=rng.choice((None, rng.randrange(5000))), cwd="/home/ann",
                 shell="bash", session="bash-1-1", user="ann", elevated=rng.random() < 0.1,
                 caro_generated=rng.random() < 0.1, category=rng.choice(CATEGORIES),
                 risk=RiskLevel(rng.randrange(4)), reasons=[], redacted=[], source=source,
                 user_confirmed=rng.random() < 0.2, pattern=rng.choice(PATTERNS))


def fill(store, rng, n=1500):
    """Store ``n`` random events the three ways events arrive: hooks, imports, raw SQL."""
    times = stamps(rng, n)
    third = n // 3
    insert_events(store, [event(rng, t) for t in times[:third]])
    insert_events(store, [event(rng, t, "import") for t in times[third:2 * third]])
    with store.transaction():
        store.executemany(
            "INSERT INTO events (timestamp, command, shell, session, category, risk, exit_code, "
            "duration_ms, user_confirmed, pattern) VALUES (?, 'x', 'zsh', 's', ?, ?, ?, ?, ?, ?)",
            [(t, rng.choice(CATEGORIES), rng.randrange(4), rng.choice((None, 0, 3)),
              rng.choice((None, 7)), rng.random() < 0.5, rng.choice(PATTERNS))
             for t in times[2 * third:]])


def direct(store, start, end):
    """What the aggregates must answer for ``[start, end)``, computed from the events alone."""
    where, span = "FROM events WHERE timestamp >= ? AND timestamp < ?", (start, end)

    def category_stats(name):
        rows = store.query(f"SELECT {name} AS name, count(*), avg(duration_ms), "
                           f"sum(exit_code != 0), count(exit_code) {where} GROUP BY name", span)
        stats = [{"category": c, "count": n,
                  "avg_duration_ms": None if a is None else int(round(a)),
                  "failure_rate": (f or 0) / k if k else None} for c, n, a, f, k in rows]
        return sorted(stats, key=lambda s: (-s["count"], s["category"]))

    total, failures, avg, generated, confirmed, elevated = store.query_one(
        "SELECT count(*), sum(exit_code != 0), avg(duration_ms), sum(caro_generated), "
        f"sum(user_confirmed AND risk >= 1), sum(elevated) {where}", span)
    by_risk = dict(store.query(f"SELECT risk, count(*) {where} GROUP BY risk", span))
    return {
        "categories": category_stats("category"),
        "collapsed": category_stats("CASE WHEN category GLOB 'other:*' THEN 'other' "
                                    "ELSE category END"),
        "totals": {"total": total, "failures": failures or 0,
                   "avg_duration_ms": None if avg is None else int(round(avg)),
                   "caro_generated": generated or 0, "user_confirmed_risky": confirmed or 0,
                   "elevated": elevated or 0},
        "safety": {"by_risk": {level.label: by_risk.get(int(level), 0) for level in RiskLevel},
                   "caro_generated": generated or 0, "user_confirmed_risky": confirmed or 0},
        "patterns": store.query_one(f"SELECT count(DISTINCT NULLIF(pattern, '')) {where}",
                                    span)[0],
    }


def through_rollup(store, start, end):
    return {
        "categories": aggregates.category_stats(store, start, end),
        "collapsed": aggregates.category_stats(store, start, end, collapse_other=True),
        "totals": aggregates.totals(store, start, end),
        "safety": aggregates.safety_counts(store, start, end),
        "patterns": aggregates.unique_patterns(store, start, end),
    }


def direct_trend(store, start, end, buckets):
    width, trend = (end - start) / buckets, []
    for index in range(buckets):
        low = start + index * width
        high = end if index == buckets - 1 else low + width
        total, failures, known = store.query_one(
            "SELECT count(*), sum(exit_code != 0), count(exit_code) FROM events "
            "WHERE timestamp >= ? AND timestamp < ?", (low, high))
        trend.append({"start": low, "total": total, "failures": failures or 0,
                      "rate": (failures or 0) / known if known else None})
    return trend


def wall_clock_matrix(store, start, end, tz):
    matrix = [[0] * 24 for _ in range(7)]
    zone = dt.timezone.utc if tz == "utc" else None
    for (t,) in store.query("SELECT timestamp FROM events WHERE timestamp >= ? AND timestamp < ?",
                            (start, end)):
        local = dt.datetime.fromtimestamp(math.floor(t), zone)  # not rounded up to the next hour
        matrix[local.weekday()][local.hour] += 1
    return matrix


def ranges(rng, n):
    """Random ranges: aligned on buckets or not, shorter than a quarter hour, empty, inverted."""
    found = [(START, START + SPAN), (START + 10, START + 10), (START + 900, START)]
    for _ in range(n):
        low = START - 86400 + rng.random() * (SPAN + 86400)
        length = rng.choice((rng.random() * 600, rng.random() * 86400, rng.random() * 40 * 86400))
        high = low + length
        if rng.random() < 0.5:
            unit = rng.choice((900, 1800, 3600, 86400))
            low, high = math.floor(low / unit) * unit, math.ceil(high / unit) * unit
        found.append((low, high))
    return found


def test_unbounded_and_nan_ranges(filled):
    everything = direct(filled, -math.inf, math.inf)
    assert everything["totals"]["total"] == 1500
    assert through_rollup(filled, -math.inf, math.inf) == everything
    assert through_rollup(filled, math.nan, math.inf) == direct(filled, START + SPAN, START)
    assert [(t["total"], t["rate"]) for t in aggregates.failure_trend(filled, START, math.nan, 2)
            ] == [(0, None)] * 2


def snapshot(store):
    return {table: sorted(store.query(f"SELECT * FROM {table}"))
            for table in rollup.DERIVED_TABLES}


@pytest.fixture
def filled(node):
    fill(node.store, random.Random(4))
    return node.store


def test_every_aggregate_equals_the_events_on_random_ranges(filled):
    for start, end in ranges(random.Random(5), 150):
        assert through_rollup(filled, start, end) == direct(filled, start, end), (start, end)
        for buckets in (1, 7, 24):
            assert (aggregates.failure_trend(filled, start, end, buckets)
                    == direct_trend(filled, start, end, buckets)), (start, end, buckets)


@pytest.mark.parametrize("zone", ZONES)
def test_dashboard_periods_and_local_hours_in_every_kind_of_zone(filled, zone):
    """Today/week/month end at local midnights: in a +5:30 or +5:45 zone those are half and
    quarter hours of UTC, and on a DST day a period is 23 or 25 hours long."""
    rng = random.Random(zone)
    with time_zone(zone):
        for now in [START + rng.random() * SPAN for _ in range(6)] + [START + 10 * 86400]:
            for period in PERIODS:
                start, end = period_range(period, now)
                assert through_rollup(filled, start, end) == direct(filled, start, end)
                buckets = {"today": 24, "week": 7, "month": 30}[period]
                assert (aggregates.failure_trend(filled, start, end, buckets)
                        == direct_trend(filled, start, end, buckets))
                for tz in ("local", "utc"):
                    expected = wall_clock_matrix(filled, start, end, tz)
                    assert aggregates.activity_matrix(filled, start, end, tz) == expected
                    assert aggregates.hourly_activity(filled, start, end, tz) == [
                        sum(day[hour] for day in expected) for hour in range(24)]
                    assert aggregates.daily_activity(filled, start, end, tz) == [
                        sum(day) for day in expected]


def test_updates_and_deletes_keep_the_rollups_equal_to_the_events(filled, tmp_path):
    rng = random.Random(6)
    ids = [row[0] for row in filled.query("SELECT id FROM events")]
    with filled.transaction():
        for id_ in rng.sample(ids, 300):
            filled.execute("DELETE FROM events WHERE id = ?", (id_,))
        for id_ in rng.sample(ids, 300):
            filled.execute(
                "UPDATE events SET timestamp = timestamp + ?, category = ?, risk = ?, "
                "exit_code = ?, duration_ms = ?, pattern = ?, user_confirmed = ?, elevated = ? "
                "WHERE id = ?", (rng.choice((0, 1, 899.5, -86400)), rng.choice(CATEGORIES),
                                 rng.randrange(4), rng.choice((None, 0, 1)),
                                 rng.choice((None, 12)), rng.choice(PATTERNS),
                                 rng.random() < 0.5, rng.random() < 0.5, id_))
        filled.execute("UPDATE events SET command = 'unwatched column' WHERE id % 7 = 0")
    for start, end in ranges(random.Random(7), 40):
        assert through_rollup(filled, start, end) == direct(filled, start, end)

    # the same events stored before the roll-ups existed: the migration builds the same tables
    old = Store(tmp_path / "old.db", MIGRATIONS[:2])
    columns = [row[1] for row in filled.query("PRAGMA table_info(events)")]
    with old.transaction():
        old.executemany(f"INSERT INTO events ({', '.join(columns)}) "
                        f"VALUES ({', '.join('?' * len(columns))})",
                        filled.query("SELECT * FROM events"))
    assert old.migrate(MIGRATIONS) == [rollup.MIGRATION.name]
    assert snapshot(old) == snapshot(filled)
    assert all(rows for rows in snapshot(old).values())
    old.close()


def test_a_salvaged_store_rebuilds_its_rollups_from_the_events(node):
    fill(node.store, random.Random(8), 600)
    before = snapshot(node.store)
    path, migrations = node.db_path, node.migrations()
    node.close()
    _, counts = repair.salvage(path, migrations)
    assert counts["events"] == 600 and not set(counts) & set(rollup.DERIVED_TABLES)
    store = Store(path, migrations)
    assert snapshot(store) == before
    store.close()


@pytest.mark.parametrize("seconds", [900, 86400])
def test_bucket_edges_are_exact(node, seconds):
    """A timestamp one ulp below a bucket's first second belongs to the bucket before."""
    edges = [START + k * seconds for k in range(5)] + [1e9 + 7 * seconds, 2 ** 31 * seconds]
    times = [t for edge in edges for t in (edge, math.nextafter(edge, 0))]
    insert_events(node.store, [event(random.Random(1), t) for t in times])
    node.store.execute("UPDATE events SET pattern = 'p'")
    column, table = {900: ("quarter", "event_quarters"), 86400: ("day", "event_days")}[seconds]
    found = dict(node.store.query(f"SELECT {column}, sum(events) FROM {table} GROUP BY 1"))
    expected = {}
    for t in times:
        bucket = math.floor(t / seconds)
        while bucket * seconds > t:
            bucket -= 1
        while (bucket + 1) * seconds <= t:
            bucket += 1
        expected[bucket] = expected.get(bucket, 0) + 1
    assert found == expected
    if seconds == 86400:
        assert dict(node.store.query("SELECT day, events FROM event_day_patterns")) == expected
    assert rollup.whole_buckets(edges[0], edges[2], seconds) == (edges[0] / seconds,
                                                                  edges[2] / seconds)
    assert rollup.whole_buckets(math.nextafter(edges[0], math.inf),
                                math.nextafter(edges[2], 0), seconds) == (
        edges[0] / seconds + 1, edges[2] / seconds - 1)
