"""Mesh queries between real node processes on loopback (``caro query`` through each daemon):
Scenario 4 — a supervisor and ten developer nodes, some allowing, some denying, one
unreachable — and Scenario 5 — an admin asking for recent commands gets patterns only, and no
raw command text reaches any response, any byte on the wire or any file of another node."""

import json
import os
import subprocess
import time

import pytest

from caro_core import aggregates, peers
from caro_core.audit import AuditLog
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.trust import TrustLevel
from meshnodes import CARO, MeshNode, free_port, stop_all
from polling import wait_for

pytestmark = pytest.mark.slow

MARKER = "qz9-marker-77d1"


class QueryNode(MeshNode):
    """A :class:`MeshNode` whose identity, peers and events are written in this process
    (no ``caro`` process per step), so that a dozen nodes are ready in a moment."""

    def __init__(self, root, name, config=""):
        self.name = name
        self.env = {}
        self.home = root / name
        self.home.mkdir(mode=0o700)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        (self.home / "config.toml").write_text(
            f'[mesh]\nlisten = "{self.address}"\nping_interval_s = 1.0\nmax_backoff_s = 1.0\n'
            f'[dashboard]\nenabled = false\n[procmon]\nenabled = false\n{config}')
        node = Node.load(self.home, environ={})
        self.node_id, self.fingerprint = node.identity.node_id, node.identity.fingerprint
        node.close()

    def trust(self, other, level="peer", dials=True):
        """Trust ``other``; without ``dials`` at an address nobody listens on, so that only
        ``other`` connects (two nodes dialling each other race to replace a connection)."""
        address = other.address if dials else f"127.0.0.1:{free_port()}"
        peers.append_static(self.home, address, other.node_id, TrustLevel.parse(level))

    def record(self, *commands):
        node = Node.load(self.home, environ={})
        now = time.time()
        insert_events(node.store, [
            classify(node, command, timestamp=now - 300 - i, exit_code=i % 3 and 1,
                     duration_ms=10 * i, cwd=f"/home/ann/{MARKER}", shell="bash",
                     session="bash-1-1", user="ann", elevated=False, caro_generated=False)
            for i, command in enumerate(commands)])
        node.close()

    def own(self, compute):
        node = Node.load(self.home, environ={})
        try:
            return compute(node)
        finally:
            node.close()

    def audit(self):
        return AuditLog(self.home).entries()

    def query(self, *args):
        return json.loads(self.caro("query", *args, "--json").stdout)


