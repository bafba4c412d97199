"""Query routing between in-process meshes on loopback: relays pass answers on unchanged, an
answer a relay altered is caught and audited, a query reaching a node twice is answered once,
the deadline holds against a peer that never answers, the minimum cohort withholds a small
Level-2 aggregate, and an unknown type is answered "not supported"."""

import time

import pytest

from caro_core import hookimpl, peers, query
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.mesh import Mesh
from caro_core.node import Node
from caro_core.trust import TrustLevel
from caro_core.wire import MessageType
from caro_plugins import mesh_queries
from meshnodes import free_port
from polling import wait_for

pytestmark = pytest.mark.slow


class Local:
    """A node with its mesh and query router running in this process."""

    def __init__(self, root, name, config="", plugins=()):
        self.home = root / name
        self.home.mkdir(mode=0o700)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        (self.home / "config.toml").write_text(config)
        self.node = Node.load(self.home, environ={}, extra_plugins=plugins)
        self.node_id = self.node.identity.node_id
        self.mesh = None

    def trust(self, other, level="peer", reachable=True):
        """Trust ``other``; an unreachable one is listed at an address nobody listens on."""
        address = other.address if reachable else f"127.0.0.1:{free_port()}"
        peers.append_static(self.home, address, other.node_id, TrustLevel.parse(level))

    def record(self, *commands):
        now = time.time()
        insert_events(self.node.store, [
            classify(self.node, command, timestamp=now - 60 - i, exit_code=0, duration_ms=5,
                     cwd="/home/ann", shell="bash", session="bash-1-1", user="ann",
                     elevated=False, caro_generated=False)
            for i, command in enumerate(commands)])

    def start(self, answers=True):
        self.mesh = Mesh(self.node, self.address, ping_interval_s=5.0, dial_interval_s=0.1,
                         max_backoff_s=1.0)
        self.mesh.start()
        self.node.mesh = self.mesh
        if answers:
            mesh_queries.caro_lifecycle_start(self.node)

    @property
    def router(self):
        return query.router(self.node)

    def connected(self, *others):
        return all(o.node_id in self.mesh.connected() for o in others)

    def audited(self, event_type):
        return [e for e in self.node.audit.entries() if e["event_type"] == event_type]

    def stop(self):
        service = self.node.pm.get_plugin(query.ROUTER_PLUGIN)
        if service is not None:
            service.caro_lifecycle_stop(self.node)
        if self.mesh is not None:
            self.mesh.stop()
        self.node.close()


@pytest.fixture
def local(tmp_path):
    made = []

    def make(name, config="", plugins=()):
        made.append(Local(tmp_path, name, config, plugins))
        return made[-1]

    yield make
    for n in made:
        n.stop()


def link(dialer, listener, level="peer"):
    """Mutual trust; only ``dialer`` connects (two nodes dialling each other at once race to
    replace one of the two connections, and a test must not depend on which one wins)."""
    dialer.trust(listener)
    listener.trust(dialer, level, reachable=False)


def relay_chain(local, relay_config="[query]\nrelay = true\n"):
    """r — x — b: r knows only x; b trusts r but cannot reach it; x relays."""
    r, x, b = local("r"), local("x", relay_config), local("b")
    link(r, x)
    link(x, b)
    b.trust(r, reachable=False)
    x.record("git status", "ls")
    b.record("git status", "git commit -m wip", "make")
    for n in (r, x, b):
        n.start()
    assert wait_for(lambda: r.connected(x) and x.connected(r, b) and b.connected(x))
    return r, x, b


def test_a_relay_forwards_the_query_and_passes_the_answer_on_unchanged(local):
    r, x, b = relay_chain(local)
    result = query.run(r.node, "tool-usage", timeout_s=5)
    assert result.contributors == [r.node_id, *sorted([x.node_id, b.node_id])]
    assert result.denied == [] and result.no_response == []
    assert result.data["total_commands"] == 5
    assert result.data["patterns"] == {"git commit": 1, "git status": 2, "ls": 1, "make": 1}
    assert set(result.latency_ms) == {x.node_id, b.node_id}
    assert wait_for(lambda: b.audited("ResponseSent") and x.audited("ResponseSent"))
    assert b.audited("ResponseSent")[0]["details"].endswith(": ok at level 1")
    assert "relayed to 1" in x.audited("ResponseSent")[0]["details"]


def test_without_relaying_the_query_reaches_direct_peers_only(local):
    r, x, b = relay_chain(local, relay_config="")
    result = query.run(r.node, "tool-usage", timeout_s=5)
    assert result.contributors == [r.node_id, x.node_id]
    assert not b.audited("QueryReceived")


def test_an_answer_a_relay_altered_is_dropped_and_audited(local):
    r, x, b = relay_chain(local)
    passing = x.mesh.handlers[MessageType.QUERY_RESPONSE]

    def altering(session, body):
        if body["answer"]["node_id"] == b.node_id:
            body["answer"]["data"]["total_commands"] += 100
        passing(session, body)

    x.mesh.handlers[MessageType.QUERY_RESPONSE] = altering
    result = query.run(r.node, "tool-usage", timeout_s=5)
    assert result.contributors == [r.node_id, x.node_id]
    assert result.no_response == [b.node_id]  # the relay said it forwarded to b
    assert result.data["total_commands"] == 2
    rejected = r.audited("AnswerRejected")
    assert len(rejected) == 1 and rejected[0]["peer"] == x.node_id
    assert "does not verify" in rejected[0]["details"] and b.node_id in rejected[0]["details"]


