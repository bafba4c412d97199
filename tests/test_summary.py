"""Level-1 summaries: UTC periods, the fields of known data, signing and verifying, storage,
plugin clashes, and marker strings proving no command text, path, host or prompt gets in."""

import base64
import copy
import datetime as dt
import json
import time

import msgpack
import pytest

from caro_core import hookimpl
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.summary import (Granularity, Period, SummaryError, SummaryVerificationError, build,
                               decode, find_summary, list_summaries, prune_own, store_summary,
                               verify)
from spooltools import spool_record, write_spool


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def add(node, command, when, exit_code=0, duration_ms=10, cwd="/home/ann", **flags):
    """Store one classified event the way ingest does."""
    event = classify(node, command, timestamp=when, exit_code=exit_code, duration_ms=duration_ms,
                     cwd=cwd, shell="bash", session="bash-1-1", user="ann",
                     elevated=flags.get("elevated", False),
                     caro_generated=flags.get("caro_generated", False))
    event.user_confirmed = flags.get("user_confirmed", False)
    insert_events(node.store, [event])


MONDAY = Period.containing(utc(2026, 11, 2, 12), "daily")  # 2026-11-02 was a Monday


# --- periods -----------------------------------------------------------------------------------

def test_periods_are_cut_in_utc():
    t = utc(2026, 11, 4, 13, 45, 10)  # a Wednesday
    hour = Period(int(utc(2026, 11, 4, 13)), int(utc(2026, 11, 4, 14)), Granularity.HOURLY)
    assert Period.containing(t, "hourly") == hour
    assert Period.containing(t, "daily").start == utc(2026, 11, 4)
    weekly = Period.containing(t, "weekly")
    assert (weekly.start, weekly.end) == (utc(2026, 11, 2), utc(2026, 11, 9))  # Monday to Monday
    assert Period.containing(utc(2026, 11, 2), "weekly").start == utc(2026, 11, 2)
    assert Period.containing(utc(2026, 11, 1, 23, 59), "weekly").start == utc(2026, 10, 26)
    assert Period.last_complete(t, "daily").start == utc(2026, 11, 3)
    assert Period.last_complete(utc(2026, 11, 4), "daily").start == utc(2026, 11, 3)  # just ended
    assert Period.containing(t, "hourly").next().start == utc(2026, 11, 4, 14)
    assert MONDAY.to_json() == {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z",
                                "granularity": "daily"}
    assert Period.from_json(MONDAY.to_json()) == MONDAY
    with pytest.raises(SummaryError, match="not on a daily UTC boundary"):
        Period.from_json({**MONDAY.to_json(), "start": "2026-11-02T01:00:00Z"})


# --- fields ------------------------------------------------------------------------------------

