"""Writing the node's own summaries on schedule while the daemon runs (FR-501).

Once an hour, day or week (UTC) has closed, and :data:`SETTLE_S` more seconds
have passed so that commands recorded at the boundary are ingested, its
summary is built, signed and stored, and a ``SummaryGenerated`` audit entry is
appended.  After downtime the missed periods are caught up, at most
:data:`CATCH_UP` periods back.  A period already stored is never written again;
a period without events is skipped.  Own summaries older than ``keep_days``
are pruned.  The configuration is the ``[summary]`` section.
"""

import logging
import threading
import time

from caro_core import hookimpl
from caro_core.config import Setting

log = logging.getLogger("caro.summary")

GRANULARITIES = ("hourly", "daily", "weekly")
#: How many periods back a start-up looks for missed summaries.
CATCH_UP = {"hourly": 48, "daily": 14, "weekly": 8}
#: A period is summarised this long after it ended.
SETTLE_S = 30
#: The scheduler sleeps between checks at most this long, and at least MIN_SLEEP_S.
MAX_SLEEP_S = 60
MIN_SLEEP_S = 1


@hookimpl
def caro_config_schema():
    """Declare the ``[summary]`` section."""
    return {"summary": {
        "enabled": Setting(bool, True, "write summaries on schedule while the daemon runs"),
        "granularities": Setting(list, list(GRANULARITIES), "which summaries the schedule writes",
                                 item=str, choices=GRANULARITIES),
        "keep_days": Setting(int, 90, "own summaries older than this many days are deleted "
                                      "(0 keeps them forever)"),
    }}


class SummaryScheduler:
    """The worker thread; ``clock`` returns the current epoch time (tests pass a fake one)."""

    def __init__(self, node, granularities, keep_days, clock=time.time):
        self.node = node
        self.granularities = [g for g in GRANULARITIES if g in granularities]
        self.keep_days = keep_days
        self.clock = clock
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="caro-summary", daemon=True)

    def due(self, now):
        """The periods whose summary should be written at ``now``, oldest first."""
        from caro_core.events import query_events
        from caro_core.summary import Period, stored_starts

        oldest_kept = now - self.keep_days * 86400 if self.keep_days > 0 else None
        node_id = self.node.identity.node_id
        due = []
        for granularity in self.granularities:
            periods = [Period.last_complete(now - SETTLE_S, granularity)]
            while len(periods) < CATCH_UP[granularity]:
                periods.append(periods[-1].previous())
            periods = [p for p in reversed(periods) if oldest_kept is None or p.end >= oldest_kept]
            if not periods:
                continue
            stored = stored_starts(self.node.store, node_id, granularity, periods[0].start)
            due.extend(p for p in periods if p.start not in stored
                       and query_events(self.node.store, limit=1, since=p.start, until=p.end))
        return due

    def run_once(self, now):
        """Write every due summary and prune old ones; return the summaries written."""
        from caro_core.exchange import audience
        from caro_core.summary import build, iso_utc, prune_own, store_summary

        written = []
        for period in self.due(now):
            summary = build(self.node, period, now=now, audience=audience(self.node))
            if not store_summary(self.node.store, summary):
                continue  # written meanwhile by 'caro summary generate'
            self.node.audit.append("SummaryGenerated",
                                   details=f"{period.describe()} id {summary['id']}")
            log.info("summary written: %s", period.describe())
            if self.node.runtime is not None:
                self.node.runtime.publish(last_summary={
                    "id": summary["id"], "granularity": period.granularity.value,
                    "start": iso_utc(period.start), "generated_at": summary["generated_at"]})
            written.append(summary)
        if written and self.node.mesh is not None:
            self.node.mesh.poke()  # share them now
        if self.keep_days > 0:
            pruned = prune_own(self.node.store, now - self.keep_days * 86400)
            if pruned:
                log.info("pruned %d summaries older than %d days", pruned, self.keep_days)
        return written

    def seconds_to_next(self, now):
        """Seconds until the next period becomes due, within [MIN_SLEEP_S, MAX_SLEEP_S]."""
        from caro_core.summary import Period

        closes = min(Period.containing(now - SETTLE_S, g).end for g in self.granularities)
        return max(MIN_SLEEP_S, min(MAX_SLEEP_S, closes + SETTLE_S - now))

    def loop(self):
        while not self.stopping.is_set():
            try:
                self.run_once(self.clock())
            except Exception:  # keep the schedule; the period is tried again at the next wake-up
                log.exception("writing summaries failed")
            self.stopping.wait(self.seconds_to_next(self.clock()))

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stopping.set()
        self.thread.join(timeout=10)


@hookimpl
def caro_lifecycle_start(node):
    settings = node.config["summary"]
    if not settings["enabled"] or not settings["granularities"]:
        return
    scheduler = SummaryScheduler(node, settings["granularities"], settings["keep_days"])
    node.pm.register(scheduler, name="summary_schedule.scheduler")
    scheduler.thread.start()
