"""The mesh between real node processes on loopback: static trust, TOFU, refusal, revocation,
bad frames, a peer killed mid-session."""

import json
import os
import socket
import time

import pytest

from caro_core import wire
from caro_core.wire import MessageType
from meshnodes import session_as, wait_for

pytestmark = pytest.mark.slow


def pair(nodes):
    a, b = nodes("a"), nodes("b")
    a.add_peer(b)
    b.add_peer(a)
    a.start()
    b.start()
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a)), (a.peers(), b.peers())
    return a, b


def test_static_peers_connect_and_an_untrusted_node_is_refused(nodes):
    a, b = pair(nodes)
    c = nodes("c", config="[trust]\ntofu = false\n")
    c.add_peer(a)  # a keeps TOFU on: c is held pending until a person decides
    c.start()
    # Scenario 2: both sides audit the connection
    assert a.audited("PeerConnected", b) and b.audited("PeerConnected", a)
    assert a.peers()[b.node_id]["trust"] == "peer" and a.peers()[b.node_id]["source"] == "static"
    # FR-205: c is nobody's trusted peer: held pending at a, never connected
    assert wait_for(lambda: a.audited("PeerIntroduced", c))
    time.sleep(1.5)
    assert not a.connected_to(c) and not c.connected_to(a)
    listed = a.peers()[c.node_id]
    assert listed["trust"] == "untrusted" and listed["pending"] is True
    assert set(listed) >= {"node_id", "fingerprint", "address", "trust", "connected", "last_seen",
                           "source"}


def test_without_tofu_an_unknown_node_is_refused_and_audited(nodes):
    a = nodes("a", config="[trust]\ntofu = false\n")
    c = nodes("c")
    c.add_peer(a)
    a.start()
    c.start()
    assert wait_for(lambda: a.audited("PeerRefused", c))
    assert c.node_id not in a.peers()
    assert not c.connected_to(a)


def test_tofu_holds_a_newcomer_pending_until_a_person_trusts_it(nodes):
    a, c = nodes("a"), nodes("c")
    c.add_peer(a)
    a.start()
    c.start()
    assert wait_for(lambda: c.node_id in {p["node_id"] for p in
                                          json.loads(a.caro("peers", "pending", "--json").stdout)})
    assert not a.connected_to(c)
    a.caro("peers", "trust", c.fingerprint, "query-from")
    assert wait_for(lambda: a.connected_to(c) and c.connected_to(a), timeout=20)
    assert a.peers()[c.node_id]["trust"] == "query-from"
    assert a.peers()[c.node_id]["source"] == "tofu"
    assert any("pending" in e["details"] for e in a.audited("TrustChanged", c))
    assert any("query-from" in e["details"] for e in a.audited("TrustChanged", c))


def test_revoke_drops_trust_and_the_live_connection_at_once(nodes):
    a, b = pair(nodes)
    a.caro("peers", "revoke", b.node_id)
    assert wait_for(lambda: not b.connected_to(a) and not a.connected_to(b), timeout=5)
    assert a.peers()[b.node_id]["trust"] == "untrusted"
    assert any("trust revoked" in e["details"] for e in b.audited("PeerDisconnected", a))
    time.sleep(2)  # b keeps trying; a keeps refusing
    assert not a.connected_to(b)


def test_a_peer_killed_mid_session_is_noticed_and_reconnects_when_back(nodes):
    a, b = pair(nodes)
    b.kill()
    assert wait_for(lambda: not a.connected_to(b), timeout=10)
    assert a.audited("PeerDisconnected", b)
    assert a.status()["running"]  # a keeps working alone (NFR-301/302)
    b.start()
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a), timeout=20)


@pytest.mark.parametrize("attack, reason", [
    ("bad-signature", "bad-signature"),
    ("replay", "replay"),
    ("clock-skew", "clock-skew"),
    ("oversize", "oversize"),
    ("garbage", "bad-magic"),
])
def test_a_bad_frame_is_refused_audited_and_others_are_still_served(nodes, attack, reason):
    a, b = pair(nodes)
    m = nodes("m")
    a.add_peer(m)
    m.add_peer(a)
    m.start()  # m introduces itself and a pins its certificate
    assert wait_for(lambda: a.connected_to(m))
    m.stop()
    assert wait_for(lambda: not a.connected_to(m))
    identity, sock, reader = session_as(m, a)
    ping = wire.encode(identity, MessageType.PING, {"ping_id": 1, "ts": time.time()}, 2)
    if attack == "bad-signature":
        data = ping[:-1] + bytes([ping[-1] ^ 1])
    elif attack == "replay":  # on a second connection: its sequence numbers start afresh
        sock.sendall(ping)
        assert reader.read().msg_type is MessageType.PONG
        sock.close()
        assert wait_for(lambda: not a.connected_to(m))
        _, sock, reader = session_as(m, a)
        data = ping
    elif attack == "clock-skew":
        data = wire.encode(identity, MessageType.PING, {"ping_id": 1}, 2, now=time.time() - 3600)
    elif attack == "oversize":
        data = wire.HEADER.pack(wire.MAGIC, wire.VERSION, wire.MAX_PAYLOAD + 1, MessageType.PING)
    else:
        data = os.urandom(64)
    sock.sendall(data)
    violations = wait_for(lambda: [e for e in a.audited("ProtocolViolation", m)
                                   if e["details"].startswith(reason)], timeout=10)
    assert violations, a.audit()[-5:]
    if attack == "clock-skew":
        assert "3600 s behind ours" in violations[0]["details"]
    sock.close()
    assert a.connected_to(b) and a.status()["running"]
    # and a still accepts new sessions
    _, again, _ = session_as(m, a)
    again.close()


def test_garbage_before_tls_does_not_disturb_the_node(nodes):
    a, b = pair(nodes)
    for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), b""):
        with socket.create_connection(("127.0.0.1", a.port), timeout=5) as s:
            s.sendall(payload)
    assert a.connected_to(b) and a.status()["running"]
