"""Subnet trust (FR-703, plugin trust_subnet): the level of the network a peer connects from,
below a person's and the static list's word, above the organisation CA and TOFU; and between
real nodes in network namespaces, one subnet trusted and one not."""

import os
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caro_core import ca, peers, policy
from caro_core.audit import AuditLog
from caro_core.errors import ConfigError
from caro_core.identity import node_id_for
from caro_core.node import Node
from caro_core.plugins import BUILTIN_PLUGINS
from caro_core.runtime import read_state
from caro_core.trust import TrustLevel, decide
from caro_plugins import trust_subnet
from meshnodes import CARO, MeshNode, wait_for

#: registers the plugin by hand until it is a built-in
EXTRA = () if any(name == "trust_subnet" for _, name in BUILTIN_PLUGINS) else (
    ("trust_subnet", trust_subnet),)

DOMAINS = """
[trust.domains]
org = { subnet = "10.0.0.0/8", role = "query-from" }
security = { subnet = "10.0.2.0/24", role = "supervisor" }
contractors = { subnet = "10.0.3.0/24", role = "untrusted" }
lab = { subnet = "fd00:ca20::/64", role = "peer" }
"""


def load(home, config=DOMAINS):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(config)
    return Node.load(home, environ={}, extra_plugins=EXTRA)


