"""Recovering from a damaged database (NFR-303): salvage readable rows, or start over.

Both keep the damaged file aside (``caro.db.damaged-<time>``) so nothing is
destroyed; the salvage copies every row SQLite can still read into a fresh
database built from the current migrations.  The roll-ups of the events
(:mod:`caro_core.rollup`) are not copied: the fresh database's triggers rebuild
them from the salvaged events.
"""

import datetime as dt
import os
from pathlib import Path

import apsw

from .rollup import DERIVED_TABLES
from .store import Store

#: Bound on re-seeks past unreadable pages per table and direction.
MAX_SKIPS = 64


def move_aside(path):
    """Rename ``path`` (and its WAL/SHM companions) out of the way; return the new path."""
    path = Path(path)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    os.replace(path, aside)
    return aside


def fresh(path, migrations):
    """Move the database aside and create an empty one; return the aside path."""
    aside = move_aside(path)
    Store(path, migrations).close()
    return aside


def salvage(path, migrations):
    """Copy every readable row into a fresh database; return ``(aside_path, {table: rows})``."""
    aside = move_aside(path)
    target = Store(path, migrations)
    counts = {}
    try:
        source = apsw.Connection(str(aside), flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error:
        source = None
    try:
        for table in target.tables():
            if table == "migrations" or table in DERIVED_TABLES:
                continue
            counts[table] = _salvage_table(source, target, table) if source else 0
    finally:
        if source is not None:
            source.close()
        target.close()
    return aside, counts


def _columns(conn, table):
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _salvage_table(source, target, table):
    wanted = [row[1] for row in target.query(f'PRAGMA table_info("{table}")')]
    try:
        present = set(_columns(source, table))
    except apsw.Error:
        present = set(wanted)
    columns = [c for c in wanted if c in present]
    if not columns:
        return 0
    names = ", ".join(f'"{c}"' for c in columns)
    insert = (f'INSERT OR IGNORE INTO "{table}" (rowid, {names}) '
              f'VALUES ({", ".join("?" * (len(columns) + 1))})')
    seen = set()
    lowest, highest = -(2 ** 63), 2 ** 63 - 1

    def scan(sql, bound, direction):
        skip = 1
        for _ in range(MAX_SKIPS + 1):
            try:
                for row in source.execute(sql, (bound,)):
                    bound = row[0]
                    if bound not in seen:
                        seen.add(bound)
                        target.execute(insert, row)
                return
            except apsw.Error:  # an unreadable page: seek past it, further each time
                bound = min(max(bound + direction * skip, lowest), highest)
                skip *= 2

    select = f'SELECT rowid, {names} FROM "{table}"'
    with target.transaction():
        scan(f"{select} WHERE rowid > ? ORDER BY rowid", lowest, +1)
        scan(f"{select} WHERE rowid < ? ORDER BY rowid DESC", highest, -1)
    return len(seen)
