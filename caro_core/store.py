"""The node's SQLite store (apsw, WAL) with named, append-only migrations.

Plugins declare their tables through ``caro_store_migrations`` and use the
small API below; they never open the database file themselves.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apsw

from .errors import StoreCorrupt

DB_FILE = "caro.db"
CORRUPTION_ERRORS = (apsw.CorruptError, apsw.NotADBError)


@dataclass(frozen=True)
class Migration:
    """One schema step.  ``name`` is unique and never reused; ``sql`` may hold several statements."""

    name: str
    sql: str


def corrupt_message(path, error):
    return (f"database {path} is damaged ({error}); run 'caro doctor --repair' to salvage "
            f"readable rows or 'caro doctor --fresh' to start over (the old file is kept aside)")


class Store:
    """A connection to the node's database.

    :param path: the database file (created when missing).
    :param migrations: :class:`Migration` objects to apply, in order.
    """

    def __init__(self, path, migrations=()):
        self.path = Path(path)
        # One connection per thread: the daemon's ingest, dashboard and mesh threads each
        # get their own transactions; WAL lets them read while one writes.
        self._local = threading.local()
        self._all = []
        self._all_lock = threading.Lock()
        try:
            self.migrate(migrations)
        except CORRUPTION_ERRORS as e:
            self.close()
            raise StoreCorrupt(corrupt_message(self.path, e)) from None

    @property
    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = apsw.Connection(str(self.path))
            with self._all_lock:
                self._all.append(conn)
            self._local.conn = conn
            conn.setbusytimeout(10_000)
            conn.pragma("journal_mode", "wal")
            conn.pragma("synchronous", "normal")
            conn.pragma("foreign_keys", 1)
        return conn

    def migrate(self, migrations):
        """Apply the migrations not yet recorded in the ``migrations`` table; return their names."""
        names = [m.name for m in migrations]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"migration names declared twice: {', '.join(sorted(duplicates))}")
        self._conn.execute("CREATE TABLE IF NOT EXISTS migrations ("
                           "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))")
        done = {row[0] for row in self._conn.execute("SELECT name FROM migrations")}
        applied = []
        for migration in migrations:
            if migration.name in done:
                continue
            with self._conn:
                self._conn.execute(migration.sql)
                self._conn.execute("INSERT INTO migrations(name) VALUES (?)", (migration.name,))
            applied.append(migration.name)
        return applied

    def applied_migrations(self):
        return [row[0] for row in self._conn.execute("SELECT name FROM migrations ORDER BY rowid")]

    def execute(self, sql, params=()):
        """Run one statement (or several without parameters); returns the cursor."""
        return self._conn.execute(sql, params)

    def insert(self, sql, params=()):
        """Run an INSERT; return the new rowid, or None when nothing was inserted (OR IGNORE)."""
        self._conn.execute(sql, params)
        return self._conn.last_insert_rowid() if self._conn.changes() else None

    def last_rowid(self):
        """The rowid of the last row this connection inserted."""
        return self._conn.last_insert_rowid()

    def executemany(self, sql, rows):
        return self._conn.executemany(sql, rows)

    def query(self, sql, params=()):
        """All rows of a query as a list of tuples."""
        return list(self._conn.execute(sql, params))

    def query_one(self, sql, params=()):
        """The first row of a query, or None."""
        for row in self._conn.execute(sql, params):
            return row
        return None

    @contextmanager
    def transaction(self):
        """A transaction (a savepoint when nested); rolled back on exception."""
        with self._conn:
            yield self

    def integrity_problems(self, quick=False):
        """Problems SQLite finds in the file; an empty list means it is sound."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            rows = [row[0] for row in self._conn.execute(f"PRAGMA {pragma}")]
        except CORRUPTION_ERRORS as e:
            return [str(e)]
        return [] if rows == ["ok"] else rows

    def tables(self):
        return [row[0] for row in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]

    def close(self):
        """Close every thread's connection."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
