"""Query type ``health`` (the plan's NodeHealth): which nodes run, which versions, how busy.

A node is one row with the fields ``caro_version``, ``protocol_version``, ``uptime_s`` (of
its daemon), ``event_count_24h`` (commands recorded in the last 24 hours, whatever the
query's range) and ``peers_connected``; filters select whether the node counts.

Answer at Level 2 (``event_count_24h`` noised when ``[sharing] epsilon`` is set)::

    {"nodes": 1, "event_count_24h": 140, "protocol_versions": {"1": 1},
     "caro_versions": {"0.1.0": 1}}

``nodes`` is 0 (and everything else empty) when the node does not pass the filters.  Level 1
adds ``node``: its own row plus ``last_event_at`` (epoch seconds).  The merge adds the counts
and lists the Level-1 rows under ``nodes_detail`` with each node's fingerprint.
"""

import time

from caro_core import hookimpl

TYPE = "health"
FIELDS = ("caro_version", "protocol_version", "uptime_s", "event_count_24h", "peers_connected")


@hookimpl
def caro_query_types():
    return [TYPE]


def _row(node):
    from caro_core import __version__, aggregates, wire

    now = time.time()
    started = node.runtime.get("started") if node.runtime is not None else None
    return {"caro_version": __version__, "protocol_version": wire.VERSION,
            "uptime_s": round(now - started) if started else 0,
            "event_count_24h": aggregates.totals(node.store, now - 86400, now)["total"],
            "peers_connected": len(node.mesh.connected()) if node.mesh is not None else 0}


@hookimpl
def caro_query_answer(node, query, level):
    if query.query_type != TYPE:
        return None
    query.check_fields(FIELDS)
    row = _row(node)
    if not query.keep(row):
        return {"nodes": 0, "event_count_24h": 0, "protocol_versions": {}, "caro_versions": {}}
    data = {"nodes": 1,
            "event_count_24h": query.noise(node, level)("events_24h", row["event_count_24h"]),
            "protocol_versions": {str(row["protocol_version"]): 1},
            "caro_versions": {row["caro_version"]: 1}}
    if level == 1:
        (last,) = node.store.query_one("SELECT max(timestamp) FROM events")
        data["node"] = {**row, "last_event_at": last}
    return data


def _add(counts, more):
    for key, count in more.items():
        counts[key] = counts.get(key, 0) + count


@hookimpl
def caro_query_merge(query_type, answers):
    if query_type != TYPE:
        return None
    from caro_core.query import describe_node

    protocols, versions = {}, {}
    for _, data in answers:
        _add(protocols, data["protocol_versions"])
        _add(versions, data["caro_versions"])
    merged = {"nodes": sum(d["nodes"] for _, d in answers),
              "event_count_24h": sum(d["event_count_24h"] for _, d in answers),
              "protocol_versions": dict(sorted(protocols.items())),
              "caro_versions": dict(sorted(versions.items()))}
    detail = [{"node": describe_node(node_id), **data["node"]}
              for node_id, data in answers if "node" in data]
    if detail:
        merged["nodes_detail"] = sorted(detail, key=lambda d: d["node"])
    return merged
