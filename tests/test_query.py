"""caro_core.query and the five query plugins on one node: filters, the signed query and
answers, what each type answers at Level 1 and at Level 2 (never a command, patterns at Level 1
only, noise with epsilon), the merges, ``caro query`` without a daemon, and the control
channel."""

import json
import os
import stat
import time

import pytest

from caro_core import control, query
from caro_core.errors import CaroError
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.query import Filter, MeshQuery, QueryError, parse_filter
from caro_plugins import (query_activity, query_anomalies, query_health, query_safety_posture,
                          query_tool_usage)

MARKER = "qm4-marker-0b2e"
NOW = time.time()
COMMANDS = ["git status", "git status", f"git commit -m '{MARKER}'", f"rm -rf /srv/{MARKER}",
            "docker ps", f"ssh {MARKER}.example", "sudo rm -rf /"]


def record(node, commands=COMMANDS, exit_code=0):
    insert_events(node.store, [
        classify(node, command, timestamp=NOW - 600 - i, exit_code=exit_code, duration_ms=10,
                 cwd=f"/home/ann/{MARKER}", shell="bash", session="bash-1-1", user="ann",
                 elevated=False, caro_generated=False)
        for i, command in enumerate(commands)])


def ask(node, query_type, level, *filters, since=NOW - 3600, until=NOW):
    asked = MeshQuery.create(node.identity, query_type, since, until,
                             [parse_filter(f) for f in filters])
    return query.compute(node, asked, level)


# -- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("category=git", Filter("category", "Equals", "git")),
    ("category != git", Filter("category", "NotEquals", "git")),
    ("category~net", Filter("category", "Contains", "net")),
    ("count>10", Filter("count", "GreaterThan", "10")),
    ("severity<5", Filter("severity", "LessThan", "5")),
    ("category in git,docker", Filter("category", "InList", "git,docker")),
])
def test_filters_are_written_as_people_type_them(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text, message", [
    ("category", "bad filter 'category'"),
    ("=git", "bad filter '=git'"),
    ("Category=git", "bad filter field"),
    ("count>many", "'many' is not a number"),
    ("category=" + "x" * 300, "at most 256 characters"),
])
def test_a_bad_filter_is_one_line(text, message):
    with pytest.raises(QueryError, match=message):
        parse_filter(text)


def test_filters_match_text_numbers_and_lists():
    assert parse_filter("severity=5").matches(5.0) and not parse_filter("severity!=5").matches(5)
    assert parse_filter("category~NET").matches("network")
    assert parse_filter("category in git, docker").matches("docker")
    assert parse_filter("count>10").matches(11) and not parse_filter("count>10").matches("x")
    assert parse_filter("count<10").matches(9.5) and not parse_filter("count<10").matches(10)
    assert parse_filter("online=true").matches(True)


# -- signatures ---------------------------------------------------------------------------------

def test_a_query_verifies_and_any_change_breaks_its_signature(node):
    asked = MeshQuery.create(node.identity, "tool-usage", NOW - 60, NOW, [parse_filter("count>1")])
    wire = asked.to_wire()
    assert MeshQuery.from_wire(dict(wire)) == asked
    for key, value in [("query_type", "health"), ("time_range", [NOW - 7200, NOW]),
                       ("filters", []), ("timeout_ms", 60000)]:
        with pytest.raises(QueryError, match="signature does not verify"):
            MeshQuery.from_wire({**wire, key: value})
    with pytest.raises(QueryError, match="malformed"):
        MeshQuery.from_wire({**wire, "timeout_ms": 10 ** 9})


def test_an_answer_verifies_only_unchanged_and_for_its_own_query(node):
    asked = MeshQuery.create(node.identity, "health", NOW - 60, NOW)
    answer = query.sign_answer(node, asked, 1, "ok", {"nodes": 1}, relayed_to=["caro:x"])
    assert query.verify_answer(dict(answer), asked)["data"] == {"nodes": 1}
    for key, value in [("data", {"nodes": 2}), ("level", 2), ("status", "access-denied"),
                       ("relayed_to", [])]:
        with pytest.raises(query.AnswerError, match="does not verify"):
            query.verify_answer({**answer, key: value}, asked)
    other = MeshQuery.create(node.identity, "health", NOW - 60, NOW)
    with pytest.raises(query.AnswerError, match="another query"):
        query.verify_answer(answer, other)


# -- what each type answers ------------------------------------------------------------------