def new_peer(remote_address=None, **fields):
    key = Ed25519PrivateKey.generate().public_key()
    return peers.peer_from_node_id(node_id_for(key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
                                   remote_address=remote_address, **fields)


@pytest.fixture
def node(tmp_path):
    n = load(tmp_path / "home")
    yield n
    n.close()


@pytest.mark.parametrize("address, level, source", [
    ("10.0.2.7", TrustLevel.SUPERVISOR, "subnet"),  # the most specific domain wins
    ("10.9.9.9", TrustLevel.QUERY_FROM, "subnet"),
    ("10.0.3.4", TrustLevel.UNTRUSTED, "subnet"),
    ("::ffff:10.0.2.7", TrustLevel.SUPERVISOR, "subnet"),  # IPv4 on a dual-stack listener
    ("fd00:ca20::5", TrustLevel.PEER, "subnet"),
    ("192.168.1.1", TrustLevel.UNTRUSTED, "cli"),  # in no domain: no opinion
    ("build.example.org", TrustLevel.UNTRUSTED, "cli"),  # host names are never resolved
    (None, TrustLevel.UNTRUSTED, "cli"),
])
def test_a_peer_gets_the_level_of_the_most_specific_domain(node, address, level, source):
    peer = new_peer(address)
    assert decide(node, peer) is level
    assert peer.source == source


def test_the_static_list_and_a_person_s_decision_win(node):
    static = new_peer("10.0.2.7")
    peers.append_static(node.home, "10.0.2.7:9238", static.node_id, TrustLevel.QUERY_FROM)
    assert decide(node, static) is TrustLevel.QUERY_FROM
    revoked = new_peer("10.0.2.8", trust=TrustLevel.UNTRUSTED, decided=True)
    peers.save(node.store, revoked)
    assert decide(node, revoked) is TrustLevel.UNTRUSTED


def test_a_domain_decides_before_the_organisation_ca_and_tofu(node, tmp_path):
    ca.create_root(tmp_path / "ca", "Test org root", 30)
    (node.home / ca.ROOT_FILE).write_text((tmp_path / "ca" / ca.CA_CERT_FILE).read_text())
    peer = new_peer()
    pem = ca.to_pem(ca.issue(tmp_path / "ca", peer.node_id, 30))
    for address, level in (("192.168.1.1", TrustLevel.PEER), ("10.0.2.7", TrustLevel.SUPERVISOR),
                           ("10.0.3.4", TrustLevel.UNTRUSTED)):
        peer.remote_address, peer.certificate = address, pem
        assert decide(node, peer) is level, address
    # an untrusted domain is not even held pending by TOFU
    stranger = new_peer("10.0.3.9", certificate=pem)
    assert decide(node, stranger) is TrustLevel.UNTRUSTED
    assert peers.get(node.store, stranger.node_id) is None


def test_the_sharing_policy_answers_by_the_subnet_a_live_peer_comes_from(node):
    assert policy.decide(node, new_peer("10.0.2.7"), "safety-posture").level == 2
    assert policy.decide(node, new_peer("10.4.5.6"), "safety-posture").level == 1
    refused = policy.decide(node, new_peer("10.0.3.4"), "safety-posture")
    assert refused.denied and refused.rule == "trust"


@pytest.mark.parametrize("domain, message", [
    ('{ subnet = "10.0.1.5/24", role = "peer" }', "has host bits set"),
    ('{ subnet = "10.0.1.0/24", role = "boss" }', "unknown trust level 'boss'"),
    ('{ subnet = "10.0.1.0/24" }', 'expected { subnet = "CIDR", role = "LEVEL" }'),
    ('{ subnet = 10, role = "peer" }', "is not a network"),
])
def test_a_malformed_domain_is_one_line_naming_it(tmp_path, domain, message):
    n = load(tmp_path / "home", f"[trust.domains]\nteam = {domain}\n")
    try:
        with pytest.raises(ConfigError) as e:
            decide(n, new_peer("10.0.1.9"))
        assert message in str(e.value) and "[trust.domains] team" in str(e.value)
        assert "\n" not in str(e.value)
    finally:
        n.close()


# -- real nodes in network namespaces ---------------------------------------------------

RUNNER = """
import os, sys
from pathlib import Path
import click
from caro_core import daemon
from caro_core.node import Node
from caro_plugins import trust_subnet
extra = (("trust_subnet", trust_subnet),) if sys.argv[2] == "extra" else ()
daemon.run_foreground(Node.load(Path(sys.argv[1]), os.environ, extra), click.echo)
"""
PORT = 9238


def ip(*args, ns=None):
    command = ["ip", "netns", "exec", ns, "ip", *args] if ns else ["ip", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")


def netns_unavailable():
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "iproute2 ('ip') is not installed"
    return None


@pytest.mark.slow
@pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable()))
def test_real_nodes_from_a_trusted_and_an_untrusted_subnet(tmp_path):
    """hub (10.231.1.1 and 10.231.2.1) trusts 10.231.1.0/24 as peer and 10.231.2.0/24 not at
    all; node a dials it from 10.231.1.2, node b from 10.231.2.2, each from its own namespace."""
    tag = f"caro{os.getpid() % 100000}"
    spaces = {name: f"{tag}{name}" for name in ("h", "a", "b")}
    created, hub_process, started = [], None, []
    try:
        try:
            for ns in spaces.values():
                ip("netns", "add", ns)
                created.append(ns)
                ip("link", "set", "lo", "up", ns=ns)
            for n, name in enumerate(("a", "b"), 1):
                ip("link", "add", f"v{name}", "type", "veth", "peer", "name", f"h{name}",
                   "netns", spaces["h"], ns=spaces[name])
                ip("addr", "add", f"10.231.{n}.2/24", "dev", f"v{name}", ns=spaces[name])
                ip("addr", "add", f"10.231.{n}.1/24", "dev", f"h{name}", ns=spaces["h"])
                ip("link", "set", f"v{name}", "up", ns=spaces[name])
                ip("link", "set", f"h{name}", "up", ns=spaces["h"])
        except RuntimeError as e:
            pytest.skip(f"cannot build network namespaces with veth pairs here: {e}")

        hub, a, b = (MeshNode(tmp_path, name) for name in ("hub", "a", "b"))
        mesh_config = "ping_interval_s = 1.0\nmax_backoff_s = 2.0\n[dashboard]\nenabled = false\n"
        (hub.home / "config.toml").write_text(
            f'[mesh]\nlisten = "0.0.0.0:{PORT}"\n{mesh_config}'
            f'[trust.domains]\nteam = {{ subnet = "10.231.1.0/24", role = "peer" }}\n'
            f'contractors = {{ subnet = "10.231.2.0/24", role = "untrusted" }}\n')
        for n, member in enumerate((a, b), 1):
            (member.home / "config.toml").write_text(
                f'[mesh]\nlisten = "10.231.{n}.2:{PORT}"\n{mesh_config}')
            member.caro("peers", "add", f"10.231.{n}.1:{PORT}", "--id", hub.node_id)

        with open(tmp_path / "hub.err", "w") as hub_err:  # the child keeps its own copy
            hub_process = subprocess.Popen(
                ["ip", "netns", "exec", spaces["h"], sys.executable, "-c", RUNNER,
                 str(hub.home), "extra" if EXTRA else "builtin"],
                env=dict(os.environ, CARO_HOME=str(hub.home)), stdout=subprocess.DEVNULL,
                stderr=hub_err)
        assert wait_for(lambda: read_state(hub.home).get("mesh_listen"), timeout=20), \
            (tmp_path / "hub.err").read_text()
        for member, name in ((a, "a"), (b, "b")):
            subprocess.run(["ip", "netns", "exec", spaces[name], CARO, "daemon", "start"],
                           env=dict(os.environ, CARO_HOME=str(member.home)), check=True,
                           capture_output=True, timeout=60)
            started.append(member)

        def connected():
            return set(read_state(hub.home).get("mesh_connected") or ())

        assert wait_for(lambda: a.node_id in connected() and a.connected_to(hub), timeout=30)
        audit = AuditLog(hub.home)
        assert wait_for(lambda: [e for e in audit.entries() if e["event_type"] == "PeerRefused"
                                 and e["peer"] == b.node_id], timeout=30)
        refused = [e for e in audit.entries() if e["peer"] == b.node_id]
        assert refused and all("10.231.2.2" in e["details"] for e in refused)
        assert b.node_id not in connected() and not b.connected_to(hub)
        view = Node.load(hub.home, environ={}, extra_plugins=EXTRA)
        try:
            known = peers.get(view.store, a.node_id)
            assert (known.source, known.remote_address) == ("subnet", "10.231.1.2")
            assert decide(view, known) is TrustLevel.PEER
            assert peers.get(view.store, b.node_id) is None  # not even pending
        finally:
            view.close()
        connected_entry = [e for e in audit.entries() if e["event_type"] == "PeerConnected"
                           and e["peer"] == a.node_id]
        assert connected_entry and "10.231.1.2 trust peer" in connected_entry[0]["details"]
    finally:
        for member in started:
            member.stop()
        if hub_process is not None:
            hub_process.terminate()
            try:
                hub_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                hub_process.kill()
                hub_process.wait(timeout=5)
        for ns in created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