def test_fields_of_known_events(node):
    add(node, "git status", utc(2026, 11, 2, 9, 15), 0, 100)
    add(node, "git push --force origin main", utc(2026, 11, 2, 9, 20), 1, 300,
        caro_generated=True, user_confirmed=True)
    add(node, "git status --short", utc(2026, 11, 2, 9, 40), None, None)
    add(node, "ls -la", utc(2026, 11, 2, 10, 5), 0, None)
    add(node, "rm -rf build/", utc(2026, 11, 2, 23, 59, 59), None, 50)
    add(node, "./deploy-acme.sh", utc(2026, 11, 2, 0, 0), 3, 1000)
    add(node, "sudo systemctl restart nginx", utc(2026, 11, 2, 0, 30), 0, 20, user_confirmed=True)
    add(node, "git log", utc(2026, 11, 1, 23, 59, 59))  # the day before
    add(node, "git log", utc(2026, 11, 3))  # the day after (end is exclusive)
    node.audit.append("CommandBlocked", details="a suggestion was refused")

    summary = build(node, MONDAY, now=utc(2026, 11, 3, 0, 1))
    assert summary["category_stats"] == [
        {"category": "git", "count": 3, "avg_duration_ms": 200, "failure_rate": 0.5},
        {"category": "file-ops", "count": 2, "avg_duration_ms": 50, "failure_rate": 0.0},
        {"category": "other", "count": 1, "avg_duration_ms": 1000, "failure_rate": 1.0},
        {"category": "system", "count": 1, "avg_duration_ms": 20, "failure_rate": 0.0},
    ]
    hours = [0] * 24
    hours[0], hours[9], hours[10], hours[23] = 2, 3, 1, 1
    assert summary["hourly_activity"] == hours
    assert summary["daily_activity"] == [7, 0, 0, 0, 0, 0, 0]
    assert summary["total_commands"] == 7
    # git status (twice), git push, ls, rm, deploy-acme.sh, systemctl restart
    assert summary["unique_patterns"] == 6
    assert summary["safety_stats"] == {
        "by_risk": {"safe": 4, "moderate": 1, "high": 2, "critical": 0},
        "blocked_count": 0,  # the audit entry was written now, not on 2026-11-02
        "user_confirmed_risky": 2, "caro_generated": 1, "caro_executed": 1}
    assert summary["period"] == MONDAY.to_json()
    assert summary["node_id"] == node.identity.node_id
    assert summary["generated_at"] == "2026-11-03T00:01:00Z"
    assert summary["signature"]["signer"] == node.identity.fingerprint
    assert list(summary) == sorted(summary)  # canonical: keys sorted
    verify(summary)

    today = Period.containing(time.time(), "daily")
    assert build(node, today)["safety_stats"]["blocked_count"] == 1


def test_an_empty_period_has_zeros(node):
    summary = build(node, MONDAY)
    assert summary["category_stats"] == [] and summary["total_commands"] == 0
    assert summary["hourly_activity"] == [0] * 24 and summary["unique_patterns"] == 0
    assert set(summary["safety_stats"]["by_risk"].values()) == {0}
    assert len(summary["safety_stats"]["by_risk"]) == 4


# --- signing -----------------------------------------------------------------------------------

def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, path + (index,))
    else:
        yield path, value


def altered(summary, path):
    copy_ = copy.deepcopy(summary)
    target = copy_
    for step in path[:-1]:
        target = target[step]
    value = target[path[-1]]
    if isinstance(value, bool) or value is None:
        target[path[-1]] = 1
    elif isinstance(value, (int, float)):
        target[path[-1]] = value + 1
    else:
        target[path[-1]] = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    return copy_


@pytest.fixture
def signed(node):
    add(node, "git status", utc(2026, 11, 2, 9, 15), 0, 100)
    add(node, "make test", utc(2026, 11, 2, 9, 16), 2, 1234)
    return build(node, MONDAY)


def test_a_summary_verifies_after_json_and_msgpack_round_trips(signed):
    assert verify(signed) == MONDAY
    verify(json.loads(json.dumps(signed)))
    verify(msgpack.unpackb(msgpack.packb(signed)))
    value = base64.b64decode(signed["signature"]["value"])
    assert len(value) == 64


def test_altering_any_field_breaks_the_signature(signed):
    paths = [path for path, _ in leaves(signed)]
    assert len(paths) > 40
    for path in paths:
        with pytest.raises(SummaryVerificationError) as caught:
            verify(altered(signed, path))
        assert "\n" not in str(caught.value)
        if path[0] != "signature" and path[0] != "node_id":
            assert "altered or forged" in str(caught.value), path
    extra = dict(signed, note="added later")
    with pytest.raises(SummaryVerificationError, match="altered or forged"):
        verify(extra)
    missing = {k: v for k, v in signed.items() if k != "unique_patterns"}
    with pytest.raises(SummaryVerificationError, match="altered or forged"):
        verify(missing)


