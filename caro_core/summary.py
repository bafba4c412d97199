"""Level-1 node summaries: their periods, building, signing, verifying and storing them.

A summary is what a node may share about one hour, day or week: the fields
the ``caro_summary_fields`` plugins return (aggregates only), plus ``id``,
``node_id``, ``period`` and ``generated_at``, signed with the node key.

Periods are cut in UTC (hours at the hour, days at 00:00 UTC, weeks on Monday
00:00 UTC), whatever the node's time zone: summaries from nodes in different
zones then cover the same instants and can be merged bucket by bucket.

Canonical form: the summary with map keys sorted (recursively) and floats
rounded to :data:`FLOAT_DIGITS` decimals, packed with msgpack.  The signature
covers that form of everything except the signature value itself (so its
``signer`` and ``timestamp`` are signed too); a receiver that decodes a summary
from msgpack or JSON re-derives the same bytes and verifies them against the
key inside ``node_id``.
"""

import base64
import datetime as dt
import enum
import math
import time
import uuid
from dataclasses import dataclass

from .errors import CaroError
from .store import CORRUPTION_ERRORS, Migration

#: Floats (rates) are rounded to this many decimals before signing, so every node agrees.
FLOAT_DIGITS = 6
#: Fields the core sets; a plugin returning one of them is an error.
CORE_FIELDS = ("id", "node_id", "period", "generated_at", "audience", "signature")

MIGRATIONS = [
    Migration("core.summary-001-summaries", """
        CREATE TABLE summaries (
            id TEXT PRIMARY KEY,
            node_id TEXT NOT NULL,
            granularity TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            generated_at TEXT NOT NULL,
            body BLOB NOT NULL,
            received_from TEXT,
            UNIQUE (node_id, granularity, start)
        );
    """),
]


class SummaryError(CaroError):
    """A summary cannot be built, read or stored."""


class SummaryVerificationError(SummaryError):
    """A summary's signature does not match its content or its node: altered or forged."""


class Granularity(str, enum.Enum):
    """How long a period is; the value is the name used in summaries, config and the CLI."""

    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def seconds(self):
        return {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}[self.value]