def start_all(nodes):
    """``caro daemon start`` for every node at once."""
    started = [subprocess.Popen([CARO, "daemon", "start"], env=dict(os.environ,
                                CARO_HOME=str(n.home), **n.env), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for n in nodes]
    for n, process in zip(nodes, started):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{n.name}: {err.decode()}"


def connected_count(node):
    state = json.loads((node.home / "daemon.json").read_text())
    return len(state.get("mesh_connected") or [])


def stop_at_once(nodes):
    """``caro daemon stop`` for every node at once; the ones that did not stop, one by one."""
    stopping = [subprocess.Popen([CARO, "daemon", "stop"], env=dict(os.environ,
                                 CARO_HOME=str(n.home)), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) for n in nodes]
    stop_all([n for n, process in zip(nodes, stopping) if process.wait(timeout=60) != 0])


@pytest.fixture
def made(tmp_path):
    nodes = []

    def make(name, config=""):
        nodes.append(QueryNode(tmp_path, name, config))
        return nodes[-1]

    yield make
    stop_at_once(nodes)


def test_scenario_4_a_supervisor_queries_ten_developer_nodes(made):
    sup = made("ciso")
    refusing = {6: '[sharing.deny]\nsupervisors = ["*"]\n', 7: '[sharing.deny]\npeers = ["*"]\n',
                8: "[sharing]\nmax_level = 1\n", 9: "[sharing.categories]\nsafety_stats = false\n"}
    devs = [made(f"dev{i}", refusing.get(i, "")) for i in range(10)]
    gone = made("gone")  # trusted, never started: unreachable
    for i, dev in enumerate(devs):
        dev.trust(sup, "supervisor", dials=False)
        sup.trust(dev)
        dev.record(*["git status"] * (i + 1), "docker ps", f"rm -rf /srv/{MARKER}",
                   *(["sudo rm -rf /"] if i % 2 else []))
    sup.trust(gone)
    start_all([sup, *devs])
    assert wait_for(lambda: connected_count(sup) == 10, timeout=60), connected_count(sup)

    result = sup.query("safety-posture", "--timeout", "10")
    allowed = devs[:6]
    assert result["contributors"] == [sup.node_id, *sorted(d.node_id for d in allowed)]
    assert result["denied"] == sorted(d.node_id for d in devs[6:])
    assert result["no_response"] == [gone.node_id]
    expected = {label: 0 for label in ("safe", "moderate", "high", "critical")}
    for dev in allowed:
        for label, count in dev.own(lambda n: aggregates.risk_counts(n.store, 0, 2e9)).items():
            expected[label] += count
    assert result["data"]["by_risk"] == expected and expected["critical"] == 3
    assert result["data"]["total"] == sum(expected.values())
    assert "risky_patterns" not in result["data"]  # Level 2 only for a supervisor (FR-705)
    assert set(result["latency_ms"]) == {d.node_id for d in devs}

    usage = sup.query("tool-usage", "--filter", "category in git,docker")
    tool_users = devs[:6] + devs[9:]  # dev9 withholds safety stats only
    assert usage["contributors"][1:] == sorted(d.node_id for d in tool_users)
    assert usage["data"]["total_commands"] == sum(i + 2 for i in (0, 1, 2, 3, 4, 5, 9))
    assert usage["data"]["by_category"]["git"]["node_count"] == 7

    human = sup.caro("query", "safety-posture").stdout
    assert "denied       4:" in human and f"no response  1: {gone.fingerprint}" in human
    assert wait_for(lambda: all(len(d.audited("ResponseSent")) == 3 for d in devs))
    audit = {d.name: d.audit() for d in (devs[0], devs[6], devs[8])}
    assert any(e["event_type"] == "QueryReceived" and "safety-posture: level 2" in e["details"]
               for e in audit["dev0"])
    for name in ("dev6", "dev8"):
        assert any(e["event_type"] == "QueryDenied" and "level 0" in e["details"]
                   for e in audit[name])


def test_scenario_5_an_admin_gets_patterns_never_commands(made, tmp_path):
    dev, admin = made("dev"), made("admin")
    for n in (dev, admin):
        n.env["CARO_WIRE_TRACE"] = str(tmp_path / f"{n.name}-wire.bin")
    dev.trust(admin, dials=False)
    admin.trust(dev)
    dev.record("git commit -m 'fix " + MARKER + "'", f"git push origin {MARKER}-branch",
               f"ssh {MARKER}.internal.example", f"grep -r {MARKER} /etc",
               f"curl https://{MARKER}.example/api", f"docker run {MARKER}/image",
               f"rm -rf /srv/{MARKER}/cache", f"./deploy-{MARKER}.sh --prod")
    start_all([dev, admin])
    assert wait_for(lambda: connected_count(admin) == 1, timeout=30)

    refused = admin.caro("query", "recent-commands", check=False)
    assert refused.returncode == 2 and "unknown query type 'recent-commands'" in refused.stderr
    wrong = admin.caro("query", "anomalies", "--filter", "category=git", check=False)
    assert wrong.returncode == 2 and wrong.stderr.startswith("caro: anomalies queries filter on")
    responses = [admin.caro("query", kind, "--json", "--since", "1w").stdout
                 for kind in ("tool-usage", "safety-posture", "activity", "anomalies", "health")]
    responses.append(admin.caro("query", "tool-usage").stdout)
    usage = json.loads(responses[0])
    assert usage["contributors"] == [admin.node_id, dev.node_id]
    assert usage["data"]["patterns"] == {"curl": 1, "docker run": 1, "git commit": 1,
                                         "git push": 1, "other": 2, "rm": 1, "ssh": 1}
    assert all(MARKER not in text for text in responses)
    received = wait_for(lambda: [e for e in dev.audit() if e["event_type"] == "QueryReceived"]
                        if len(dev.audited("ResponseSent")) == 6 else None)
    assert len(received) == 6 and all(": level 1 (" in e["details"] for e in received)

    stop_at_once([dev, admin])
    for name in ("dev", "admin"):
        sent = (tmp_path / f"{name}-wire.bin").read_bytes()
        assert MARKER.encode() not in sent
    assert b"git commit" in (tmp_path / "dev-wire.bin").read_bytes()
    leaked = [p for p in admin.home.rglob("*") if p.is_file() and MARKER.encode() in p.read_bytes()]
    assert leaked == []
