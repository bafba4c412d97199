"""Observe hooks: reacting to recorded terminal events."""

from . import hookspec


@hookspec
def caro_observe_event(event, node):
    """React to one newly recorded terminal event.

    Called after each event has been classified, redacted and stored (by the
    daemon's ingest or by any ``caro`` command that ingests the spool).  Must
    be cheap: it runs once per command the user types.

    :param event: the stored :class:`caro_core.events.Event` (Level 0: never
        send it anywhere).
    :param node: the :class:`caro_core.node.Node`.
    :returns: nothing.

    Example::

        @hookimpl
        def caro_observe_event(event, node):
            if event.exit_code not in (0, None):
                FAILURES[event.category] += 1
    """
