"""Roll-ups of the events table, kept by SQLite triggers: what the aggregates read instead of
every event of a long period.

Three tables, each filled by the migration from the events already stored and then kept up by
triggers on every ``INSERT``, ``DELETE`` and ``UPDATE`` of ``events`` — whoever writes (ingest,
``caro import``, a salvage, a test's raw SQL), the roll-ups cannot drift from the events:

* ``event_quarters``: per quarter hour (``floor(timestamp / 900)`` in UTC epoch) the
  :data:`MEASURES`.  Every time zone's offset is a whole number of quarter hours, so local
  midnights and local hours (India's, Nepal's and Lord Howe's too) fall on quarter boundaries.
* ``event_days``: per UTC day, category and risk the same measures, for the breakdowns by
  category and by risk.
* ``event_day_patterns``: per UTC day the distinct non-empty patterns (with their event count),
  for the count of unique patterns.

A range ``[start, end)`` is answered from the buckets lying wholly inside it, plus the events of
the partial buckets at its edges read from ``events`` itself with the same expressions, so every
answer equals the one computed from the events alone.  A period between two local midnights
reads no event by quarter hour and at most one day of events by day (a UTC day is cut by
the local midnights of zones other than UTC).  The measures are integer sums (durations
are whole milliseconds), which add up exactly in any order.
"""

import math
from collections import namedtuple

from .risk import RiskLevel
from .store import Migration

#: each measure's value for one events row; ``{r}`` is ``NEW.``, ``OLD.`` or nothing
MEASURES = {
    "events": "1",
    "failures": "ifnull({r}exit_code != 0, 0)",
    "known_exit": "{r}exit_code IS NOT NULL",
    "duration_sum": "ifnull({r}duration_ms, 0)",
    "duration_count": "{r}duration_ms IS NOT NULL",
    "caro_generated": "{r}caro_generated",
    "confirmed_risky": f"{{r}}user_confirmed != 0 AND {{r}}risk >= {int(RiskLevel.MODERATE)}",
    "elevated": "{r}elevated",
}
Sums = namedtuple("Sums", MEASURES)
ZERO = Sums(*[0] * len(MEASURES))

QUARTER_S, DAY_S = 900, 86400
#: table → (bucket column, bucket seconds, {key column after the bucket: its type})
TABLES = {
    "event_quarters": ("quarter", QUARTER_S, {}),
    "event_days": ("day", DAY_S, {"category": "TEXT", "risk": "INTEGER"}),
}
PATTERNS = "event_day_patterns"
#: every roll-up table: derived from ``events``, never copied or edited on its own
DERIVED_TABLES = (*TABLES, PATTERNS)
#: ranges summed per statement by :func:`series` (two SQL parameters each)
_SPANS_PER_QUERY = 500
#: no event is further from 1970 than this many seconds; bucket numbers stay SQLite integers
_FAR_S = 2.0 ** 53
#: columns whose change moves an event to another bucket or changes a measure
_WATCHED = ("timestamp, exit_code, duration_ms, caro_generated, user_confirmed, risk, elevated, "
            "category, pattern")


def _bucket(row, seconds):
    """SQL for ``floor(row.timestamp / seconds)``, exact: the quotient's rounding is corrected
    so that bucket ``b`` holds exactly the timestamps ``b * seconds <= t < (b + 1) * seconds``."""
    guess = f"CAST({row}timestamp / {seconds} AS INTEGER)"
    return f"({guess} - ({guess} * {seconds} > {row}timestamp))"


def _values(row):
    return [expr.format(r=row) for expr in MEASURES.values()]


def _add(table, row):
    column, seconds, keys = TABLES[table]
    names = ", ".join((column, *keys, *MEASURES))
    values = ", ".join((_bucket(row, seconds), *(f"{row}{k}" for k in keys), *_values(row)))
    update = ", ".join(f"{m} = {m} + excluded.{m}" for m in MEASURES)
    return f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT DO UPDATE SET {update};"


