"""Mesh queries inside the daemon (FR-6xx): see :mod:`caro_core.query` and ``docs/queries.md``.

Started after the mesh (``trylast``) when the daemon runs with the mesh on.  A
:class:`Router` answers, relays and asks queries on the mesh's sessions (registered as
:data:`caro_core.query.ROUTER_PLUGIN`, where :func:`caro_core.query.run` finds it), and the
control channel (:mod:`caro_core.control`) serves ``caro query``.  Declares ``[query]``.

Routing state: every query id seen (dedup, kept :data:`SEEN_S` after its deadline) with the
peer it came from, so answers go back the way the query came; for the node's own queries the
answers collected so far.  Answers are computed by :data:`WORKERS` threads so that a session's
reader is never held up; beyond :data:`BACKLOG` waiting queries new ones are dropped.
"""

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from caro_core import hookimpl
from caro_core.config import Setting

log = logging.getLogger("caro.query")

#: query ids are remembered this long after their deadline (replays older than the frames'
#: clock skew are refused anyway)
SEEN_S = 600.0
MAX_SEEN = 100_000
#: answers computed at once by one node; more queries waiting than :data:`BACKLOG` are dropped
WORKERS = 4
BACKLOG = 64


@dataclass
class Route:
    """A query this node has seen: where answers go back (None: it is our own query)."""

    upstream: str | None
    expires: float
    passed: set = field(default_factory=set)


class Collected:
    """The answers to one of our own queries, as they arrive."""

    def __init__(self, query, trusted):
        self.query = query
        self.trusted = trusted  # node id -> whether this node trusts it
        self.sent_at = time.monotonic()
        self.cond = threading.Condition()
        self.expected = set()  # nodes the query was sent or relayed to
        self.answers = {}  # node id -> verified answer content
        self.held = {}  # verified answers of nodes neither trusted nor relayed to (yet)
        self.latency = {}
        self.settled = set()  # answered, or an answer in its name was rejected

    def add(self, answer):
        with self.cond:
            node_id = answer["node_id"]
            if node_id in self.answers or node_id in self.held:
                return
            self.latency[node_id] = (time.monotonic() - self.sent_at) * 1000
            if node_id in self.expected or self.trusted(node_id):
                self._accept(answer)
            else:
                self.held[node_id] = answer
            self.cond.notify_all()

    def _accept(self, answer):
        self.answers[answer["node_id"]] = answer
        self.settled.add(answer["node_id"])
        for node_id in answer["relayed_to"]:
            self.expected.add(node_id)
            if node_id in self.held:
                self._accept(self.held.pop(node_id))

    def reject(self, node_id):
        with self.cond:
            self.settled.add(node_id)
            self.cond.notify_all()

    def wait(self, deadline):
        with self.cond:
            while not self.expected <= self.settled:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)


