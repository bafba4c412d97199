"""The store: apsw + WAL, named append-only migrations, corruption detection and repair (NFR-303)."""

import json

import apsw
import pytest

from caro_core.errors import StoreCorrupt
from caro_core.store import Migration, Store

MIGRATIONS = [
    Migration("demo.001-items", "CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"),
    Migration("demo.002-index", "CREATE INDEX items_body ON items(body)"),
]


def test_migrations_apply_once_and_are_recorded(tmp_path):
    store = Store(tmp_path / "x.db", MIGRATIONS)
    assert store.applied_migrations() == ["demo.001-items", "demo.002-index"]
    assert store.query_one("PRAGMA journal_mode") == ("wal",)
    store.close()
    again = Store(tmp_path / "x.db", MIGRATIONS + [
        Migration("demo.003-extra", "ALTER TABLE items ADD COLUMN extra TEXT")])
    assert again.migrate(MIGRATIONS) == []
    assert again.applied_migrations()[-1] == "demo.003-extra"


def test_a_failing_migration_leaves_nothing_half_done(tmp_path):
    bad = Migration("demo.bad", "CREATE TABLE half (x); CREATE TABLE half (y)")
    with pytest.raises(apsw.SQLError):
        Store(tmp_path / "x.db", MIGRATIONS + [bad])
    store = Store(tmp_path / "x.db", MIGRATIONS)
    assert "half" not in store.tables()
    assert "demo.bad" not in store.applied_migrations()


def test_duplicate_migration_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="demo.001-items"):
        Store(tmp_path / "x.db", MIGRATIONS + MIGRATIONS[:1])


def test_transaction_rolls_back_on_error(tmp_path):
    store = Store(tmp_path / "x.db", MIGRATIONS)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.execute("INSERT INTO items(body) VALUES ('a')")
            raise RuntimeError
    assert store.query("SELECT count(*) FROM items") == [(0,)]


def test_a_file_that_is_not_a_database_is_detected_at_open(tmp_path):
    path = tmp_path / "x.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreCorrupt, match="caro doctor --repair"):
        Store(path, MIGRATIONS)


def _damaged_store(home, rows=3000):
    """A node database whose items table has one page overwritten with garbage."""
    from caro_core.node import Node

    home.mkdir(mode=0o700, exist_ok=True)
    node = Node.load(home, environ={})
    node.close()
    store = Store(home / "caro.db", MIGRATIONS)
    store.executemany("INSERT INTO items(id, body) VALUES (?, ?)",
                      [(i, f"row {i:05d} " + "x" * 200) for i in range(1, rows + 1)])
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = store.query_one("PRAGMA page_size")[0]
    pages = store.query_one("PRAGMA page_count")[0]
    store.close()
    with open(home / "caro.db", "r+b") as f:
        f.seek(page_size * (pages // 2))
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    return rows


def test_doctor_finds_damage_and_repair_keeps_readable_rows(caro_home, caro):
    rows = _damaged_store(caro_home)
    result = caro("doctor")
    assert result.returncode != 0
    assert "FAIL database" in result.stdout and "Traceback" not in result.stderr + result.stdout

    from caro_core import repair
    aside, counts = repair.salvage(caro_home / "caro.db", MIGRATIONS)
    assert aside.exists() and aside.name.startswith("caro.db.damaged-")
    assert 0.8 * rows < counts["items"] < rows  # most rows survive, the damaged page does not
    store = Store(caro_home / "caro.db", MIGRATIONS)
    assert store.integrity_problems() == []
    bodies = store.query("SELECT id, body FROM items ORDER BY id")
    assert len(bodies) == counts["items"]
    assert all(body == f"row {i:05d} " + "x" * 200 for i, body in bodies)


def test_cli_repair_and_fresh_keep_the_old_file_aside(caro_home, caro):
    caro_home.mkdir(mode=0o700)
    (caro_home / "caro.db").write_bytes(b"not sqlite at all" * 500)
    result = caro("doctor", "--repair", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "repair"
    assert open(report["aside"], "rb").read().startswith(b"not sqlite at all")
    assert caro("doctor").returncode == 0

    result = caro("doctor", "--fresh")
    assert result.returncode == 0 and "kept at" in result.stdout
    asides = sorted(caro_home.glob("caro.db.damaged-*"))
    assert len([p for p in asides if not p.name.endswith(("-wal", "-shm"))]) == 2
    events = [e["event_type"] for e in json.loads(caro("audit", "export").stdout)]
    assert events.count("StoreRepaired") == 2
