"""Mesh queries (FR-6xx): the signed query, its routing, signed answers, the deadline, the merge
and the result cache.

A requester signs a :class:`MeshQuery` (type, time range, filters, deadline) and sends it to
every connected peer.  A node that receives it checks the requester's signature, drops a query
id it has seen (dedup), forwards it when ``[query] relay`` is on and hops remain (TTL), and
answers for itself: its own sharing policy decides the level (:func:`caro_core.policy.decide`),
the query plugins compute the answer (``caro_query_answer``), and the node signs the answer over
its canonical bytes (query id, node id, requester, level, status, data…).  The answer goes to the
requester directly when connected, else back the way the query came; relays pass answers on
unchanged.  The requester verifies every signature: an answer altered on the way is dropped and
audited ``AnswerRejected``.  It waits until every node it sent the query to (and every node a
relay forwarded it to, as each relay's signed answer says) has answered, or the deadline passes:
partial results are normal.  Answers are merged by the plugins (``caro_query_merge``); a
Level-2 aggregate over fewer nodes than the minimum cohort is withheld
(:func:`caro_core.policy.cohort_allows`).  Results are cached for ``[query] cache_ttl_s``.

This module holds the protocol — filters, the signed query and answers, the result, the merge
— and :func:`run`, the entry point (the CLI through :mod:`caro_core.control`, the dashboard
inside the daemon); without a running mesh it answers from this node alone.  The routing state
lives in the daemon's ``mesh_queries`` plugin.  See ``docs/queries.md``.
"""

import dataclasses
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass, field

from . import policy
from .errors import CaroError

log = logging.getLogger("caro.query")

#: operator names on the wire (the plan's ``FilterOperator``) and how people write them
OPERATORS = {"Equals": "=", "NotEquals": "!=", "Contains": "~", "GreaterThan": ">",
             "LessThan": "<", "InList": " in "}
STATUSES = ("ok", "access-denied", "not-supported", "error")
MAX_FILTERS = 16
MAX_VALUE = 256
MAX_TIMEOUT_S = 60.0
#: an answer's encoded data may not exceed this (the frame limit is 1 MiB)
MAX_ANSWER = 256 * 1024
#: the name the running router is registered under on the plugin manager
ROUTER_PLUGIN = "mesh_queries.running"
_FIELD = re.compile(r"[a-z][a-z0-9_]{0,31}")
_QUERY_CONTEXT = b"caro-query:1\n"
_ANSWER_CONTEXT = b"caro-query-answer:1\n"


class QueryError(CaroError):
    """A query cannot be asked or answered as given (type, time range, filter, timeout)."""

    exit_code = 2


class AnswerError(CaroError):
    """An answer does not verify: altered on the way, forged or malformed."""


# -- filters ------------------------------------------------------------------------------


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Filter:
    """One condition on the rows an answer counts: ``field`` ``operator`` ``value``."""

    field: str
    operator: str
    value: str

    def __post_init__(self):
        if not isinstance(self.field, str) or not _FIELD.fullmatch(self.field):
            raise QueryError(f"bad filter field {self.field!r}: lowercase letters, digits and _")
        if self.operator not in OPERATORS:
            raise QueryError(f"bad filter operator {self.operator!r} (one of "
                             f"{', '.join(OPERATORS)})")
        if not isinstance(self.value, str) or len(self.value) > MAX_VALUE:
            raise QueryError(f"filter {self.field}: the value must be text of at most "
                             f"{MAX_VALUE} characters")
        if self.operator in ("GreaterThan", "LessThan") and _number(self.value) is None:
            raise QueryError(f"filter {self}: {self.value!r} is not a number")

    def __str__(self):
        return f"{self.field}{OPERATORS[self.operator]}{self.value}"

    def matches(self, actual):
        """Whether a row whose ``field`` holds ``actual`` passes."""
        text = _text(actual)
        if self.operator in ("Equals", "NotEquals"):
            left, right = _number(text), _number(self.value)
            same = left == right if left is not None and right is not None else text == self.value
            return same == (self.operator == "Equals")
        if self.operator == "Contains":
            return self.value.lower() in text.lower()
        if self.operator == "InList":
            return text in {v.strip() for v in self.value.split(",")}
        number = _number(text) if not isinstance(actual, bool) else None
        if number is None:
            return False
        limit = _number(self.value)
        return number > limit if self.operator == "GreaterThan" else number < limit

    def to_json(self):
        return {"field": self.field, "operator": self.operator, "value": self.value}

    @classmethod
    def from_json(cls, data):
        if not isinstance(data, dict) or set(data) != {"field", "operator", "value"}:
            raise QueryError("a filter is {field, operator, value}")
        return cls(data["field"], data["operator"], data["value"])