def test_tool_usage_patterns_at_level_1_only(node):
    record(node)
    level1 = ask(node, "tool-usage", 1)
    assert level1["total_commands"] == 7
    assert level1["by_category"]["git"] == {"count": 3, "avg_duration_ms": 10,
                                            "failure_rate": 0.0}
    assert level1["patterns"] == {"docker ps": 1, "git commit": 1, "git status": 2, "rm": 2,
                                  "ssh": 1}
    level2 = ask(node, "tool-usage", 2)
    assert "patterns" not in level2 and level2["by_category"] == level1["by_category"]
    assert ask(node, "tool-usage", 1, "category=git")["total_commands"] == 3
    assert set(ask(node, "tool-usage", 2, "count>1")["by_category"]) == {"git", "file-ops"}
    assert ask(node, "tool-usage", 1, "risk in high,critical")["patterns"] == {"rm": 2}
    with pytest.raises(QueryError, match="filter on category, risk, count; not on 'kind'"):
        ask(node, "tool-usage", 1, "kind=x")


def test_safety_posture_counts_risk_and_names_risky_shapes_at_level_1(node):
    record(node)
    level1 = ask(node, "safety-posture", 1)
    assert level1["by_risk"] == {"safe": 5, "moderate": 0, "high": 1, "critical": 1}
    assert level1["total"] == 7 and level1["blocked_count"] == 0
    assert level1["risky_patterns"] == {"rm": 2}
    assert "risky_patterns" not in ask(node, "safety-posture", 2)
    filtered = ask(node, "safety-posture", 2, "category=file-ops")
    assert filtered["total"] == 2 and "blocked_count" not in filtered


def test_activity_counts_utc_hours_and_weekdays(node):
    record(node)
    hour = time.gmtime(NOW - 600).tm_hour
    data = ask(node, "activity", 2)
    assert data["total"] == 7 and "unique_patterns" not in data
    assert data["hourly"][hour] + data["hourly"][(hour - 1) % 24] == 7
    assert ask(node, "activity", 1)["unique_patterns"] == 5
    assert ask(node, "activity", 2, f"hour={(hour + 12) % 24}")["total"] == 0


def test_anomalies_are_counted_at_level_2_and_described_at_level_1(node):
    record(node, ["sudo rm -rf /"] * 5)  # a burst of critical commands
    level1 = ask(node, "anomalies", 1)
    assert level1["by_kind"].get("RepeatedRisky") == 1 and level1["max_severity"] >= 7
    assert level1["signals"][0]["kind"] == "RepeatedRisky"
    level2 = ask(node, "anomalies", 2)
    assert "signals" not in level2 and level2["count"] == level1["count"]
    assert ask(node, "anomalies", 2, "kind=HighFailureRate")["count"] == 0


def test_health_reports_the_node_and_filters_it_out(node):
    record(node)
    data = ask(node, "health", 1)
    assert data["nodes"] == 1 and data["event_count_24h"] == 7
    assert data["node"]["protocol_version"] == 1 and data["node"]["peers_connected"] == 0
    assert "node" not in ask(node, "health", 2)
    assert ask(node, "health", 2, "event_count_24h>100")["nodes"] == 0


def test_nothing_answered_holds_a_command_path_or_argument(node):
    record(node)
    for query_type in query.query_types(node):
        for level in (1, 2):
            assert MARKER not in json.dumps(ask(node, query_type, level))


def test_epsilon_noises_level_2_counts_the_same_way_for_the_same_question(caro_home):
    caro_home.mkdir()
    (caro_home / "config.toml").write_text("[sharing]\nepsilon = 0.5\n")
    node = Node.load(caro_home, environ={})
    try:
        record(node, ["git status"] * 50)
        asked = MeshQuery.create(node.identity, "activity", NOW - 3600, NOW)
        first, again = query.compute(node, asked, 2), query.compute(node, asked, 2)
        assert first == again and first["hourly"] != ask(node, "activity", 1)["hourly"]
        assert query.compute(node, asked, 1)["total"] == 50  # Level 1 is never noised
    finally:
        node.close()


# -- merges ---------------------------------------------------------------------------------

def test_merges_add_up_the_answers():
    git = {"count": 2, "avg_duration_ms": 10, "failure_rate": 0.5}
    usage = query_tool_usage.caro_query_merge("tool-usage", [
        ("a", {"total_commands": 2, "by_category": {"git": git}, "patterns": {"git push": 2}}),
        ("b", {"total_commands": 6, "by_category": {"git": {**git, "count": 6,
                                                             "avg_duration_ms": 30,
                                                             "failure_rate": None}}})])
    assert usage == {"total_commands": 8, "patterns": {"git push": 2}, "by_category": {
        "git": {"count": 8, "node_count": 2, "avg_duration_ms": 25, "failure_rate": 0.5}}}
    risk = {"safe": 3, "moderate": 0, "high": 1, "critical": 0}
    posture = query_safety_posture.caro_query_merge("safety-posture", [
        ("a", {"by_risk": risk, "total": 4, "confirmed_risky": 1}),
        ("b", {"by_risk": {**risk, "high": 0}, "total": 3, "confirmed_risky": 0})])
    assert posture["by_risk"]["high"] == 1 and posture["risk_distribution"]["safe"] == 85.71
    assert posture["nodes_by_risk"] == {"safe": 2, "moderate": 0, "high": 1, "critical": 0}
    hourly = [0] * 24
    hourly[9] = 4
    activity = query_activity.caro_query_merge("activity", [
        ("a", {"hourly": hourly, "daily": [4, 0, 0, 0, 0, 0, 0], "total": 4}),
        ("b", {"hourly": [0] * 24, "daily": [0] * 7, "total": 0})])
    assert activity["peak_hours"] == [9] and activity["hourly_pattern"][9] == 1.0
    assert activity["active_nodes"] == 1
    empty = query_anomalies.caro_query_merge("anomalies", [])
    assert empty["count"] == 0 and empty["nodes_affected"] == 0
    assert query_health.caro_query_merge("health", [])["nodes"] == 0


