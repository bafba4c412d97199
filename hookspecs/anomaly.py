"""Anomaly hooks: detectors that compare a node's recent activity with its own baseline."""

from . import hookspec


@hookspec
def caro_anomaly_detect(node, window):
    """Find anomalies in this node's own events.

    Called by the personal dashboard's anomaly panel, by ``caro anomalies`` and
    when an authorised Anomalies query is answered.  Detectors read Level-0
    events locally; what they return is Level 1 and may leave the node.

    :param node: the :class:`caro_core.node.Node` (read events via ``node.store``).
    :param window: a :class:`caro_core.anomaly.Window` (``since`` and ``until``
        epoch seconds of the period examined, ``baseline_since`` the start of
        the history it is compared with).
    :returns: a list of :class:`caro_core.anomaly.Anomaly` (kind, severity
        1-10, description, count, first_seen, last_seen); the description
        names no path, host or argument.

    Collect-all: every detector contributes.

    Example::

        @hookimpl
        def caro_anomaly_detect(node, window):
            (n,) = node.store.query_one(
                "SELECT count(*) FROM events WHERE timestamp >= ? AND risk = 3",
                (window.since,))
            return [Anomaly("CriticalBurst", 8, f"{n} critical commands")] if n > 5 else []
    """
