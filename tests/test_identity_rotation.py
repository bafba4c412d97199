"""Key rotation (FR-104): a new key endorsed by the old one; peers re-pin it, online or later,
refuse forgeries and the old key once its grace period is over; both sides audit."""

import json
import time

import pytest

from caro_core import rotation
from caro_core.node import Node
from caro_core.peers import peer_from_node_id, save
from caro_core.trust import TrustLevel, decide
from meshnodes import wait_for

pytestmark = pytest.mark.slow


def rotate(n):
    old = n.node_id
    done = n.caro("identity", "rotate", "--json")
    endorsement = json.loads(done.stdout)
    assert endorsement["old_node_id"] == old
    n.node_id = endorsement["new_node_id"]
    return old, endorsement


def connected_pair(nodes):
    a, b = nodes("a"), nodes("b")
    a.add_peer(b)
    b.add_peer(a)
    a.start()
    b.start()
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a))
    return a, b


def test_a_connected_peer_repins_the_rotated_key_and_both_sides_audit(nodes):
    a, b = connected_pair(nodes)
    old, endorsement = rotate(a)
    assert wait_for(lambda: b.connected_to(a) and a.connected_to(b), timeout=30), b.peers()
    repinned = [e for e in b.audited("KeyRotated") if e["peer"] == old]
    assert repinned and repinned[0]["success"] and "announced in session" in repinned[0]["details"]
    assert [e for e in a.audited("KeyRotated", b) if "re-pinned" in e["details"]]
    assert any("->" in e["details"] for e in a.audited("KeyRotated"))
    assert b.peers()[a.node_id]["trust"] == "peer"
    assert json.loads(a.caro("identity", "show", "--json").stdout)["node_id"] == a.node_id
    assert (a.home / "identity.key.previous").exists()


def test_a_peer_that_was_away_learns_the_new_key_when_they_meet_again(nodes):
    a, b = connected_pair(nodes)
    b.stop()
    old, _ = rotate(a)
    b.start()
    assert wait_for(lambda: b.connected_to(a) and a.connected_to(b), timeout=30), b.peers()
    assert [e for e in b.audited("KeyRotated") if e["peer"] == old
            and "introduction" in e["details"]]


def _endorsement(tmp_path, grace_days=7):
    old = Node.load(tmp_path / "old", environ={})
    new = Node.load(tmp_path / "new", environ={})
    endorsement = rotation.endorse(old.identity, new.identity, new.identity.cert_path.read_text(),
                                   grace_days)
    return old, new, endorsement


def test_a_forged_endorsement_is_refused(node, tmp_path):
    old, new, endorsement = _endorsement(tmp_path)
    save(node.store, peer_from_node_id(old.identity.node_id, trust=TrustLevel.PEER,
                                       decided=True))
    intruder = Node.load(tmp_path / "intruder", environ={})
    forged = dict(endorsement, new_node_id=intruder.identity.node_id,
                  certificate=intruder.identity.cert_path.read_text())
    with pytest.raises(rotation.RotationError, match="forged or altered"):
        rotation.accept(node, forged, "test")
    stranger = Node.load(tmp_path / "stranger", environ={})
    _, _, unknown = _endorsement(tmp_path / "x")
    with pytest.raises(rotation.RotationError, match="not a known peer"):
        rotation.accept(node, unknown, "test")
    for n in (old, new, intruder, stranger):
        n.close()


def test_the_old_key_is_refused_once_the_grace_period_is_over(node, tmp_path):
    old, new, endorsement = _endorsement(tmp_path)
    old_peer = peer_from_node_id(old.identity.node_id, trust=TrustLevel.PEER, decided=True)
    save(node.store, old_peer)
    accepted = rotation.accept(node, endorsement, "test")
    assert accepted.node_id == new.identity.node_id
    assert decide(node, accepted) is TrustLevel.PEER
    assert decide(node, old_peer) is TrustLevel.PEER  # still within the grace period
    assert rotation.successor(node.store, old.identity.node_id) == new.identity.node_id
    node.store.execute("UPDATE rotations SET grace_until = ?", (time.time() - 1,))
    assert decide(node, old_peer) is TrustLevel.UNTRUSTED
    late = dict(endorsement, grace_until=time.time() - 1)
    with pytest.raises(rotation.RotationError):
        rotation.accept(node, late, "test")
    old.close()
    new.close()