class Router:
    """Answers, relays and asks queries over a running :class:`caro_core.mesh.Mesh`."""

    def __init__(self, node, mesh, relay=False, max_hops=2, cache_ttl_s=30.0):
        from concurrent.futures import ThreadPoolExecutor

        from caro_core.wire import MessageType

        self.node = node
        self.mesh = mesh
        self.relay = relay
        self.max_hops = max_hops
        self.cache_ttl_s = cache_ttl_s
        self.routes = OrderedDict()  # query id -> Route
        self.collecting = {}  # query id -> Collected
        self.cache = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="caro-query")
        self.backlog = threading.BoundedSemaphore(BACKLOG)
        mesh.handlers[MessageType.QUERY] = self.on_query
        mesh.handlers[MessageType.QUERY_RESPONSE] = self.on_response

    def stop(self):
        self.pool.shutdown(wait=True, cancel_futures=True)

    # -- cache --------------------------------------------------------------------------------

    def cached(self, key):
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return dataclasses.replace(hit[1], cached=True)
            self.cache.pop(key, None)
        return None

    def remember(self, key, result):
        if self.cache_ttl_s <= 0:
            return
        with self.lock:
            now = time.monotonic()
            for stale in [k for k, (expires, _) in self.cache.items() if expires <= now]:
                del self.cache[stale]
            self.cache[key] = (now + self.cache_ttl_s, result)

    # -- asking -------------------------------------------------------------------------------

    def trusted(self, node_id):
        """Whether this node trusts ``node_id`` (an answer from it needs no relay vouching)."""
        from caro_core import peers
        from caro_core.errors import IdentityError
        from caro_core.trust import decide

        try:
            peer = peers.get(self.node.store, node_id) or peers.peer_from_node_id(node_id)
        except IdentityError:
            return False
        return not peer.pending and decide(self.node, peer).connects

    def missing(self, answered):
        """The trusted peers this node knows (connected or not) that are not in ``answered``:
        part of a query's ``no_response`` (trust is decided only for them, not for every peer)."""
        from caro_core import peers
        from caro_core.trust import decide

        return {p.node_id for p in peers.known_peers(self.node.store, self.node.home)
                if p.node_id not in answered and p.node_id != self.node.identity.node_id
                and not p.pending and decide(self.node, p).connects}

    def ask(self, query):
        """Send ``query`` to every connected peer and collect answers until all expected
        nodes answered or the deadline passed; returns the :class:`Collected`."""
        from caro_core.wire import MessageType

        collected = Collected(query, self.trusted)
        deadline = time.monotonic() + query.timeout_ms / 1000
        with self.lock:
            self._remember_route(query.query_id, Route(None, deadline))
            self.collecting[query.query_id] = collected
        body = {"query": query.to_wire(), "ttl": self.max_hops}
        try:
            for node_id, session in self.mesh.connected().items():
                with collected.cond:
                    collected.expected.add(node_id)
                try:
                    session.send(MessageType.QUERY, body)
                except OSError as e:  # ssl.SSLError included
                    log.info("sending query to %s failed: %s", session.peer.fingerprint, e)
                    with collected.cond:
                        collected.expected.discard(node_id)
            collected.wait(deadline)
        finally:
            with self.lock:
                del self.collecting[query.query_id]
        with collected.cond:
            silent = collected.expected - collected.settled
            if silent:
                log.info("query %s: no answer by the deadline from %s", query.query_id,
                         ", ".join(sorted(silent)))
            for node_id in collected.held:
                self._audit_rejected(node_id, query, "from a node no trusted peer forwarded "
                                                     "the query to")
        return collected

    # -- receiving ------------------------------------------------------------------------------

    def _remember_route(self, query_id, route):
        now = time.monotonic()
        while self.routes and (len(self.routes) >= MAX_SEEN
                               or next(iter(self.routes.values())).expires + SEEN_S < now):
            self.routes.popitem(last=False)
        self.routes[query_id] = route

    def on_query(self, session, body):
        from caro_core.query import MeshQuery, QueryError
        from caro_core.trust import decide
        from caro_core.wire import MAX_SKEW_S, MessageType, ProtocolError

        try:
            query = MeshQuery.from_wire(body.get("query") if isinstance(body, dict) else None)
        except QueryError as e:
            self.mesh.audit_violation(session.node_id, ProtocolError("bad-query", str(e)))
            return
        if abs(query.issued_at - time.time()) > MAX_SKEW_S or \
                query.requester == self.node.identity.node_id:
            return
        expires = time.monotonic() + query.timeout_ms / 1000
        with self.lock:
            if query.query_id in self.routes:
                return  # seen: answered (or being answered) already
            self._remember_route(query.query_id, Route(session.node_id, expires))
        relayed = []
        ttl = body.get("ttl")
        ttl = min(ttl, self.max_hops) if isinstance(ttl, int) else 1
        if self.relay and ttl > 1 and decide(self.node, self._requester(query, session)).may_query:
            forward = {"query": body["query"], "ttl": ttl - 1}
            for node_id, other in self.mesh.connected().items():
                if node_id in (session.node_id, query.requester):
                    continue
                try:
                    other.send(MessageType.QUERY, forward)
                    relayed.append(node_id)
                except OSError:
                    pass
        if not self.backlog.acquire(blocking=False):
            log.warning("query %s dropped: %d queries are waiting already", query.query_id,
                        BACKLOG)
            return
        try:
            self.pool.submit(self._answer, query, session, relayed, expires)
        except RuntimeError:  # shutting down
            self.backlog.release()

    def _requester(self, query, session):
        """The requester as the policy sees it: a live session's peer (with the address subnet
        trust looks at) when we have one, else its node id."""
        direct = session if session.node_id == query.requester else \
            self.mesh.connected().get(query.requester)
        return direct.peer if direct is not None else query.requester

    def _answer(self, query, session, relayed, expires):
        """Decide, compute, sign and send this node's answer, then audit the decision (with
        the level returned) and the answer sent.  The audit comes last because every entry is
        fsynced: before the answer it would add a disk flush to every query's round trip."""
        from caro_core import policy
        from caro_core.query import sign_answer

        try:
            if time.monotonic() >= expires:
                return
            requester = self._requester(query, session)
            decision = policy.decide(self.node, requester, query.query_type)
            status, data, reason = "access-denied", None, ""
            if decision.rule == "query-type":
                status, reason = "not-supported", f"unknown query type {query.query_type!r}"
            elif not decision.denied:
                status, data, reason = self._data(query, decision.level)
            answer = sign_answer(self.node, query, decision.level, status, data, reason, relayed)
            target = self._send_answer(query, session, answer)
            policy.audit_decision(self.node, decision, requester, query.query_type)
            if target is not None:
                self.node.audit.append(
                    "ResponseSent", peer=query.requester,
                    details=f"{query.query_type} query {query.query_id}: {status} at level "
                            f"{decision.level}" + ("" if target is session else " (direct)")
                            + (f", relayed to {len(relayed)}" if relayed else ""))
        except Exception:
            log.exception("answering query %s failed", query.query_id)
        finally:
            self.backlog.release()

    def _send_answer(self, query, session, answer):
        """Send ``answer`` to the requester when connected to it, else back the way the query
        came; returns the session used, or None when neither is connected any more."""
        from caro_core.wire import MessageType

        connected = self.mesh.connected()
        target = connected.get(query.requester) or connected.get(session.node_id)
        if target is None:
            return None
        try:
            target.send(MessageType.QUERY_RESPONSE, {"answer": answer})
        except OSError as e:
            log.info("sending the answer to query %s failed: %s", query.query_id, e)
            return None
        return target

    def _data(self, query, level):
        from caro_core.errors import CaroError
        from caro_core.query import compute

        try:
            data = compute(self.node, query, level)
        except CaroError as e:
            return "error", None, str(e)
        except Exception as e:
            log.exception("the %s plugin failed", query.query_type)
            return "error", None, f"internal error ({type(e).__name__})"
        if data is None:
            return "not-supported", None, f"no plugin answers {query.query_type} here"
        return "ok", data, ""

    def on_response(self, session, body):
        from caro_core.query import AnswerError, verify_answer
        from caro_core.wire import MessageType

        answer = body.get("answer") if isinstance(body, dict) else None
        query_id = answer.get("query_id") if isinstance(answer, dict) else None
        with self.lock:
            collected = self.collecting.get(query_id)
            route = self.routes.get(query_id) if collected is None else None
        if collected is not None:
            try:
                content = verify_answer(answer, collected.query)
            except AnswerError as e:
                claimed = answer.get("node_id") if isinstance(answer, dict) else None
                self._audit_rejected(session.node_id, collected.query, f"{e} (passed on by "
                                                                       f"{session.node_id})")
                if isinstance(claimed, str):
                    collected.reject(claimed)
                return
            collected.add(content)
            return
        if route is None or route.upstream is None or time.monotonic() >= route.expires:
            return  # not ours to pass on, or too late
        node_id = answer.get("node_id")
        with self.lock:
            if node_id in route.passed or len(route.passed) >= MAX_SEEN:
                return
            route.passed.add(node_id)
        upstream = self.mesh.connected().get(route.upstream)
        if upstream is not None:
            try:
                upstream.send(MessageType.QUERY_RESPONSE, body)  # unchanged
            except OSError as e:
                log.info("passing an answer on failed: %s", e)

    def _audit_rejected(self, peer, query, reason):
        log.warning("answer to query %s rejected: %s", query.query_id, reason)
        self.node.audit.append("AnswerRejected", peer=peer, success=False,
                               details=f"{query.query_type} query {query.query_id}: {reason}"[:500])


