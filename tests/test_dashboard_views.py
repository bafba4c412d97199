"""The team and security views over a scripted mesh: what the queries answer is faked
(``caro_core.query.run``); everything else — server, store, peers, policy — is real."""

import re
import time
from urllib.parse import urlsplit

import pytest

from caro_core import peers
from caro_core.dashboard import period_range
from caro_core.runtime import RuntimeState
from caro_core.trust import TrustLevel
import test_dashboard_browser
import test_dashboard_server
from test_dashboard_browser import LOOPBACK, run_chromium

client, serve = test_dashboard_server.client, test_dashboard_server.serve  # shared fixtures
chromium = test_dashboard_browser.chromium

TOOLS = {"by_category": {"git": {"count": 600, "node_count": 3, "avg_duration_ms": 120,
                                 "failure_rate": 0.05},
                         "kubectl": {"count": 300, "node_count": 3, "avg_duration_ms": 900,
                                     "failure_rate": 0.2},
                         "docker": {"count": 100, "node_count": 2, "avg_duration_ms": 4000,
                                    "failure_rate": None}},
         "total_commands": 1000, "patterns": {"git commit": 400}}
BEFORE = {"by_category": {"git": {"count": 300, "node_count": 3, "avg_duration_ms": 100,
                                  "failure_rate": 0.1},
                          "kubectl": {"count": 100, "node_count": 2, "avg_duration_ms": 800,
                                      "failure_rate": 0.1},
                          "docker": {"count": 50, "node_count": 2, "avg_duration_ms": 3000,
                                     "failure_rate": None},
                          "legacy": {"count": 50, "node_count": 1, "avg_duration_ms": 10,
                                     "failure_rate": 0.0}},
          "total_commands": 500}
HOURLY = [0] * 8 + [40, 90, 70, 50] + [20] * 12
DATA = {  # merged data as the query plugins shape it (plugins/query_*.py)
    "tool-usage": TOOLS,
    "safety-posture": {"by_risk": {"safe": 890, "moderate": 80, "high": 20, "critical": 10},
                       "total": 1000, "risk_distribution": {"safe": 89.0, "moderate": 8.0,
                                                            "high": 2.0, "critical": 1.0},
                       "nodes_by_risk": {"safe": 3, "moderate": 3, "high": 2, "critical": 1},
                       "confirmed_risky": 7, "blocked_count": 3},
    "activity": {"hourly": HOURLY, "daily": [300, 250, 250, 200, 170, 30, 0], "total": sum(HOURLY),
                 "hourly_pattern": [h / 90 for h in HOURLY], "daily_pattern": [1.0] * 7,
                 "peak_hours": [9, 10, 11], "active_nodes": 3},
    "anomalies": {"count": 4, "by_kind": {"UnusualPattern": 3, "HighFailureRate": 1},
                  "by_level": {"low": 1, "medium": 3, "high": 0, "critical": 0},
                  "max_severity": 6, "nodes_affected": 2,
                  "signals": [{"kind": "UnusualPattern", "severity": 6, "node": "0123456789abcdef",
                               "description": "SIGNAL-OF-ONE-NODE"}]},
}


