"""Continuous ingest of the shell spool while the daemon runs (an event shows within a second).

The module's start hook creates an :class:`Ingester` and registers it on the
plugin manager, so its state lives in an instance that the stop hook finds.
"""

import logging
import threading

from caro_core import hookimpl

log = logging.getLogger("caro.observe")
INTERVAL_S = 0.25


class Ingester:
    """A worker thread that moves spool records into the store every :data:`INTERVAL_S`."""

    def __init__(self, node):
        self.node = node
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="caro-ingest", daemon=True)

    def loop(self):
        from caro_core.ingest import ingest

        while not self.stopping.wait(INTERVAL_S):
            try:
                ingest(self.node)
            except Exception:  # keep ingesting; the spool keeps what was not stored
                log.exception("ingest failed")

    @hookimpl
    def caro_lifecycle_stop(self, node):
        from caro_core.ingest import ingest

        self.stopping.set()
        self.thread.join(timeout=10)
        ingest(node)  # what arrived since the last pass


@hookimpl
def caro_lifecycle_start(node):
    ingester = Ingester(node)
    node.pm.register(ingester, name="observe_spool.ingester")
    ingester.thread.start()