def parse_filter(text):
    """A :class:`Filter` from what people type: ``category=git``, ``category!=git``,
    ``category~net``, ``count>10``, ``severity<5``, ``category in git,docker``."""
    if not isinstance(text, str):
        raise QueryError(f"bad filter {text!r}")
    for name in ("InList", "NotEquals", "Equals", "Contains", "GreaterThan", "LessThan"):
        left, sep, right = text.partition(OPERATORS[name])
        if sep and left.strip():
            return Filter(left.strip(), name, right.strip())
    raise QueryError(f"bad filter {text!r}: write FIELD=VALUE, FIELD!=VALUE, FIELD~TEXT, "
                     f"FIELD>N, FIELD<N or 'FIELD in A,B'")


# -- the query --------------------------------------------------------------------------------


def _canonical(context, content):
    import msgpack

    from .summary import normalize

    return context + msgpack.packb(normalize(content), use_bin_type=True)


@dataclass(frozen=True)
class MeshQuery:
    """A query as the requester signed it (the plan's ``MeshQuery``); ``since``/``until`` are
    epoch seconds of the half-open range, ``timeout_ms`` the requester's deadline."""

    query_id: str
    requester: str
    query_type: str
    since: float
    until: float
    filters: tuple = ()
    issued_at: float = 0.0
    timeout_ms: int = 5000
    signature: bytes = b""

    def content(self):
        return {"query_id": self.query_id, "requester": self.requester,
                "query_type": self.query_type, "time_range": [self.since, self.until],
                "filters": [f.to_json() for f in self.filters], "issued_at": self.issued_at,
                "timeout_ms": self.timeout_ms}

    def signed_bytes(self):
        return _canonical(_QUERY_CONTEXT, self.content())

    def to_wire(self):
        return {**self.content(), "signature": self.signature}

    @classmethod
    def create(cls, identity, query_type, since, until, filters=(), timeout_s=5.0):
        """A new query signed by ``identity``."""
        from .summary import normalize

        query = cls(uuid.uuid4().hex, identity.node_id, query_type, normalize(float(since)),
                    normalize(float(until)), tuple(filters), normalize(time.time()),
                    int(timeout_s * 1000))
        return dataclasses.replace(query, signature=identity.sign(query.signed_bytes()))

    @classmethod
    def from_wire(cls, data):
        """Parse and check a received query, its signature included; QueryError otherwise."""
        from .identity import public_key_from_node_id

        if not isinstance(data, dict):
            raise QueryError("a query is a map")
        time_range, filters = data.get("time_range"), data.get("filters")
        if not (isinstance(data.get("query_id"), str) and 0 < len(data["query_id"]) <= 64
                and isinstance(data.get("query_type"), str) and len(data["query_type"]) <= 64
                and isinstance(time_range, list) and len(time_range) == 2
                and all(_finite(t) for t in time_range) and _finite(data.get("issued_at"))
                and isinstance(data.get("timeout_ms"), int)
                and 0 < data["timeout_ms"] <= MAX_TIMEOUT_S * 1000
                and isinstance(filters, list) and len(filters) <= MAX_FILTERS
                and isinstance(data.get("signature"), bytes)):
            raise QueryError("malformed query")
        query = cls(data["query_id"], data.get("requester"), data["query_type"], time_range[0],
                    time_range[1], tuple(Filter.from_json(f) for f in filters),
                    data["issued_at"], data["timeout_ms"], data["signature"])
        try:
            public_key_from_node_id(query.requester).verify(query.signature,
                                                            query.signed_bytes())
        except Exception:  # IdentityError, InvalidSignature
            raise QueryError("the query's signature does not verify") from None
        return query

    def check_fields(self, fields):
        """Raise QueryError when a filter names a field this query type does not have."""
        for f in self.filters:
            if f.field not in fields:
                raise QueryError(f"{self.query_type} queries filter on {', '.join(fields)}; "
                                 f"not on {f.field!r}")

    def keep(self, row):
        """Whether ``row`` (a dict) passes every filter on the fields it has."""
        return all(f.matches(row[f.field]) for f in self.filters if f.field in row)

    def noise(self, node, level):
        """``noised(field, count)`` for this answer: Laplace noise at Level 2 when ``[sharing]
        epsilon`` is set (:func:`caro_core.policy.add_noise`), the count unchanged otherwise.

        Each field gets its own seed derived from one :func:`caro_core.policy.noise_seed` over
        the question, so the same question gets the same noise."""
        epsilon = policy.load(node).epsilon if level >= 2 else 0.0
        if not epsilon:
            return lambda name, value: value
        seed = policy.noise_seed(node, self.query_type, self.since, self.until,
                                 *map(str, self.filters))
        return lambda name, value: policy.add_noise(value, epsilon, seed + name.encode())


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- answers ----------------------------------------------------------------------------------