def test_another_nodes_id_or_a_resigned_copy_is_rejected(signed, tmp_path):
    other = Node.load(tmp_path / "other-home", environ={})
    swapped = dict(signed, node_id=other.identity.node_id)
    with pytest.raises(SummaryVerificationError, match="forged"):
        verify(swapped)
    # the other node re-signs it under its own fingerprint while claiming the first node's id
    forged = dict(signed, signature=dict(signed["signature"], signer=other.identity.fingerprint))
    with pytest.raises(SummaryVerificationError, match=f"signed by {other.identity.fingerprint}"):
        verify(forged)
    with pytest.raises(SummaryVerificationError, match="not a Caro node id"):
        verify(dict(signed, node_id="caro:ed25519:???"))
    with pytest.raises(SummaryVerificationError, match="no signature"):
        verify({k: v for k, v in signed.items() if k != "signature"})
    other.close()


# --- plugins -----------------------------------------------------------------------------------

class Contributes:
    def __init__(self, fields):
        self.fields = fields

    @hookimpl
    def caro_summary_fields(self, node, period):
        return self.fields


def test_plugin_fields_are_merged_and_signed(node):
    node.pm.register(Contributes({"editor_minutes": 12.3456789}), name="editor-time")
    summary = build(node, MONDAY)
    assert summary["editor_minutes"] == 12.345679  # rounded so every node agrees
    verify(summary)


def test_a_key_clash_names_both_plugins(node):
    node.pm.register(Contributes({"total_commands": 1}), name="counter")
    with pytest.raises(SummaryError, match="'total_commands' is returned by both "
                                           "counter and summary_activity"):
        build(node, MONDAY)


@pytest.mark.parametrize("fields, message", [
    ({"id": "mine"}, "returned the field 'id', which the core sets"),
    (["not", "a", "dict"], "returned list, not a dict"),
    ({"raw": b"bytes"}, "summary plugin bad: field 'raw': a bytes cannot be part of a summary"),
    ({"raw": {1: 2}}, "map keys must be strings"),
])
def test_a_misbehaving_plugin_is_named(node, fields, message):
    node.pm.register(Contributes(fields), name="bad")
    with pytest.raises(SummaryError, match=message):
        build(node, MONDAY)


def test_a_failing_plugin_is_named(node):
    class Broken:
        @hookimpl
        def caro_summary_fields(self, node, period):
            raise RuntimeError("boom")

    node.pm.register(Broken(), name="broken")
    with pytest.raises(SummaryError, match=r"summary plugin broken failed: RuntimeError: boom"):
        build(node, MONDAY)


# --- storage -----------------------------------------------------------------------------------

def test_store_list_find_and_prune(node, signed, tmp_path):
    assert store_summary(node.store, signed) is True
    assert store_summary(node.store, build(node, MONDAY)) is False  # never written twice
    assert find_summary(node.store, node.identity.node_id, MONDAY) == signed
    tuesday = build(node, MONDAY.next())
    store_summary(node.store, tuesday)

    other = Node.load(tmp_path / "other-home", environ={})
    received = build(other, Period.containing(utc(2026, 11, 2, 9), "hourly"))
    store_summary(node.store, received, received_from=other.identity.node_id)
    newest_first = [tuesday["id"], received["id"], signed["id"]]  # 3 Nov, 2 Nov 9:00, 2 Nov 0:00
    assert [s["id"] for s in list_summaries(node.store)] == newest_first
    assert list_summaries(node.store, peer=other.identity.node_id) == [received]
    assert list_summaries(node.store, peer=other.identity.fingerprint) == [received]
    assert list_summaries(node.store, peer="0000000000000000") == []
    assert list_summaries(node.store, granularity="daily", limit=1) == [tuesday]

    with pytest.raises(SummaryVerificationError):
        store_summary(node.store, altered(signed, ("total_commands",)))
    assert prune_own(node.store, utc(2026, 11, 3, 12)) == 1  # Monday's ended before; Tuesday's not
    assert [s["id"] for s in list_summaries(node.store)] == [tuesday["id"], received["id"]]
    other.close()


