"""Query hooks: answering mesh queries within the sharing policy, merging answers."""

from . import hookspec


@hookspec
def caro_query_types():
    """Name the query types this plugin answers.

    Called when the node advertises its capabilities and by ``caro query``
    to validate the requested type.

    :returns: a list of query type names (``tool-usage``, ``safety-posture``,
        ``activity``, ``anomalies``, ``health``).

    Collect-all.

    Example::

        @hookimpl
        def caro_query_types():
            return ["uptime"]
    """


@hookspec(firstresult=True)
def caro_query_answer(node, query, level):
    """Answer one query for this node only, at the allowed data level.

    Called after the sharing policy has allowed the requester; the policy's
    decision is passed as ``level``.  The answer is signed by the core.

    :param node: the :class:`caro_core.node.Node`.
    :param query: the verified :class:`caro_core.query.MeshQuery` (type, time
        range, filters, requester).
    :param level: what the answer may hold: 1 = may include this node's Level-1
        data, 2 = aggregate form only (Supervisors).
    :returns: a dict of aggregate data for ``query.query_type``, or None when
        this plugin does not handle that type.  Never Level-0 data.

    firstresult.

    Example::

        @hookimpl
        def caro_query_answer(node, query, level):
            if query.query_type == "uptime":
                return {"uptime_s": current_uptime()}
    """


@hookspec(firstresult=True)
def caro_query_merge(query_type, answers):
    """Merge the per-node answers to one query into the aggregate.

    Called on the requesting node once the deadline passes or every peer
    answered.

    :param query_type: the query type name.
    :param answers: a list of ``(node_id, data)`` pairs, each already verified.
    :returns: the merged aggregate dict, or None when this plugin does not
        handle ``query_type``.

    firstresult.

    Example::

        @hookimpl
        def caro_query_merge(query_type, answers):
            if query_type == "uptime":
                return {"max_uptime_s": max(data["uptime_s"] for _, data in answers)}
    """
