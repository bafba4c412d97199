"""Summary field ``category_stats``: per command category its count, average duration and
failure rate (FR-502 tool usage).

Category names come from the classify plugins.  Every ``other:<program>``
category is reported as ``other``: an unknown program may be a private script
whose name is a file name, and no file name leaves the node.
"""

from caro_core import hookimpl


@hookimpl
def caro_summary_fields(node, period):
    """``category_stats``: ``[{"category", "count", "avg_duration_ms", "failure_rate"}]``, most
    used first; the average and the rate are null when no duration or exit code was recorded."""
    from caro_core.aggregates import category_stats

    return {"category_stats": category_stats(node.store, period.start, period.end,
                                             collapse_other=True)}