def test_a_damaged_stored_summary_is_named(node, signed):
    store_summary(node.store, signed)
    node.store.execute("UPDATE summaries SET body = ?", (b"\xc1garbage",))
    with pytest.raises(SummaryError, match=f"stored summary {signed['id']} .daily "
                                           "2026-11-02T00:00:00Z. is damaged"):
        list_summaries(node.store)
    changed = dict(signed, total_commands=99)
    node.store.execute("UPDATE summaries SET body = ?", (msgpack.packb(changed),))
    with pytest.raises(SummaryError, match="is damaged: .*altered or forged"):
        list_summaries(node.store)
    assert decode(msgpack.packb(changed)) == changed


# --- nothing of Level 0 gets in ----------------------------------------------------------------

MARKER = "MARKER7f3a"
#: Paths that appear in commands and as working directories; no 6 characters of them may leak.
MARKER_PATHS = ("/srv/qzv-MARKER7f3a/xkledger", "/home/ann/wqyMARKER7f3a.d/zkbackups")
MARKER_COMMANDS = (
    f"cp -r {MARKER_PATHS[0]}/ledger.db /tmp/qpj{MARKER}copy",
    f"ssh deploy@{MARKER}-db.corp.internal 'pg_dump --table={MARKER}_clients'",
    f"curl -H 'X-Token: {MARKER}tok' https://{MARKER}.example.org/api?q={MARKER}q",
    f"./{MARKER}-deploy.sh --target {MARKER}prod",
    f"git commit -m 'fix {MARKER} invoices'",
    f"caro \"delete every {MARKER} file older than a week\"",  # a prompt-like string
    f"vim {MARKER_PATHS[1]}/notes.txt",
    f"export {MARKER}_VAR=1 && python3 {MARKER_PATHS[0]}/{MARKER}.py",
    f"rm -rf {MARKER_PATHS[1]}",
)


def leaked(text):
    """The first marker or 6-character piece of a marker path found in ``text``."""
    if MARKER.lower() in text.lower():
        return MARKER
    for path in MARKER_PATHS:
        for i in range(len(path) - 5):
            if path[i:i + 6] in text:
                return path[i:i + 6]
    return None


def test_no_command_text_path_host_or_prompt_reaches_a_summary(caro_home, caro):
    now = time.time()
    today = Period.containing(now, "daily")
    yesterday = today.previous()
    records = []
    for day_start in (yesterday.start, max(today.start, now - 3600)):
        for i, command in enumerate(MARKER_COMMANDS):
            cwd = MARKER_PATHS[i % 2] + f"/{MARKER}sub"
            records.append(spool_record(command, exit_code=i % 3, duration_ms=10 + i, cwd=cwd,
                                        start=day_start + 60 + i,
                                        session=f"bash-{i}-{MARKER}"[:30]))
    write_spool(caro_home, *records)

    outputs = []
    for args in (["summary", "preview", "--json"], ["summary", "preview"],
                 ["summary", "preview", "--granularity", "weekly"],
                 ["summary", "generate", "--json"], ["summary", "generate"],
                 ["summary", "generate", "--granularity", "hourly", "--period-start",
                  dt.datetime.fromtimestamp(yesterday.start + 60, dt.timezone.utc).isoformat()],
                 ["summary", "list"], ["summary", "list", "--json"]):
        result = caro(*args)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append((args, result.stdout + result.stderr))
    shared = json.loads(outputs[0][1])
    assert shared["total_commands"] == len(MARKER_COMMANDS)
    assert json.loads(outputs[3][1])["total_commands"] == len(MARKER_COMMANDS)
    for args, text in outputs:
        assert leaked(text) is None, (args, leaked(text))

    node = Node.load(caro_home, environ={})
    bodies = [row[0] for row in node.store.query("SELECT body FROM summaries")]
    assert len(bodies) == 2
    for body in bodies:
        assert leaked(body.decode("latin-1")) is None
        assert leaked(json.dumps(decode(body))) is None
    # the events themselves (Level 0, never shared) do hold the markers: the test is real
    assert node.store.query_one("SELECT count(*) FROM events WHERE command LIKE ?",
                                (f"%{MARKER}%",))[0] == 2 * len(MARKER_COMMANDS)
    node.close()