def test_a_query_reaching_a_node_twice_is_answered_once(local):
    r, x, b = local("r"), local("x", "[query]\nrelay = true\n"), local("b")
    for dialer, listener in ((r, x), (x, b), (r, b)):
        link(dialer, listener)
    for n in (r, x, b):
        n.start()
    assert wait_for(lambda: r.connected(x, b) and x.connected(b))
    result = query.run(r.node, "health", timeout_s=5)
    assert sorted(result.contributors) == sorted([r.node_id, x.node_id, b.node_id])
    assert result.data["nodes"] == 3
    assert wait_for(lambda: b.audited("ResponseSent"))
    time.sleep(0.5)  # a second answer would be on its way by now
    assert len(b.audited("QueryReceived")) == 1 and len(b.audited("ResponseSent")) == 1


def test_the_deadline_holds_with_a_peer_that_never_answers(local):
    r, a, silent = local("r"), local("a"), local("silent")
    for other in (a, silent):
        link(r, other)
    r.start()
    a.start()
    silent.start(answers=False)
    silent.mesh.handlers[MessageType.QUERY] = lambda session, body: None
    assert wait_for(lambda: r.connected(a, silent))
    result = query.run(r.node, "activity", timeout_s=1.0)
    assert result.contributors == [r.node_id, a.node_id]
    assert result.no_response == [silent.node_id]
    assert 1000 <= result.elapsed_ms < 6000  # waited for the deadline, not for ever


def test_a_small_level_2_aggregate_is_withheld_from_a_supervisor(local):
    sup, a, b = local("sup"), local("a"), local("b")
    for dev in (a, b):
        link(sup, dev, "supervisor")
        dev.record("git status", "rm -rf build")
    for n in (sup, a, b):
        n.start()
    assert wait_for(lambda: sup.connected(a, b))
    result = query.run(sup.node, "safety-posture", timeout_s=5)
    assert sorted(result.contributors) == sorted([sup.node_id, a.node_id, b.node_id])
    assert result.data is None and "minimum cohort (3)" in result.withheld
    for dev in (a, b):  # audited right after the answer left
        assert wait_for(lambda: dev.audited("QueryReceived"))
        assert "safety-posture: level 2" in dev.audited("QueryReceived")[0]["details"]


def test_level_2_answers_carry_no_patterns_and_the_cohort_can_be_met(local):
    # every answering node states its own min_cohort too: all must accept a cohort of 2
    sup, a, b = (local(name, "[sharing]\nmin_cohort = 2\n") for name in ("sup", "a", "b"))
    for dev in (a, b):
        link(sup, dev, "supervisor")
        dev.record("git status", "git push", "rm -rf build")
    for n in (sup, a, b):
        n.start()
    assert wait_for(lambda: sup.connected(a, b))
    collected = sup.router.ask(query.MeshQuery.create(sup.node.identity, "tool-usage",
                                                      time.time() - 3600, time.time()))
    assert {n: ans["level"] for n, ans in collected.answers.items()} == {a.node_id: 2,
                                                                           b.node_id: 2}
    assert all("patterns" not in ans["data"] for ans in collected.answers.values())
    result = query.run(sup.node, "tool-usage", timeout_s=5)
    assert result.withheld is None and result.data["total_commands"] == 6
    assert "patterns" not in result.data  # the supervisor's own node recorded nothing


def test_an_unknown_query_type_is_answered_not_supported(local):
    r, a = local("r"), local("a")
    link(r, a)
    r.start()
    a.start()
    assert wait_for(lambda: r.connected(a))
    asked = query.MeshQuery.create(r.node.identity, "recent-commands", time.time() - 60,
                                   time.time(), timeout_s=5)
    answer = r.router.ask(asked).answers[a.node_id]
    assert answer["status"] == "not-supported" and answer["data"] is None
    denied = wait_for(lambda: [e for e in a.audited("QueryDenied")
                               if "recent-commands" in e["details"]])
    assert denied and "level 0" in denied[0]["details"]
    with pytest.raises(query.QueryError, match="unknown query type 'recent-commands'"):
        query.run(r.node, "recent-commands")


class Garbled:
    """A query plugin answering tool-usage with data of the wrong shape."""

    @hookimpl(tryfirst=True)
    def caro_query_answer(self, node, query, level):
        return {"total_commands": "lots", "by_category": ["git"]}


def test_an_answer_that_does_not_fit_the_type_is_set_aside(local):
    r, a, bad = local("r"), local("a"), local("bad", plugins=[("garbled", Garbled())])
    link(r, a)
    link(r, bad)
    a.record("git status")
    for n in (r, a, bad):
        n.start()
    assert wait_for(lambda: r.connected(a, bad))
    result = query.run(r.node, "tool-usage")
    assert result.contributors == [r.node_id, a.node_id] and result.data["total_commands"] == 1
    assert result.failed == {bad.node_id: "error: its data does not fit this query type"}


def test_results_are_cached_for_the_configured_time(local):
    r, a = local("r", "[query]\ncache_ttl_s = 60\n"), local("a")
    link(r, a)
    r.start()
    a.start()
    assert wait_for(lambda: r.connected(a))
    since = time.time() - 3600
    first = query.run(r.node, "health", since=since)
    again = query.run(r.node, "health", since=since)
    assert not first.cached and again.cached and again.query_id == first.query_id
    assert wait_for(lambda: a.audited("ResponseSent"))
    assert len(a.audited("QueryReceived")) == 1
    assert not query.run(r.node, "health", since=since - 1).cached
