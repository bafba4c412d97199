"""Summary exchange between real node processes (Scenario 3): push, acknowledgement, gossip
to the signed audience only, forged and misaddressed summaries refused, and no Level-0 byte
ever leaving the node that recorded it."""

import json
import time

import pytest

from caro_core import wire
from caro_core.node import Node
from caro_core.summary import Period, build
from caro_core.wire import MessageType
from meshnodes import free_port, session_as, wait_for
from spooltools import spool_record, write_spool

pytestmark = pytest.mark.slow

MARKER = "zq7-marker-5c1e"


def summaries_of(node, author):
    return json.loads(node.caro("summary", "list", "--json", "--peer", author.node_id).stdout)


def files_containing(home, needle):
    return [p for p in home.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_a_summary_reaches_its_audience_through_a_relay_and_nobody_else(nodes, tmp_path):
    a, b, c, d = nodes("a"), nodes("b"), nodes("c"), nodes("d")
    trace = tmp_path / "a-wire.bin"
    a.env["CARO_WIRE_TRACE"] = str(trace)
    # a trusts b and c, but can reach only b (c's address is dead): c gets a's summary via b
    a.add_peer(b)
    a.caro("peers", "add", f"127.0.0.1:{free_port()}", "--id", c.node_id, "--trust", "peer")
    for other in (a, c, d):
        b.add_peer(other)
    for other in (c, d):
        other.add_peer(b)
    yesterday = Period.last_complete(time.time(), "daily")
    write_spool(a.home, spool_record(f"grep -r {MARKER} /srv/{MARKER}/secrets",
                                     start=yesterday.start + 60),
                spool_record(f"ssh {MARKER}.internal.example", start=yesterday.start + 120))
    for n in (a, b, c, d):
        n.start()
    assert wait_for(lambda: all(b.connected_to(n) for n in (a, c, d))), b.peers()

    written = json.loads(a.caro("summary", "generate", "--json").stdout)
    assert written["audience"] == sorted([b.node_id, c.node_id])
    assert wait_for(lambda: summaries_of(b, a) and summaries_of(c, a), timeout=20)
    assert summaries_of(b, a) == [written] and summaries_of(c, a) == [written]
    assert wait_for(lambda: b.audited("SummaryShared", c))
    assert [e["peer"] for e in b.audited("SummaryReceived")] == [a.node_id]
    assert [e["peer"] for e in c.audited("SummaryReceived")] == [b.node_id]
    assert wait_for(lambda: a.audited("SummaryShared", b))
    time.sleep(2)  # d is connected to b all along: give a wrong push every chance to happen
    assert summaries_of(d, a) == [] and not d.audited("SummaryReceived")

    for n in (b, c, d):
        n.stop()
        assert files_containing(n.home, MARKER) == [], n.name
    sent = trace.read_bytes()
    assert MessageType.SUMMARY_PUSH.to_bytes(2, "big") in sent and written["id"].encode() in sent
    assert MARKER.encode() not in sent


def test_a_summary_pushed_while_a_peer_was_away_arrives_when_it_is_back(nodes):
    a, b = nodes("a"), nodes("b")
    a.add_peer(b)
    b.add_peer(a)
    yesterday = Period.last_complete(time.time(), "daily")
    write_spool(a.home, spool_record("git status", start=yesterday.start + 60))
    a.start()
    written = json.loads(a.caro("summary", "generate", "--json").stdout)
    b.start()
    assert wait_for(lambda: summaries_of(b, a), timeout=20)
    assert summaries_of(b, a) == [written]


@pytest.mark.parametrize("tamper, expected", [
    ("none", "stored"),
    ("altered", "altered or forged"),
    ("not-addressed", "not in its signed audience"),
    ("other-author", "forged"),
])
def test_a_forged_or_misaddressed_summary_is_refused_and_audited(nodes, tamper, expected):
    b, m = nodes("b"), nodes("m")
    b.add_peer(m)
    m.add_peer(b)
    b.start()
    m.start()  # m introduces itself and b pins its certificate
    assert wait_for(lambda: b.connected_to(m))
    m.stop()
    assert wait_for(lambda: not b.connected_to(m))

    author = Node.load(m.home, environ={})
    period = Period.last_complete(time.time(), "hourly")
    audience = [] if tamper == "not-addressed" else [b.node_id]
    summary = build(author, period, audience=audience)
    author.close()
    if tamper == "altered":
        summary["total_commands"] += 1
    elif tamper == "other-author":
        summary["node_id"] = nodes("x").node_id  # signed by m, claimed to be x's
    identity, sock, reader = session_as(m, b)
    sock.sendall(wire.encode(identity, MessageType.SUMMARY_PUSH, {"summary": summary}, 2))
    ack = reader.read()
    while ack.msg_type is not MessageType.SUMMARY_ACK:  # a keep-alive may come first
        ack = reader.read()
    sock.close()
    if tamper == "none":
        assert ack.body["status"] == "stored"
        assert summaries_of(b, m) == [summary]
        return
    assert ack.body["status"] == "rejected" and expected in ack.body["reason"]
    rejected = b.audited("SummaryRejected", m)
    assert rejected and expected in rejected[0]["details"]
    assert json.loads(b.caro("summary", "list", "--json").stdout) == []
    assert b.status()["running"]

