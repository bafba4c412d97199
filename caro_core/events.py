"""Terminal events: recorded by the shell hooks or imported from shell history.

The ``events`` table is Level-0 data (raw command text, cwd): it never leaves
the node.  Its schema and queries are part of the store's public API so that
history, statistics, summaries and the dashboard all read it the same way.
"""

import datetime as dt
import json
from dataclasses import dataclass

from .risk import RiskLevel
from .rollup import MIGRATION as ROLLUP_MIGRATION
from .store import Migration


@dataclass(frozen=True)
class ImportedCommand:
    """One command read from a shell's own history file (``caro import``).

    ``command`` is the command line as the shell stored it; bytes that are not
    UTF-8 are kept losslessly as lone surrogates (``errors="surrogateescape"``).
    ``timestamp`` is the start time in epoch seconds and ``duration_ms`` the run
    time, each None when the history format does not record it.
    """

    command: str
    timestamp: float | None
    duration_ms: int | None


MIGRATIONS = [
    Migration("core.001-events", """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,
            command TEXT NOT NULL,
            exit_code INTEGER,
            duration_ms INTEGER,
            cwd TEXT,
            shell TEXT NOT NULL,
            session TEXT NOT NULL,
            user TEXT NOT NULL DEFAULT '',
            elevated INTEGER NOT NULL DEFAULT 0,
            caro_generated INTEGER NOT NULL DEFAULT 0,
            user_confirmed INTEGER NOT NULL DEFAULT 0,
            category TEXT NOT NULL,
            risk INTEGER NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            redacted TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL DEFAULT 'hook'
        );
        CREATE INDEX events_timestamp ON events(timestamp);
        CREATE INDEX events_category ON events(category, timestamp);
        CREATE UNIQUE INDEX events_import_once ON events(shell, timestamp, command)
            WHERE source = 'import';
    """),
    # Rows stored before patterns existed get their first word, which is their pattern
    # unless the tool has subcommands (caro_core.pattern); new rows get the full pattern.
    Migration("core.002-event-pattern", """
        ALTER TABLE events ADD COLUMN pattern TEXT;
        UPDATE events SET pattern = substr(ltrim(command), 1, instr(ltrim(command) || ' ', ' ') - 1);
    """),
    # Per quarter-hour and per-day roll-ups that triggers keep equal to the events (caro_core.rollup).
    ROLLUP_MIGRATION,
]

_COLUMNS = ("timestamp", "command", "exit_code", "duration_ms", "cwd", "shell", "session", "user",
            "elevated", "caro_generated", "user_confirmed", "category", "risk", "reasons",
            "redacted", "source", "pattern")


@dataclass
class Event:
    """One observed command as stored: secrets already redacted, category and risk assessed."""

    timestamp: float
    command: str
    exit_code: int | None
    duration_ms: int | None
    cwd: str | None
    shell: str
    session: str
    user: str
    elevated: bool
    caro_generated: bool
    category: str
    risk: RiskLevel
    reasons: list
    redacted: list
    source: str = "hook"
    user_confirmed: bool = False
    #: the command's shape without arguments (:mod:`caro_core.pattern`); Level-0 like the text
    pattern: str = ""
    id: int | None = None

    def row(self):
        return (self.timestamp, self.command, self.exit_code, self.duration_ms, self.cwd,
                self.shell, self.session, self.user, int(self.elevated), int(self.caro_generated),
                int(self.user_confirmed), self.category, int(self.risk), _json_list(self.reasons),
                _json_list(self.redacted), self.source, self.pattern)

    @classmethod
    def from_row(cls, row):
        (id_, timestamp, command, exit_code, duration_ms, cwd, shell, session, user, elevated,
         generated, confirmed, category, risk, reasons, redacted, source, pattern) = row
        return cls(timestamp, command, exit_code, duration_ms, cwd, shell, session, user,
                   bool(elevated), bool(generated), category, RiskLevel(risk),
                   json.loads(reasons), json.loads(redacted), source, bool(confirmed),
                   pattern or "", id_)

    def to_json(self):
        """The JSON of ``caro history --json``."""
        return {"id": self.id, "command": self.command, "exit_code": self.exit_code,
                "duration_ms": self.duration_ms, "cwd": self.cwd, "shell": self.shell,
                "timestamp": iso(self.timestamp), "category": self.category,
                "risk": self.risk.label, "reasons": self.reasons, "elevated": self.elevated,
                "caro_generated": self.caro_generated, "session": self.session,
                "source": self.source}


def _json_list(items):
    return json.dumps(items) if items else "[]"  # most events have no reasons: skip the encoder


def iso(timestamp):
    """Local ISO-8601 time (with offset) of an epoch timestamp."""
    return dt.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def insert_events(store, events):
    """Store events in one transaction; imported duplicates are skipped.  Returns the stored ones."""
    events = list(events)
    columns = f"({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    with store.transaction():
        if all(e.source != "import" for e in events):
            # Nothing can be ignored: one executemany, and the new ids are consecutive
            # (INTEGER PRIMARY KEY takes max(id)+1 inside this transaction).
            store.executemany(f"INSERT INTO events {columns}", [e.row() for e in events])
            last = store.last_rowid()
            for offset, event in enumerate(events):
                event.id = last - len(events) + 1 + offset
            return events
        stored = []
        for event in events:
            event.id = store.insert(f"INSERT OR IGNORE INTO events {columns}", event.row())
            if event.id is not None:
                stored.append(event)
        return stored


def query_events(store, limit=None, category=None, min_risk=None, since=None, until=None,
                 newest_first=True):
    """Events matching the filters (all optional)."""
    where, params = [], []
    if category:
        where.append("category = ?")
        params.append(category)
    if min_risk is not None:
        where.append("risk >= ?")
        params.append(int(min_risk))
    if since is not None:
        where.append("timestamp >= ?")
        params.append(since)
    if until is not None:
        where.append("timestamp < ?")
        params.append(until)
    sql = "SELECT id, " + ", ".join(_COLUMNS) + " FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY timestamp {'DESC' if newest_first else 'ASC'}, id {'DESC' if newest_first else 'ASC'}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [Event.from_row(row) for row in store.query(sql, params)]
