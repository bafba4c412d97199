"""Summary exchange (Scenario 3): pushing signed Level-1 summaries to peers and passing them on.

Every summary carries an ``audience``: the node ids its author trusted to
receive summaries (ShareTo, Peer, Supervisor) when it signed it, empty when
the sharing policy's ``max_level`` is 0.  The audience is inside the
signature, so no relay can widen it.

A node pushes every stored summary, its own and received ones, to each
connected peer that is in the summary's audience and has not acknowledged it
yet (``SummaryPush`` → ``SummaryAck``).  A summary thus travels beyond the
author's direct peers (gossip), but only ever to its audience.  A receiver
verifies the author's signature and that it is itself in the audience, stores
the summary with the peer it came from, and acknowledges; a forged, altered or
misaddressed summary is refused and audited (``SummaryRejected``).
"""

import logging
import threading
import time

from . import peers
from .store import Migration
from .summary import SummaryError, decode, store_summary, verify
from .wire import MessageType

log = logging.getLogger("caro.exchange")

#: Summaries whose period started longer ago than this are not pushed any more.
PUSH_WINDOW_S = 14 * 86400
#: A push not acknowledged within this many seconds is sent again.
ACK_TIMEOUT_S = 30.0
#: The pusher looks for work at least this often even when nothing woke it.
IDLE_WAKE_S = 30.0

MIGRATIONS = [
    Migration("core.exchange-001-deliveries", """
        CREATE TABLE summary_deliveries (
            summary_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            acked_at REAL NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (summary_id, node_id)
        );
    """),
]


def audience(node):
    """The node ids this node's summaries may reach, sorted: every known node the sharing
    policy lets receive them (:func:`caro_core.policy.summary_level`)."""
    from .policy import summary_level

    candidates = {p.node_id: p for p in peers.read_static(node.home)}
    for peer in peers.all_peers(node.store):
        candidates.setdefault(peer.node_id, peer)
    own = node.identity.node_id
    return sorted(node_id for node_id, peer in candidates.items()
                  if node_id != own and not peer.pending
                  and summary_level(node, peer).level >= 1)


def undelivered(store, node_ids, now):
    """``{node id: [summary, …]}``: for each of ``node_ids``, the stored summaries in its
    audience that it has not acknowledged, oldest first.  Each summary is read and decoded
    once, however many peers are asked about."""
    wanted = set(node_ids)
    delivered = {}
    for summary_id, node_id in store.query(
            "SELECT d.summary_id, d.node_id FROM summary_deliveries d JOIN summaries s "
            "ON s.id = d.summary_id WHERE s.start >= ?", (now - PUSH_WINDOW_S,)):
        delivered.setdefault(summary_id, set()).add(node_id)
    out = {node_id: [] for node_id in wanted}
    for (body,) in store.query("SELECT body FROM summaries WHERE start >= ? ORDER BY start, id",
                               (now - PUSH_WINDOW_S,)):
        try:
            summary = decode(body)
        except SummaryError:
            continue
        done = delivered.get(summary.get("id"), ())
        for node_id in wanted.intersection(summary.get("audience") or ()):
            if node_id != summary.get("node_id") and node_id not in done:
                out[node_id].append(summary)
    return out


def record_delivery(store, summary_id, node_id, status):
    store.execute("INSERT OR REPLACE INTO summary_deliveries (summary_id, node_id, acked_at, "
                  "status) VALUES (?, ?, ?, ?)", (summary_id, node_id, time.time(), status))


def receive(node, summary, sender):
    """Check and store one pushed summary; return ``(status, reason)``.

    ``status`` is ``stored``, ``duplicate`` or ``rejected``; a rejection is audited.
    """
    own = node.identity.node_id
    try:
        if not isinstance(summary, dict):
            raise SummaryError("not a summary (not a map)")
        verify(summary)
        if summary.get("node_id") == own:
            return "duplicate", "this node's own summary"
        if own not in (summary.get("audience") or ()):
            raise SummaryError(f"summary {summary.get('id')} is not addressed to this node "
                               "(not in its signed audience)")
        stored = store_summary(node.store, summary, received_from=sender)
    except SummaryError as e:
        node.audit.append("SummaryRejected", peer=sender, details=str(e)[:500], success=False)
        log.warning("summary from %s refused: %s", sender, e)
        return "rejected", str(e)[:200]
    # whoever sent it has it: never push it back there
    record_delivery(node.store, summary["id"], sender, "sender")
    if not stored:
        return "duplicate", ""
    period = summary["period"]
    node.audit.append("SummaryReceived", peer=sender,
                      details=f"{period['granularity']} {period['start']} of "
                              f"{summary['node_id']} id {summary['id']}")
    return "stored", ""


class SummaryExchange:
    """Pushes summaries over the node's live mesh sessions and answers pushes."""

    def __init__(self, node, mesh):
        self.node = node
        self.mesh = mesh
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.inflight = {}  # (summary id, node id) -> when it was pushed
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop, name="caro-summary-push", daemon=True)
        mesh.handlers[MessageType.SUMMARY_PUSH] = self.on_push
        mesh.handlers[MessageType.SUMMARY_ACK] = self.on_ack
        mesh.listeners.append(self.wake.set)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=10)

    def on_push(self, session, body):
        summary = body.get("summary") if isinstance(body, dict) else None
        status, reason = receive(self.node, summary, session.node_id)
        summary_id = summary.get("id") if isinstance(summary, dict) else None
        session.send(MessageType.SUMMARY_ACK, {"summary_id": summary_id, "status": status,
                                               "reason": reason})
        if status == "stored":
            self.wake.set()  # pass it on to the rest of its audience

    def on_ack(self, session, body):
        if not isinstance(body, dict) or not isinstance(body.get("summary_id"), str):
            return
        key = (body["summary_id"], session.node_id)
        with self.lock:
            if self.inflight.pop(key, None) is None:
                return  # not a push of ours: ignore
        status = str(body.get("status"))
        if status in ("stored", "duplicate"):
            record_delivery(self.node.store, body["summary_id"], session.node_id, status)
            self.node.audit.append("SummaryShared", peer=session.node_id,
                                   details=f"summary {body['summary_id']} {status}")
        else:
            log.warning("%s refused summary %s: %s", session.node_id, body["summary_id"],
                        str(body.get("reason"))[:200])

    def push_due(self):
        """Push every undelivered summary to each connected peer in its audience."""
        now = time.time()
        pushed = 0
        sessions = self.mesh.connected()
        if not sessions:
            return 0
        due = undelivered(self.node.store, sessions, now)
        for node_id, session in sessions.items():
            for summary in due[node_id]:
                key = (summary["id"], node_id)
                with self.lock:
                    sent_at = self.inflight.get(key)
                    if sent_at is not None and now - sent_at < ACK_TIMEOUT_S:
                        continue
                    self.inflight[key] = now
                try:
                    session.send(MessageType.SUMMARY_PUSH, {"summary": summary})
                    pushed += 1
                except OSError as e:
                    log.info("pushing to %s failed: %s", node_id, e)
                    break
        return pushed

    def loop(self):
        while not self.stopping.is_set():
            self.wake.wait(IDLE_WAKE_S)
            self.wake.clear()
            if self.stopping.is_set():
                return
            try:
                self.push_due()
            except Exception:
                log.exception("pushing summaries failed")

