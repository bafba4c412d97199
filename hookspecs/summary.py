"""Summary hooks: contributions to Level-1 node summaries."""

from . import hookspec


@hookspec
def caro_summary_fields(node, period):
    """Compute this plugin's fields of a Level-1 ``NodeSummary``.

    Called by ``caro summary preview|generate`` and on the daemon's schedule.
    Only aggregates may be returned: counts, rates, durations, category names.
    Never a command text, path, argument, host or prompt.

    :param node: the :class:`caro_core.node.Node` (read events via ``node.store``).
    :param period: a :class:`caro_core.summary.Period` (start, end, granularity).
    :returns: a dict of summary fields (for example
        ``{"category_stats": [...]}``); keys from different plugins must not clash.

    Collect-all: the dicts are merged into one summary, then signed.

    Example::

        @hookimpl
        def caro_summary_fields(node, period):
            (count,) = node.store.query_one(
                "SELECT count(*) FROM events WHERE timestamp >= ? AND timestamp < ?",
                (period.start, period.end))
            return {"total_commands": count}
    """