def new_node_id():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from caro_core.identity import node_id_for

    key = Ed25519PrivateKey.generate().public_key()
    return node_id_for(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


class FakeMesh:
    """Stands in for ``caro_core.query.run``: which nodes answer, refuse or stay silent.

    Like the real one, this node answers its own queries (first among the contributors)."""

    def __init__(self, node, count=5):
        self.node = node
        self.ids = [new_node_id() for _ in range(count)]
        for i, node_id in enumerate(self.ids):
            peers.append_static(node.home, f"127.0.0.1:{9400 + i}", node_id, TrustLevel.PEER)
        self.contributors, self.denied, self.no_response = self.ids[:3], self.ids[3:4], self.ids[4:]
        self.withheld = None
        self.calls = []
        self.failing = set()

    def run(self, node, query_type, since=None, until=None, filters=(), timeout_s=5.0):
        from caro_core.query import QueryResult

        self.calls.append((query_type, since, until, timeout_s))
        if query_type in self.failing:
            raise RuntimeError("the mesh broke")
        before = until < time.time()  # the previous period ends in the past, the current one not
        data = BEFORE if before and query_type == "tool-usage" else DATA[query_type]
        return QueryResult(
            "q-1", query_type, since, until, [], None if self.withheld else data,
            [node.identity.node_id, *self.contributors], list(self.denied),
            list(self.no_response), 60.0,
            latency_ms={node_id: 30 + 10 * i for i, node_id in enumerate(self.contributors)},
            withheld=self.withheld)


@pytest.fixture
def mesh(node, client, monkeypatch):
    """A logged-in client, five trusted peers of which four are connected, and the fake mesh."""
    fake = FakeMesh(node)
    monkeypatch.setattr("caro_core.query.run", fake.run)
    node.runtime = RuntimeState(node.home)
    node.runtime.publish(mesh_connected=fake.ids[:4])
    client.login()
    yield fake
    node.runtime.remove()
    node.runtime = None


def panel(client, view, panel_id, period="today"):
    data = client.json(f"/api/{view}/{panel_id}?period={period}")
    assert data["id"] == panel_id and data["view"] == view
    return data["data"]


def section(html, panel_id):
    start = html.index(f'id="panel-{panel_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_without_a_connected_peer_the_views_say_they_need_the_mesh(node, client, monkeypatch):
    asked = []
    monkeypatch.setattr("caro_core.query.run", lambda *args, **kwargs: asked.append(args))
    client.login()
    for view, title in (("team", "Team nodes"), ("security", "Mesh health")):
        data = client.json(f"/api/{view}")
        assert [p["id"] for p in data["panels"]] == ["nodes", "mesh"] and data["errors"] == []
        assert data["panels"][0]["title"] == title
        nodes = data["panels"][0]["data"]
        assert nodes["available"] is False and nodes["queries"] == 0
        assert nodes["needs"] == ["peers in the mesh: no peer is connected"]
        assert (nodes["online"], nodes["total"]) == (0, 0)
        _, _, html = client.get(f"/{view}")
        assert "Needs peers in the mesh: no peer is connected." in html
    assert asked == []  # no peer, no query


def test_the_security_view_shows_the_mesh_in_aggregate(mesh, client):
    data = client.json("/api/security?period=week")
    assert [p["id"] for p in data["panels"]] == ["nodes", "risk", "anomalies", "trends", "mesh"]
    assert data["errors"] == []

    nodes = data["panels"][0]["data"]
    assert nodes["available"] is True and nodes["needs"] == []
    assert (nodes["online"], nodes["total"]) == (4, 5)
    assert (nodes["answered"], nodes["denied"], nodes["no_response"]) == (3, 1, 1)
    assert nodes["avg_response_ms"] == 40  # 30, 40 and 50 ms
    assert sorted(n["state"] for n in nodes["nodes"]) == ["answered"] * 3 + ["denied", "silent"]
    assert {n["fingerprint"] for n in nodes["nodes"]} == {
        peers.peer_from_node_id(node_id).fingerprint for node_id in mesh.ids}

    risk = panel(client, "security", "risk", "week")
    assert risk["shares"]["safe"] == pytest.approx(0.89) and risk["total"] == 1000
    assert risk["blocked"] == 3 and risk["confirmed_risky"] == 7
    assert (risk["contributors"], risk["denied"], risk["no_response"]) == (3, 1, 1)
    assert risk["withheld"] is None

    anomalies = panel(client, "security", "anomalies", "week")
    assert anomalies["by_kind"] == {"UnusualPattern": 3, "HighFailureRate": 1, "UnusualTiming": 0,
                                    "RepeatedRisky": 0, "BaselineDeviation": 0}
    assert (anomalies["nodes_affected"], anomalies["max_severity"]) == (2, 6)

    trends = {t["category"]: t for t in panel(client, "security", "trends", "week")["trends"]}
    assert trends["kubectl"]["note"] == "▲ 50%"  # 30 % of the commands, against 20 %
    assert trends["kubectl"]["share"] == pytest.approx(0.3)
    assert trends["git"]["note"] == "─ stable" and trends["docker"]["note"] == "─ stable"
    assert trends["legacy"]["note"] == "▼ gone"


def test_the_security_view_shows_no_node_id_and_no_numbers_of_one_node(mesh, client, node):
    data = client.json("/api/security?period=week")
    mine = [p for p in data["panels"] if p["id"] != "mesh"]  # the mesh status lists known peers
    text = repr(mine)
    assert not any(node_id in text for node_id in [node.identity.node_id, *mesh.ids])
    assert "SIGNAL-OF-ONE-NODE" not in text and "git commit" not in text
    assert "0123456789abcdef" not in text  # Level-1 signals name their node: never shown
    for row in mine[0]["data"]["nodes"]:
        assert set(row) == {"fingerprint", "state", "online"}
    _, _, html = client.get("/security?period=week")
    for panel_id in ("nodes", "risk", "anomalies", "trends"):
        shown = section(html, panel_id)
        assert not any(node_id in shown for node_id in mesh.ids)
        assert "SIGNAL-OF-ONE-NODE" not in shown and "0123456789abcdef" not in shown


def test_the_security_page_draws_the_mock_up_as_inline_svg(mesh, client):
    _, _, html = client.get("/security?period=week")
    assert "<dt>Nodes online</dt><dd>4/5</dd>" in html
    assert "<dt>Avg response</dt><dd>40 ms</dd>" in html
    risk = section(html, "risk")
    assert "<svg" in risk and ">Safe</text>" in risk and ">89%</text>" in risk
    note = "This node and 3 of 5 other nodes answered (1 refused, 1 did not answer in time)."
    assert note in risk
    anomalies = section(html, "anomalies")
    assert '<span class="badge risk-high">⚠ 3</span> Unusual command patterns' in anomalies
    assert "No repeated risky commands detected" in anomalies
    assert "<dt>Nodes with signals</dt><dd>2 of 4</dd>" in anomalies
    trends = section(html, "trends")
    assert '<rect class="bar up"' in trends and ">▲ 50%</text>" in trends
    assert ">▼ gone</text>" in trends and ">─ stable</text>" in trends
    assert "<script" not in html and "style=" not in html


def test_queries_cover_the_period_and_the_previous_one_with_a_short_deadline(mesh, client):
    for period in ("today", "week", "month"):
        mesh.calls.clear()
        client.json(f"/api/security?period={period}")
        start, end = period_range(period, time.time())
        asked = sorted((query_type, since, until) for query_type, since, until, _ in mesh.calls)
        assert [c[0] for c in asked] == ["anomalies", "safety-posture", "tool-usage", "tool-usage"]
        previous = [c for c in asked if c[2] <= start]
        assert {c[1:] for c in asked if c not in previous} == {(start, end)}
        (_, since, until), = previous
        length = end - start
        assert since == start - length and start - length <= until <= time.time() - length
        assert until % 900 == 0 and until - since >= 900  # to the quarter hour: cached a while
        assert {timeout for *_, timeout in mesh.calls} == {2.0}


def test_the_security_view_withholds_aggregates_over_fewer_nodes_than_the_cohort(mesh, client):
    mesh.contributors, mesh.denied = mesh.ids[:2], mesh.ids[2:4]  # min_cohort is 3
    for panel_id in ("risk", "anomalies", "trends"):
        assert panel(client, "security", panel_id) == {
            "contributors": 2, "denied": 2, "failed": 0, "no_response": 1,
            "withheld": "only 2 other nodes answered: fewer than the minimum cohort (3), so "
                        "the aggregate is withheld"}
    _, _, html = client.get("/security")
    assert html.count("Only 2 other nodes answered: fewer than the minimum cohort (3)") == 3
    assert "89%" not in html and "Unusual command" not in html
    team = panel(client, "team", "adoption")  # Level-1 answers: the team view may show them
    assert team["withheld"] is None and team["total_commands"] == 1000


def test_an_aggregate_the_query_module_withholds_is_withheld_on_both_views(mesh, client):
    mesh.withheld = ("only 2 node(s) answered at Level 2: fewer than the minimum cohort (3), "
                     "so the aggregate is withheld")
    for view, panel_id in (("team", "adoption"), ("team", "activity"), ("security", "risk")):
        assert panel(client, view, panel_id)["withheld"] == mesh.withheld
    _, _, html = client.get("/team")
    assert html.count("Only 2 node(s) answered at Level 2") == 3


def test_when_every_node_refuses_the_views_say_so(mesh, client):
    mesh.contributors, mesh.denied, mesh.no_response = [], mesh.ids[:4], []
    for view in ("team", "security"):
        data = client.json(f"/api/{view}")
        assert [p["id"] for p in data["panels"]] == ["nodes", "mesh"]
        nodes = data["panels"][0]["data"]
        assert nodes["available"] is False and nodes["denied"] == 4
        assert "every node that answered refused" in nodes["needs"][0]
    mesh.denied, mesh.no_response = [], mesh.ids[:4]
    nodes = client.json("/api/security")["panels"][0]["data"]
    assert nodes["needs"] == ["an answer: no other node answered in time"]
    assert nodes["online"] == 4 and nodes["no_response"] == 4


def test_a_failing_query_costs_only_its_panel(mesh, client):
    mesh.failing = {"anomalies"}
    data = client.json("/api/security")
    assert [p["id"] for p in data["panels"]] == ["nodes", "risk", "anomalies", "trends", "mesh"]
    assert panel(client, "security", "anomalies") == {"error": "RuntimeError: the mesh broke"}
    assert panel(client, "security", "risk")["withheld"] is None
    _, _, html = client.get("/security")
    assert "RuntimeError: the mesh broke" in section(html, "anomalies")


def test_the_team_view(mesh, client):
    data = client.json("/api/team?period=month")
    assert [p["id"] for p in data["panels"]] == ["nodes", "adoption", "activity", "failures",
                                                 "mesh"]
    adoption = panel(client, "team", "adoption", "month")
    assert [t["category"] for t in adoption["tools"]] == ["git", "kubectl", "docker"]
    assert adoption["tools"][1] == {"category": "kubectl", "count": 300, "node_count": 3,
                                    "avg_duration_ms": 900, "failure_rate": 0.2}
    assert adoption["total_commands"] == 1000
    failures = panel(client, "team", "failures", "month")["failure_rates"]
    assert failures == {"git": 0.05, "kubectl": 0.2}
    activity = panel(client, "team", "activity", "month")
    assert activity["hourly"] == HOURLY and activity["peak_hours"] == [9, 10, 11]
    _, _, html = client.get("/team?period=month")
    assert ">3 of 4 · 300 cmds</text>" in section(html, "adoption")
    assert len(re.findall("<svg", section(html, "activity"))) == 2
    assert "Busiest hours: 09:00, 10:00, 11:00." in section(html, "activity")
    assert ">20%</text>" in section(html, "failures")
    assert "git commit" not in html  # Level-1 patterns are not drawn
    assert {c[0] for c in mesh.calls} == {"tool-usage", "activity"}


@pytest.mark.slow
def test_chromium_draws_the_security_view_from_this_machine_only(chromium, mesh, client,
                                                                 tmp_path):
    url = f"http://127.0.0.1:{client.port}/security?period=week&token={client.token}"
    shot = tmp_path / "security.png"
    dom, urls = run_chromium(chromium, tmp_path, "security", url, "--dump-dom",
                             f"--screenshot={shot}")
    assert re.findall(r'<section class="panel" id="panel-([a-z-]+)"', dom) == [
        "nodes", "risk", "anomalies", "trends", "mesh"]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert {urlsplit(u).hostname for u in urls} <= LOOPBACK


def test_when_every_query_fails_the_view_says_why(mesh, client):
    mesh.failing = {"tool-usage", "activity"}
    nodes = client.json("/api/team")["panels"][0]["data"]
    assert nodes["available"] is False
    assert nodes["needs"] == ["working queries: RuntimeError: the mesh broke"]
    assert nodes["failures"] == {"tools": "RuntimeError: the mesh broke",
                                 "activity": "RuntimeError: the mesh broke"}