def sign_answer(node, query, level, status, data=None, reason="", relayed_to=()):
    """This node's signed answer to ``query`` (a dict for the wire)."""
    from .summary import normalize

    answer = normalize({"query_id": query.query_id, "node_id": node.identity.node_id,
                        "requester": query.requester, "query_type": query.query_type,
                        "level": level, "status": status, "data": data, "reason": reason[:200],
                        "min_cohort": policy.load(node).min_cohort if level >= 2 else 1,
                        "relayed_to": sorted(relayed_to), "answered_at": time.time()})
    answer["signature"] = node.identity.sign(_canonical(_ANSWER_CONTEXT, answer))
    return answer


def verify_answer(answer, query):
    """Check an answer's signature and that it answers ``query``; AnswerError otherwise."""
    from .identity import public_key_from_node_id

    if not isinstance(answer, dict) or not isinstance(answer.get("signature"), bytes):
        raise AnswerError("not a signed answer")
    content = {k: v for k, v in answer.items() if k != "signature"}
    try:
        key = public_key_from_node_id(content.get("node_id"))
        key.verify(answer["signature"], _canonical(_ANSWER_CONTEXT, content))
    except Exception:  # IdentityError, InvalidSignature, SummaryError (unencodable content)
        raise AnswerError(f"the answer of {str(content.get('node_id'))[:80]} does not verify "
                          f"(altered on the way or forged)") from None
    if (content.get("query_id"), content.get("requester"), content.get("query_type")) != \
            (query.query_id, query.requester, query.query_type):
        raise AnswerError("a signed answer to another query (replayed)")
    relayed = content.get("relayed_to")
    if content.get("status") not in STATUSES or content.get("level") not in (0, 1, 2) \
            or not (content.get("data") is None or isinstance(content["data"], dict)) \
            or not isinstance(relayed, list) or not all(isinstance(n, str) for n in relayed) \
            or not isinstance(content.get("min_cohort"), int):
        raise AnswerError("a malformed answer")
    return content


def compute(node, query, level):
    """This node's data for ``query`` at ``level`` from the query plugins (normalized), or None
    when no plugin answers the type.  A CaroError (a bad filter) propagates."""
    from .summary import SummaryError, normalize

    data = node.pm.hook.caro_query_answer(node=node, query=query, level=level)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise QueryError(f"the {query.query_type} plugin answered a {type(data).__name__}")
    try:
        data = normalize(data)
    except SummaryError as e:
        raise QueryError(str(e)) from None
    import msgpack

    if len(msgpack.packb(data, use_bin_type=True)) > MAX_ANSWER:
        raise QueryError(f"the {query.query_type} answer exceeds {MAX_ANSWER} bytes")
    return data


# -- the result -------------------------------------------------------------------------------


@dataclass
class QueryResult:
    """What :func:`run` returns.

    ``contributors`` (this node first), ``denied`` and ``no_response`` are node ids;
    ``failed`` maps a node id to ``not-supported``/``error`` and its reason; ``latency_ms``
    maps each other node that answered to the time from sending the query to its answer;
    ``withheld`` says why ``data`` is None (minimum cohort); ``mesh`` is False when no mesh ran
    and the answer is this node's alone.
    """

    query_id: str
    type: str
    since: float
    until: float
    filters: list
    data: dict | None
    contributors: list
    denied: list
    no_response: list
    elapsed_ms: float
    latency_ms: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    withheld: str | None = None
    mesh: bool = True
    cached: bool = False

    def to_json(self):
        from .events import iso

        return {"query_id": self.query_id, "type": self.type, "since": iso(self.since),
                "until": iso(self.until), "filters": [str(f) for f in self.filters],
                "data": self.data, "contributors": self.contributors, "denied": self.denied,
                "no_response": self.no_response, "failed": self.failed,
                "withheld": self.withheld, "elapsed_ms": round(self.elapsed_ms, 1),
                "latency_ms": {k: round(v, 1) for k, v in self.latency_ms.items()},
                "mesh": self.mesh, "cached": self.cached}