# -- run and the CLI without a daemon ------------------------------------------------------------

def test_without_a_mesh_the_answer_is_this_nodes_own(node):
    record(node)
    result = query.run(node, "tool-usage", since=NOW - 3600)
    assert result.mesh is False and result.contributors == [node.identity.node_id]
    assert result.data["total_commands"] == 7 and result.no_response == []
    assert set(result.to_json()) >= {"query_id", "type", "data", "contributors", "denied",
                                     "no_response", "elapsed_ms", "latency_ms"}
    with pytest.raises(QueryError, match="start before it ends"):
        query.run(node, "tool-usage", since=NOW, until=NOW - 1)
    with pytest.raises(QueryError, match="timeout"):
        query.run(node, "tool-usage", timeout_s=0)


def test_caro_query_answers_alone_and_says_the_mesh_is_not_running(caro, node):
    record(node)
    node.close()
    result = caro("query", "tool-usage", "--json", "--filter", "category=git")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["data"]["total_commands"] == 3 and data["mesh"] is False
    assert data["filters"] == ["category=git"]
    assert "the mesh is not running" in result.stderr
    human = caro("query", "safety-posture")
    assert "by_risk: safe 5, moderate 0, high 1, critical 1" in human.stdout
    assert "answered     1:" in human.stdout and MARKER not in human.stdout


@pytest.mark.parametrize("args, message", [
    (["recent-commands"], "unknown query type 'recent-commands'"),
    (["tool-usage", "--filter", "count>lots"], "'lots' is not a number"),
    (["tool-usage", "--filter", "nonsense"], "bad filter 'nonsense'"),
    (["anomalies", "--filter", "category=git"], "anomalies queries filter on kind"),
    (["activity", "--since", "last tuesday"], "cannot read time 'last tuesday'"),
    (["health", "--timeout", "0"], "Invalid value for '--timeout'"),
])
def test_caro_query_errors_are_one_line(caro, args, message):
    result = caro("query", *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or "Usage:" in result.stderr


# -- the control channel ------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path):
    calls = []

    def echo(request):
        calls.append(request)
        if request.get("fail"):
            raise CaroError("refused: " + request["fail"])
        return {"echo": request["value"]}

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    served = control.ControlServer(home, {"echo": echo})
    served.start()
    yield served, calls
    served.stop()


def test_the_control_channel_answers_its_owner_one_request_per_connection(server):
    served, calls = server
    home = served.path.parent
    assert stat.S_IMODE(os.stat(served.path).st_mode) == 0o600
    assert control.request(home, "echo", 5, value=[1, "two"]) == {"echo": [1, "two"]}
    with pytest.raises(control.ControlError, match="^refused: no$") as refused:
        control.request(home, "echo", 5, fail="no")
    assert refused.value.exit_code == CaroError.exit_code
    with pytest.raises(control.ControlError, match="unknown control operation"):
        control.request(home, "shutdown", 5)
    with pytest.raises(control.ControlError):
        control.request(home, "echo", 5, value="x" * control.MAX_REQUEST)
    assert len(calls) == 2


def test_a_silent_client_cannot_hold_the_channel(server, monkeypatch):
    import socket

    served, _ = server
    monkeypatch.setattr(control, "IO_TIMEOUT_S", 0.2)
    silent = [socket.socket(socket.AF_UNIX) for _ in range(control.MAX_CLIENTS)]
    for s in silent:
        s.settimeout(10)
        s.connect(str(served.path))
    for s in silent:
        assert s.recv(100) == b""  # dropped once the request time is up
        s.close()
    assert control.request(served.path.parent, "echo", 10, value=1) == {"echo": 1}


def test_without_a_daemon_the_channel_says_so(tmp_path):
    with pytest.raises(control.NotRunning):
        control.request(tmp_path, "echo", 1)