@hookimpl
def caro_config_schema():
    """Declare the ``[query]`` section."""
    return {"query": {
        "relay": Setting(bool, False, "forward queries of requesters this node trusts to query "
                                      "to its other peers (and pass their answers back)"),
        "max_hops": Setting(int, 2, "how far this node's queries travel: 1 = direct peers only, "
                                    "2 = one relay level …; also caps what it relays"),
        "timeout_s": Setting(float, 5.0, "default deadline of caro query (at most 60 s)"),
        "cache_ttl_s": Setting(float, 30.0, "how long a query result is reused (0: never)"),
    }}


class QueryService:
    """Holds the running router and control channel until the daemon stops."""

    def __init__(self, router, control):
        self.router = router
        self.control = control

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.control.stop()
        self.router.stop()


def _serve_query(node, request):
    """The control channel's ``query`` operation: :func:`caro_core.query.run` as JSON."""
    from caro_core import query
    from caro_core.query import Filter, QueryError

    filters = request.get("filters") or []
    if not isinstance(filters, list):
        raise QueryError("filters must be a list")
    result = query.run(node, request.get("type"), since=request.get("since"),
                       until=request.get("until"),
                       filters=[Filter.from_json(f) for f in filters],
                       timeout_s=request.get("timeout_s", node.config["query"]["timeout_s"]))
    return result.to_json()


@hookimpl(trylast=True)
def caro_lifecycle_start(node):
    if node.mesh is None:
        return
    from caro_core.control import ControlServer
    from caro_core.query import ROUTER_PLUGIN

    settings = node.config["query"]
    router = Router(node, node.mesh, relay=settings["relay"], max_hops=max(1, settings["max_hops"]),
                    cache_ttl_s=settings["cache_ttl_s"])
    control = ControlServer(node.home, {"query": lambda request: _serve_query(node, request)})
    node.pm.register(QueryService(router, control), name=ROUTER_PLUGIN)
    control.start()
    log.info("answering mesh queries%s; caro query served on %s",
             " and relaying them" if settings["relay"] else "", control.path)