def query_types(node):
    """Every query type the node's plugins answer, sorted."""
    return sorted({t for batch in node.pm.hook.caro_query_types() for t in batch})


def check_type(node, query_type):
    """Raise QueryError unless a query plugin of this node answers ``query_type``."""
    types = query_types(node)
    if query_type not in types:
        raise QueryError(f"unknown query type {query_type!r} (one of {', '.join(types)}); raw "
                         f"commands never leave a node: tool-usage shows command patterns")


def router(node):
    """The running router inside the daemon (plugin ``mesh_queries``), or None.

    :func:`run` calls its ``cached(key)``, ``ask(query)`` (the collected answers: ``answers``,
    ``latency``, ``expected``), ``missing(answered)`` and ``remember(key, result)``."""
    service = node.pm.get_plugin(ROUTER_PLUGIN)
    return getattr(service, "router", None)


def run(node, query_type, since=None, until=None, filters=(), timeout_s=5.0):
    """Ask every reachable node (and this one) and merge the answers.

    :param since: epoch seconds, default 24 hours ago; ``until`` default now.
    :param filters: :class:`Filter` objects or their text (``category=git``).
    :param timeout_s: the deadline, at most :data:`MAX_TIMEOUT_S`.
    :returns: a :class:`QueryResult`; partial when some nodes did not answer in time.
    :raises QueryError: an unknown type, a bad range, filter or timeout.
    """
    started = time.monotonic()
    check_type(node, query_type)
    if not _finite(timeout_s) or not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise QueryError(f"the timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} s")
    filters = tuple(f if isinstance(f, Filter) else parse_filter(f) for f in filters)
    if len(filters) > MAX_FILTERS:
        raise QueryError(f"at most {MAX_FILTERS} filters")
    key = (query_type, since, until, filters)
    now = time.time()
    since = now - 86400 if since is None else since
    until = now if until is None else until
    if not (_finite(since) and _finite(until)) or since >= until:
        raise QueryError("the time range must start before it ends")
    active = router(node)
    if active is not None:
        cached = active.cached(key)
        if cached is not None:
            return cached
    query = MeshQuery.create(node.identity, query_type, since, until, filters, timeout_s)
    own = compute(node, query, 1)  # validates the filters before anything is sent
    collected = active.ask(query) if active is not None else None
    answers = [(node.identity.node_id, own)] if own is not None else []
    result = QueryResult(query.query_id, query_type, since, until, list(filters), None,
                         [node.identity.node_id] if own is not None else [], [], [], 0.0,
                         mesh=active is not None)
    cohort = []
    if collected is not None:
        for node_id, answer in sorted(collected.answers.items()):
            status = answer["status"]
            if status == "ok" and not _mergeable(node, query_type, node_id, answer["data"]):
                result.failed[node_id] = "error: its data does not fit this query type"
            elif status == "ok":
                answers.append((node_id, answer["data"]))
                result.contributors.append(node_id)
                if answer["level"] == 2:
                    cohort.append(answer["min_cohort"])
            elif status == "access-denied":
                result.denied.append(node_id)
            else:
                result.failed[node_id] = f"{status}: {answer['reason']}".rstrip(": ")
        result.latency_ms = {n: collected.latency[n] for n in sorted(collected.answers)}
        answered = set(collected.answers)
        result.no_response = sorted((collected.expected - answered) | active.missing(answered))
    result.data = node.pm.hook.caro_query_merge(query_type=query_type, answers=answers)
    if cohort and not policy.cohort_allows(node, len(cohort), 2, max(cohort)):
        result.data = None
        result.withheld = (f"only {len(cohort)} node(s) answered at Level 2: fewer than the "
                           f"minimum cohort ({max(policy.load(node).min_cohort, *cohort)}), so "
                           f"the aggregate is withheld")
    result.elapsed_ms = (time.monotonic() - started) * 1000
    if active is not None:
        active.remember(key, result)
    return result


def _mergeable(node, query_type, node_id, data):
    """Whether another node's data merges (a malformed answer must not break the result)."""
    if data is None:
        return False
    try:
        node.pm.hook.caro_query_merge(query_type=query_type, answers=[(node_id, data)])
    except Exception as e:  # whatever a plugin raises on data it did not expect
        log.warning("the answer of %s does not merge: %s: %s", node_id, type(e).__name__, e)
        return False
    return True


def describe_node(node_id):
    """A node id's fingerprint (for people), or the id itself when it is malformed."""
    from .errors import IdentityError
    from .peers import peer_from_node_id

    try:
        return peer_from_node_id(node_id).fingerprint
    except IdentityError:
        return node_id[:40]

