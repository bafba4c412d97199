"""The audit log (FR-901…905): a BLAKE3 hash chain that finds edits, deletions and reordering."""

import json
import multiprocessing

import pytest

from caro_core.audit import AuditLog


@pytest.fixture
def log(caro_home):
    caro_home.mkdir(mode=0o700)
    audit = AuditLog(caro_home)
    for i in range(5):
        audit.append("TrustChanged", details=f"change {i}", peer=f"peer-{i}")
    return audit


def _lines(log):
    return log.path.read_bytes().splitlines(keepends=True)


def test_entries_chain_by_hash(log):
    entries = log.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev_hash"] is None
    for prev, entry in zip(entries, entries[1:]):
        assert entry["prev_hash"] == prev["hash"]
    assert log.verify() == (True, 5, None)


def test_an_edited_entry_is_named(log, caro):
    lines = _lines(log)
    entry = json.loads(lines[2])
    entry["details"] = "nothing happened"
    lines[2] = (json.dumps(entry) + "\n").encode()
    log.path.write_bytes(b"".join(lines))
    result = caro("audit", "verify")
    assert result.returncode != 0
    assert "line 3 (seq 3" in result.stderr and "edited" in result.stderr


def test_a_deleted_entry_is_found(log, caro):
    lines = _lines(log)
    del lines[1]
    log.path.write_bytes(b"".join(lines))
    result = caro("audit", "verify")
    assert result.returncode != 0 and "line 2 (seq 3" in result.stderr


def test_reordered_entries_are_found(log, caro):
    lines = _lines(log)
    lines[1], lines[3] = lines[3], lines[1]
    log.path.write_bytes(b"".join(lines))
    result = caro("audit", "verify")
    assert result.returncode != 0 and "line 2 (seq 4" in result.stderr


def test_entries_cut_off_the_end_are_found(log, caro):
    log.path.write_bytes(b"".join(_lines(log)[:-2]))
    result = caro("audit", "verify")
    assert result.returncode != 0 and "cut off the end" in result.stderr


def test_a_garbage_line_is_named_without_traceback(log, caro):
    with open(log.path, "ab") as f:
        f.write(b"\x00garbage\n")
    result = caro("audit", "verify")
    assert result.returncode != 0 and "line 6" in result.stderr
    assert "Traceback" not in result.stderr


def test_intact_log_verifies_and_exports_json(log, caro):
    result = caro("audit", "verify")
    assert result.returncode == 0 and "5 entries" in result.stdout
    exported = json.loads(caro("audit", "export", "--format", "json").stdout)
    assert len(exported) == 5
    for key in ("event_type", "timestamp", "peer", "details", "success", "prev_hash", "hash"):
        assert key in exported[0]
    assert exported[4]["peer"] == "peer-4"


def _append_many(home, n):
    audit = AuditLog(home)
    for i in range(n):
        audit.append("QueryReceived", details=str(i))


def test_concurrent_writers_keep_one_chain(caro_home):
    caro_home.mkdir(mode=0o700)
    workers = [multiprocessing.Process(target=_append_many, args=(caro_home, 40)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    ok, count, problem = AuditLog(caro_home).verify()
    assert (ok, count, problem) == (True, 160, None)


def test_unknown_event_type_is_a_programming_error(caro_home):
    caro_home.mkdir(mode=0o700)
    with pytest.raises(ValueError):
        AuditLog(caro_home).append("SomethingElse")