def iso_utc(timestamp):
    """``2026-11-02T08:00:00Z`` for an epoch timestamp."""
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    """Epoch seconds of an ISO-8601 time; one without an offset is read as UTC."""
    try:
        parsed = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise SummaryError(f"not an ISO-8601 time: {text!r} (e.g. 2026-11-02T08:00:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


@dataclass(frozen=True)
class Period:
    """The half-open UTC range ``[start, end)`` (integer epoch seconds) one summary covers."""

    start: int
    end: int
    granularity: Granularity

    @classmethod
    def containing(cls, timestamp, granularity):
        """The period of ``granularity`` that ``timestamp`` falls in."""
        granularity = Granularity(granularity)
        if granularity is Granularity.WEEKLY:
            day = math.floor(timestamp / 86400)
            start = (day - (day + 3) % 7) * 86400  # 1970-01-01 was a Thursday; weeks start Monday
        else:
            start = math.floor(timestamp / granularity.seconds) * granularity.seconds
        return cls(start, start + granularity.seconds, granularity)

    @classmethod
    def last_complete(cls, timestamp, granularity):
        """The latest period of ``granularity`` that ended at or before ``timestamp``."""
        return cls.containing(timestamp, granularity).previous()

    def previous(self):
        return Period.containing(self.start - 1, self.granularity)

    def next(self):
        return Period.containing(self.end, self.granularity)

    def to_json(self):
        return {"start": iso_utc(self.start), "end": iso_utc(self.end),
                "granularity": self.granularity.value}

    @classmethod
    def from_json(cls, data):
        """The period of a summary's ``period`` field; :class:`SummaryError` if malformed."""
        try:
            period = cls.containing(parse_iso(data["start"]), data["granularity"])
        except (TypeError, KeyError, ValueError):
            raise SummaryError(f"not a summary period: {data!r}") from None
        if period.to_json() != data:
            raise SummaryError(f"not a summary period: {data!r} (not on a "
                               f"{period.granularity.value} UTC boundary)")
        return period

    def describe(self):
        """``daily 2026-11-02T00:00:00Z`` for messages."""
        return f"{self.granularity.value} {iso_utc(self.start)}"


def collect_fields(node, period):
    """Call every ``caro_summary_fields`` implementation; return the merged fields.

    Each implementation is called on its own (as :func:`caro_core.lifecycle.call_each`
    does) so that a failure or a clash names the plugin; a key returned by two
    plugins names both.  A damaged store is reported as such, not as a plugin failure.
    """
    fields, owners = {}, {}
    kwargs = {"node": node, "period": period}
    for impl in reversed(node.pm.hook.caro_summary_fields.get_hookimpls()):  # pluggy's call order
        if impl.hookwrapper or impl.wrapper:
            continue
        name = impl.plugin_name
        try:
            contributed = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except (CaroError, *CORRUPTION_ERRORS):
            raise
        except Exception as e:
            raise SummaryError(f"summary plugin {name} failed: {type(e).__name__}: {e} "
                               f"(disable it with [plugins] disable = [\"{name}\"])") from e
        if contributed is None:
            continue
        if not isinstance(contributed, dict):
            raise SummaryError(f"summary plugin {name} returned {type(contributed).__name__}, "
                               "not a dict of fields")
        for key, value in contributed.items():
            if key in CORE_FIELDS:
                raise SummaryError(f"summary plugin {name} returned the field {key!r}, "
                                   "which the core sets")
            if key in owners:
                raise SummaryError(f"summary field {key!r} is returned by both {owners[key]} "
                                   f"and {name}: disable one of them")
            owners[key] = name
            fields[key] = normalize(value, f"summary plugin {name}: field {key!r}")
    return fields


def normalize(value, where="summary"):
    """The canonical form of a value: dict keys sorted, floats rounded, tuples as lists.

    Only what msgpack and JSON both carry is allowed (str keys, str, int,
    float, bool, None, lists, dicts); anything else is a :class:`SummaryError`.
    """
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise SummaryError(f"{where}: map keys must be strings")
        return {key: normalize(value[key], f"{where}.{key}") for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [normalize(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise SummaryError(f"{where}: a {type(value).__name__} cannot be part of a summary")


def signed_bytes(summary):
    """The canonical bytes the signature covers: the summary without ``signature.value``."""
    import msgpack

    content = dict(summary)
    signature = content.get("signature")
    if isinstance(signature, dict):
        content["signature"] = {k: v for k, v in signature.items() if k != "value"}
    return msgpack.packb(normalize(content), use_bin_type=True)


def encode(summary):
    """The stored form of a signed summary: canonical msgpack of all of it."""
    import msgpack

    return msgpack.packb(normalize(summary), use_bin_type=True)


def decode(body):
    """A summary dict from its stored form; :class:`SummaryError` when unreadable."""
    import msgpack

    try:
        summary = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack raises several unrelated types for bad input
        raise SummaryError(f"not a stored summary ({type(e).__name__})") from None
    if not isinstance(summary, dict):
        raise SummaryError("not a stored summary (not a map)")
    return summary


def build(node, period, now=None, audience=()):
    """Build and sign the summary of ``period`` from this node's events.

    :param now: the generation time (epoch), defaults to the current time.
    :param audience: the node ids that may receive it (:func:`caro_core.exchange.audience`);
        signed in, so no relay can pass it to anyone else.
    :returns: the signed summary as a canonical dict (keys sorted).
    """
    now = time.time() if now is None else now
    summary = collect_fields(node, period)
    summary.update(id=str(uuid.uuid4()), node_id=node.identity.node_id, period=period.to_json(),
                   generated_at=iso_utc(now), audience=sorted(audience),
                   signature={"signer": node.identity.fingerprint, "timestamp": iso_utc(now)})
    summary = normalize(summary)
    value = node.identity.sign(signed_bytes(summary))
    summary["signature"]["value"] = base64.b64encode(value).decode("ascii")
    return summary


def _name(summary):
    period = summary.get("period")
    if isinstance(period, dict):
        return f"summary {summary.get('id')} ({period.get('granularity')} {period.get('start')})"
    return f"summary {summary.get('id')}"


def verify(summary):
    """Check that ``summary`` is signed by the key in its ``node_id`` and unaltered.

    Returns the summary's :class:`Period`; raises :class:`SummaryVerificationError`
    naming the summary and what is wrong.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    from .identity import IdentityError, fingerprint_for, public_key_from_node_id

    if not isinstance(summary, dict):
        raise SummaryVerificationError("not a summary (not a map)")
    name = _name(summary)
    signature = summary.get("signature")
    if not isinstance(signature, dict) or not all(
            isinstance(signature.get(k), str) for k in ("signer", "value", "timestamp")):
        raise SummaryVerificationError(f"{name}: no signature (signer, value, timestamp)")
    try:
        key = public_key_from_node_id(summary.get("node_id"))
    except IdentityError as e:
        raise SummaryVerificationError(f"{name}: {e}") from None
    expected = fingerprint_for(key.public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw))
    if signature["signer"] != expected:
        raise SummaryVerificationError(f"{name}: signed by {signature['signer']}, but its node "
                                       f"id belongs to {expected}: forged")
    try:
        value = base64.b64decode(signature["value"], validate=True)
        key.verify(value, signed_bytes(summary))
    except (ValueError, InvalidSignature):
        raise SummaryVerificationError(f"{name} from {expected}: the signature does not match "
                                       "the content: altered or forged") from None
    try:
        return Period.from_json(summary.get("period"))
    except SummaryError as e:
        raise SummaryVerificationError(f"{name}: {e}") from None


def store_summary(store, summary, received_from=None):
    """Verify and store a summary (own: ``received_from`` None; else the peer it came from).

    Returns True when stored, False when one for the same node, granularity and
    start is already stored (it is kept: a summary is never replaced).
    """
    period = verify(summary)
    row_id = store.insert(
        'INSERT OR IGNORE INTO summaries (id, node_id, granularity, start, "end", generated_at, '
        "body, received_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (summary["id"], summary["node_id"], period.granularity.value, period.start, period.end,
         summary.get("generated_at", ""), encode(summary), received_from))
    return row_id is not None


def _node_ids(store, peer):
    """The stored node ids ``peer`` names: a node id, or a fingerprint."""
    from .identity import NODE_ID_PREFIX, fingerprint_for, public_key_from_node_id
    from cryptography.hazmat.primitives import serialization

    if peer.startswith(NODE_ID_PREFIX):
        return [peer]
    matches = []
    for (node_id,) in store.query("SELECT DISTINCT node_id FROM summaries"):
        key = public_key_from_node_id(node_id)
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if fingerprint_for(raw) == peer.lower():
            matches.append(node_id)
    return matches


def list_summaries(store, peer=None, granularity=None, limit=None):
    """Stored summaries (own and received), newest period first, each verified.

    :param peer: only those of this node (node id or fingerprint).
    :param granularity: only this granularity.
    :raises SummaryError: a stored summary is damaged (named by id and period).
    """
    where, params = [], []
    if peer is not None:
        node_ids = _node_ids(store, peer)
        where.append(f"node_id IN ({', '.join('?' * len(node_ids))})" if node_ids else "0")
        params.extend(node_ids)
    if granularity is not None:
        where.append("granularity = ?")
        params.append(Granularity(granularity).value)
    sql = "SELECT id, granularity, start, body FROM summaries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start DESC, granularity, node_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    summaries = []
    for row_id, row_granularity, start, body in store.query(sql, params):
        try:
            summary = decode(body)
            verify(summary)
        except SummaryError as e:
            raise SummaryError(f"stored summary {row_id} ({row_granularity} {iso_utc(start)}) "
                               f"is damaged: {e}") from None
        summaries.append(summary)
    return summaries


def find_summary(store, node_id, period):
    """The stored summary of ``node_id`` for ``period``, or None."""
    row = store.query_one("SELECT body FROM summaries WHERE node_id = ? AND granularity = ? "
                          "AND start = ?", (node_id, period.granularity.value, period.start))
    return decode(row[0]) if row else None


def stored_starts(store, node_id, granularity, since):
    """The starts of the stored summaries of ``node_id`` and ``granularity`` from ``since`` on."""
    return {start for (start,) in store.query(
        "SELECT start FROM summaries WHERE node_id = ? AND granularity = ? AND start >= ?",
        (node_id, Granularity(granularity).value, since))}


def prune_own(store, before):
    """Delete this node's own summaries whose period ended before ``before``; return how many."""
    store.execute('DELETE FROM summaries WHERE received_from IS NULL AND "end" < ?', (before,))
    (changes,) = store.query_one("SELECT changes()")
    return changes
