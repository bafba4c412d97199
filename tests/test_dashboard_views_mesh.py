"""The security and team views of a supervisor's running daemon, filled by real developer nodes:
the aggregates are the sum of what the consenting nodes hold, a refusing node is listed as
refused, and below the minimum cohort the numbers are withheld."""

import time

import pytest

from caro_core import aggregates
from caro_core.dashboard import load_token
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.runtime import read_state
from polling import wait_for
from test_dashboard_server import Client

pytestmark = pytest.mark.slow

MARKER = "zz-dashboard-marker-41"


def record(mesh_node, *commands):
    node = Node.load(mesh_node.home, environ={})
    now = time.time()
    insert_events(node.store, [
        classify(node, command, timestamp=now - 120 - i, exit_code=i % 2, duration_ms=20,
                 cwd=f"/home/dev/{MARKER}", shell="bash", session="bash-1-1", user="dev",
                 elevated=False, caro_generated=False)
        for i, command in enumerate(commands)])
    node.close()


def risk_counts(mesh_node):
    node = Node.load(mesh_node.home, environ={})
    try:
        return aggregates.risk_counts(node.store, 0, 2e9)
    finally:
        node.close()


def connected(mesh_node):
    return set(read_state(mesh_node.home).get("mesh_connected") or [])


def test_a_supervisor_sees_the_mesh_in_aggregate_and_never_one_node(nodes):
    quiet = "[procmon]\nenabled = false\n"
    ciso = nodes("ciso")
    (ciso.home / "config.toml").write_text(
        (ciso.home / "config.toml").read_text().replace(
            "[dashboard]\nenabled = false\n", '[dashboard]\nlisten = "127.0.0.1:0"\n')
        + quiet + "[query]\ncache_ttl_s = 0\n")
    devs = [nodes(f"dev{i}", quiet + ('[sharing.deny]\nsupervisors = ["*"]\n' if i == 3 else ""))
            for i in range(4)]
    for i, dev in enumerate(devs):
        dev.add_peer(ciso, "supervisor")
        ciso.add_peer(dev)
        record(dev, *["git status"] * (i + 2), "kubectl get pods", f"rm -rf /srv/{MARKER}")
    for n in (ciso, *devs):
        n.start()
    everyone = {dev.node_id for dev in devs}
    assert wait_for(lambda: connected(ciso) == everyone, timeout=60), connected(ciso)

    url = read_state(ciso.home)["dashboard_url"]
    client = Client(int(url.rsplit(":", 1)[1]), load_token(ciso.home)).login()
    view = client.json("/api/security")
    panels = {p["id"]: p["data"] for p in view["panels"]}
    assert list(panels) == ["nodes", "risk", "anomalies", "trends", "mesh"], view["errors"]

    health = panels["nodes"]
    assert (health["online"], health["total"]) == (4, 4) and health["available"] is True
    assert (health["answered"], health["denied"], health["no_response"]) == (3, 1, 0)
    states = {n["fingerprint"]: n["state"] for n in health["nodes"]}
    assert states == {**{d.fingerprint: "answered" for d in devs[:3]},
                      devs[3].fingerprint: "denied"}
    assert health["avg_response_ms"] is not None

    risk = panels["risk"]
    expected = {level: sum(risk_counts(dev)[level] for dev in devs[:3]) for level in risk["counts"]}
    assert risk["counts"] == expected and risk["total"] == sum(expected.values()) == 15
    assert (risk["contributors"], risk["denied"], risk["withheld"]) == (3, 1, None)
    tools = {t["category"] for t in client.json("/api/team/adoption")["data"]["tools"]}
    assert {"git", "kubernetes"} <= tools

    _, _, html = client.get("/security")
    assert "<dt>Nodes online</dt><dd>4/4</dd>" in html and "<svg" in html
    assert MARKER not in html and MARKER not in repr(view)
    assert not any(dev.node_id in html.split('id="panel-mesh"')[0] for dev in devs)

    devs[0].stop()  # two consenting nodes left: fewer than the minimum cohort of 3
    assert wait_for(lambda: connected(ciso) == everyone - {devs[0].node_id}, timeout=30)
    panels = {p["id"]: p["data"] for p in client.json("/api/security")["panels"]}
    assert (panels["nodes"]["online"], panels["nodes"]["no_response"]) == (3, 1)
    assert panels["risk"]["withheld"].startswith("only 2 node")
    assert "counts" not in panels["risk"] and "by_kind" not in panels["anomalies"]
    _, _, html = client.get("/security")
    assert "Only 2 node" in html and "1 did not answer in time" in html