def _remove(table, row):
    column, seconds, keys = TABLES[table]
    where = " AND ".join((f"{column} = {_bucket(row, seconds)}",
                          *(f"{k} = {row}{k}" for k in keys)))
    update = ", ".join(f"{m} = {m} - ({v})" for m, v in zip(MEASURES, _values(row)))
    return (f"UPDATE {table} SET {update} WHERE {where}; "
            f"DELETE FROM {table} WHERE {where} AND events = 0;")


def _add_pattern(row):
    return (f"INSERT INTO {PATTERNS} (day, pattern, events) SELECT {_bucket(row, DAY_S)}, "
            f"{row}pattern, 1 WHERE NULLIF({row}pattern, '') IS NOT NULL "
            "ON CONFLICT DO UPDATE SET events = events + 1;")


def _remove_pattern(row):
    where = f"day = {_bucket(row, DAY_S)} AND pattern = {row}pattern"
    return (f"UPDATE {PATTERNS} SET events = events - 1 WHERE {where}; "
            f"DELETE FROM {PATTERNS} WHERE {where} AND events = 0;")


def _schema():
    tables = []
    for table, (column, _, keys) in TABLES.items():
        key_columns = "".join(f"{k} {kind} NOT NULL, " for k, kind in keys.items())
        measures = ", ".join(f"{m} INTEGER NOT NULL" for m in MEASURES)
        tables.append(f"CREATE TABLE {table} ({column} INTEGER NOT NULL, {key_columns}{measures}, "
                      f"PRIMARY KEY ({', '.join((column, *keys))})) WITHOUT ROWID;")
    tables.append(f"CREATE TABLE {PATTERNS} (day INTEGER NOT NULL, pattern TEXT NOT NULL, "
                  "events INTEGER NOT NULL, PRIMARY KEY (day, pattern)) WITHOUT ROWID;")
    add = [_add(t, "NEW.") for t in TABLES] + [_add_pattern("NEW.")]
    remove = [_remove(t, "OLD.") for t in TABLES] + [_remove_pattern("OLD.")]
    triggers = [
        f"CREATE TRIGGER events_rollup_insert AFTER INSERT ON events BEGIN {' '.join(add)} END;",
        f"CREATE TRIGGER events_rollup_delete AFTER DELETE ON events BEGIN {' '.join(remove)} END;",
        f"CREATE TRIGGER events_rollup_update AFTER UPDATE OF {_WATCHED} ON events "
        f"BEGIN {' '.join(remove + add)} END;",
    ]
    fill = []
    for table, (column, seconds, keys) in TABLES.items():
        sums = ", ".join(f"sum({v})" for v in _values(""))
        group = ", ".join(str(i + 1) for i in range(1 + len(keys)))
        fill.append(f"INSERT INTO {table} ({', '.join((column, *keys, *MEASURES))}) "
                    f"SELECT {', '.join((_bucket('', seconds), *keys))}, {sums} FROM events "
                    f"GROUP BY {group};")
    fill.append(f"INSERT INTO {PATTERNS} (day, pattern, events) SELECT {_bucket('', DAY_S)}, "
                "pattern, count(*) FROM events WHERE NULLIF(pattern, '') IS NOT NULL "
                "GROUP BY 1, 2;")
    return "\n".join(tables + triggers + fill)


#: creates the roll-ups, fills them from the stored events and installs the triggers
MIGRATION = Migration("core.003-event-rollup", _schema())


def whole_buckets(start, end, seconds):
    """``(first, last)``: the buckets lying wholly inside ``[start, end)`` are ``first <= b < last``
    (none when ``first >= last``)."""
    first, last = math.ceil(start / seconds), math.floor(end / seconds)
    first += first * seconds < start  # the quotient may have rounded onto a whole number
    last -= last * seconds > end
    return first, last


