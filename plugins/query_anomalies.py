"""Query type ``anomalies`` (the plan's Anomalies, FR-605): unusual activity on the nodes.

A node's rows are the findings of its anomaly detectors for the range against its own
baseline (:func:`caro_core.anomaly.detect`); filters on ``kind`` (``UnusualPattern`` …),
``severity`` (1 … 10) and ``level`` (``low`` … ``critical``) select them.

Answer at Level 2 (counts of findings, noised when ``[sharing] epsilon`` is set)::

    {"count": 2, "by_kind": {"HighFailureRate": 1, "UnusualTiming": 1},
     "by_level": {"low": 1, "medium": 1, "high": 0, "critical": 0}, "max_severity": 5}

Level 1 adds ``signals``: each finding's ``kind``, ``severity``, ``level``, ``description``
(which names command shapes, categories, counts and hours — never a path, host or argument),
``count`` and ``first_seen``/``last_seen`` (epoch seconds).  The merge adds the counts, takes
the highest severity, counts ``nodes_affected`` and lists the Level-1 signals with the
fingerprint of the node that reported each (``node``), most severe first.
"""

from caro_core import hookimpl

TYPE = "anomalies"
FIELDS = ("kind", "severity", "level")
LEVELS = ("low", "medium", "high", "critical")
MAX_SIGNALS = 50


@hookimpl
def caro_query_types():
    return [TYPE]


@hookimpl
def caro_query_answer(node, query, level):
    if query.query_type != TYPE:
        return None
    from caro_core.anomaly import detect

    query.check_fields(FIELDS)
    noised = query.noise(node, level)
    found = [a for a in detect(node, query.since, query.until)
             if query.keep({"kind": a.kind, "severity": a.severity, "level": a.level})]
    by_kind = {}
    for a in found:
        by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
    by_kind = {kind: noised(f"kind:{kind}", count) for kind, count in sorted(by_kind.items())}
    data = {"count": sum(by_kind.values()), "by_kind": by_kind,
            "by_level": {name: noised(f"level:{name}", sum(a.level == name for a in found))
                         for name in LEVELS},
            "max_severity": max((a.severity for a in found), default=0)}
    if level == 1:
        data["signals"] = [{"kind": a.kind, "severity": a.severity, "level": a.level,
                            "description": a.description, "count": a.count,
                            "first_seen": a.first_seen, "last_seen": a.last_seen}
                           for a in found[:MAX_SIGNALS]]
    return data


@hookimpl
def caro_query_merge(query_type, answers):
    if query_type != TYPE:
        return None
    from caro_core.query import describe_node

    by_kind = {}
    for _, data in answers:
        for kind, count in data["by_kind"].items():
            by_kind[kind] = by_kind.get(kind, 0) + count
    merged = {"count": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items())),
              "by_level": {name: sum(d["by_level"].get(name, 0) for _, d in answers)
                           for name in LEVELS},
              "max_severity": max((d["max_severity"] for _, d in answers), default=0),
              "nodes_affected": sum(1 for _, d in answers if d["count"])}
    signals = [{**signal, "node": describe_node(node_id)}
               for node_id, data in answers for signal in data.get("signals", ())]
    if signals:
        merged["signals"] = sorted(signals, key=lambda s: (-s["severity"], s["kind"], s["node"]))
    return merged