def _split(start, end, seconds):
    """``(whole, edges)``: the buckets ``(first, last)`` lying wholly inside ``[start, end)``
    (None when there are none) and the non-empty epoch ranges left over at its edges.

    An infinite bound (a peer's query may hold one) is cut to :data:`_FAR_S`; a NaN one
    makes the range empty, as a comparison with NaN matches no event.
    """
    start, end = max(start, -_FAR_S), min(end, _FAR_S)
    if not start < end:
        return None, []
    first, last = whole_buckets(start, end, seconds)
    if first >= last:
        return None, [(start, end)]
    edges = [(start, first * seconds), (last * seconds, end)]
    return (first, last), [(low, high) for low, high in edges if low < high]


def _events_part(keys):
    select = ", ".join((*keys, *(f"sum({v})" for v in _values(""))))
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    return f"SELECT {select} FROM events WHERE timestamp >= ? AND timestamp < ?{group}"


def _sums(row):
    return Sums(*(value or 0 for value in row))


def plus(a, b):
    """The :class:`Sums` of two :class:`Sums`."""
    return Sums(*(x + y for x, y in zip(a, b)))


def sums_by(store, start, end, keys):
    """``{key tuple: Sums}`` over ``[start, end)``, grouped by ``keys`` (a tuple of
    ``"category"`` and/or ``"risk"``; empty for one total under the key ``()``).

    Groups without events are left out.
    """
    table = "event_days" if keys else "event_quarters"
    column, seconds, _ = TABLES[table]
    whole, edges = _split(start, end, seconds)
    parts, params = [], []
    if whole:
        select = ", ".join((*keys, *(f"sum({m})" for m in MEASURES)))
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        parts.append(f"SELECT {select} FROM {table} WHERE {column} >= ? AND {column} < ?{group}")
        params += whole
    for edge in edges:
        parts.append(_events_part(keys))
        params += edge
    found = {}
    if parts:
        for row in store.query(" UNION ALL ".join(parts), params):
            key, sums = tuple(row[:len(keys)]), _sums(row[len(keys):])
            if sums.events:
                found[key] = plus(found.get(key, ZERO), sums)
    return found


def total(store, start, end):
    """The :class:`Sums` of every event in ``[start, end)``."""
    return sums_by(store, start, end, ()).get((), ZERO)


def series(store, ranges):
    """A :class:`Sums` per ``(low, high)`` of ``ranges`` (half-open): the whole quarter hours of
    every range summed by SQLite in one statement (per :data:`_SPANS_PER_QUERY` ranges), plus
    the events of partial quarters at their edges."""
    splits = [_split(low, high, QUARTER_S) for low, high in ranges]
    wanted = sorted({whole for whole, _ in splits if whole})
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    found = {}
    for offset in range(0, len(wanted), _SPANS_PER_QUERY):
        chunk = wanted[offset:offset + _SPANS_PER_QUERY]
        rows = store.query(
            f"WITH spans(a, b) AS (VALUES {', '.join(['(?, ?)'] * len(chunk))}) "
            f"SELECT a, b, {sums} FROM spans JOIN event_quarters ON quarter >= a AND quarter < b "
            "GROUP BY a, b", [bound for span in chunk for bound in span])
        found.update(((a, b), Sums(*values)) for a, b, *values in rows)
    edge_sql = _events_part(())
    result = []
    for whole, edges in splits:
        summed = found.get(whole, ZERO)
        for edge in edges:
            summed = plus(summed, _sums(store.query_one(edge_sql, edge)))
        result.append(summed)
    return result


def unique_patterns(store, start, end):
    """How many distinct non-empty patterns the events of ``[start, end)`` have."""
    whole, edges = _split(start, end, DAY_S)
    parts, params = [], []
    if whole:
        parts.append(f"SELECT pattern FROM {PATTERNS} WHERE day >= ? AND day < ?")
        params += whole
    for edge in edges:
        parts.append("SELECT NULLIF(pattern, '') AS pattern FROM events "
                     "WHERE timestamp >= ? AND timestamp < ?")
        params += edge
    if not parts:
        return 0
    (count,) = store.query_one(f"SELECT count(DISTINCT pattern) FROM ({' UNION ALL '.join(parts)})",
                               params)
    return count
