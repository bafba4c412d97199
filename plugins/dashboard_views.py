"""The team and security views (FR-803, FR-804), filled from mesh queries.

Each view asks its questions at once (:func:`caro_core.query.run`, whose
results are cached) with a short deadline, so the page never waits long, and
shows what the answers merge into:

* **team** — tool adoption, activity by hour and weekday, failure rates per
  tool, across the nodes that consent to answer;
* **security** (the ADR's CISO mock-up) — nodes online out of all known, the
  risk distribution, anomaly signals by kind, tool adoption trends against the
  previous period of the same length, and the average query response time.

Per node, nothing is shown but its fingerprint and whether it is online and
answered, refused or stayed silent.  Everything else is a merged aggregate; one
over too few nodes is withheld — by the query module for Level-2 answers, and
on the security view whenever fewer other nodes than ``[sharing] min_cohort``
answered, because over one or two nodes an aggregate *is* their numbers.
Without a connected peer, or when no other node answers, the views say what
they need instead.
"""

import logging
from html import escape

from caro_core import hookimpl

log = logging.getLogger("caro.dashboard")

#: seconds a view waits for the mesh; the query module caches what arrived
QUERY_TIMEOUT_S = 2.0
#: a change in share smaller than this, either way, is "stable"
STABLE = 0.05
#: rows per chart
SHOWN = 8
#: nodes listed by the nodes panel
NODES_SHOWN = 20
ANOMALY_KINDS = {"UnusualPattern": "Unusual command patterns",
                 "HighFailureRate": "High failure rate",
                 "UnusualTiming": "Unusual activity timing",
                 "RepeatedRisky": "Repeated risky commands",
                 "BaselineDeviation": "Deviation from its own baseline"}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: node state → (text, css class of caro.css)
STATES = {"answered": ("answered", "state-connected"),
          "partly": ("answered some, refused some", "state-pending"),
          "denied": ("refused (its sharing policy)", "state-refused"),
          "failed": ("answered with an error", "state-refused"),
          "silent": ("no answer in time", "state-pending"),
          "online": ("online, not asked", "state-connected"),
          "offline": ("offline", "state-offline")}
#: period → what the period before it is called
PREVIOUS = {"today": "day", "week": "7 days", "month": "30 days"}


def run_query(node, query_type, since, until):
    """One mesh query with the views' deadline (a :class:`caro_core.query.QueryResult`)."""
    from caro_core.query import run

    return run(node, query_type, since=since, until=until, timeout_s=QUERY_TIMEOUT_S)


def previous_range(request):
    """The previous period of the same length, up to the same point of it as now.

    Today so far is compared with yesterday up to the same time — to the
    quarter hour (at least one), so the question stays the same, and cached, for a while.
    """
    length = request.end - request.start
    mark = max(request.start + 900, min(request.now, request.end) // 900 * 900)
    return request.start - length, mark - length


def ask_all(request, queries):
    """Run ``{key: query type}`` at once; a key starting ``previous:`` asks the previous period.

    :returns: ``(results, failures)``: ``{key: QueryResult}`` and ``{key: message}``
        for queries that raised (a failing query costs only its panel).
    """
    from concurrent.futures import ThreadPoolExecutor

    ranges = {False: (request.start, request.end), True: previous_range(request)}
    results, failures = {}, {}
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        futures = {key: pool.submit(run_query, request.node, query_type,
                                    *ranges[key.startswith("previous:")])
                   for key, query_type in queries.items()}
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as error:
                log.warning("dashboard query %s failed", queries[key], exc_info=True)
                failures[key] = f"{type(error).__name__}: {error}"
    return results, failures


def others(request, result):
    """The nodes other than this one that contributed to ``result``."""
    return [node_id for node_id in result.contributors
            if node_id != request.node.identity.node_id]


# -- the nodes: who is online, who answered ------------------------------------------------

def node_states(request, results, connected):
    """Every other node the view knows of, as ``{"fingerprint", "state", "online"}``.

    The nodes are the trusted peers and every node named in a result (answers
    may come through relays); one that answered, refused or failed is online.
    """
    from caro_core import peers
    from caro_core.trust import decide

    node = request.node
    known = {p.node_id: p.fingerprint for p in peers.known_peers(request.store, node.home)
             if not p.pending and decide(node, p).connects}
    seen = {}
    for result in results.values():
        for role, ids in (("contributors", result.contributors), ("denied", result.denied),
                          ("failed", result.failed), ("no_response", result.no_response)):
            for node_id in ids:
                seen.setdefault(node_id, set()).add(role)
    rows = []
    for node_id in sorted((known.keys() | seen.keys() | connected) - {node.identity.node_id}):
        roles = seen.get(node_id, set())
        if "contributors" in roles:
            state = "partly" if roles & {"denied", "failed"} else "answered"
        else:
            state = next((state for role, state in (("denied", "denied"), ("failed", "failed"),
                                                    ("no_response", "silent")) if role in roles),
                         "online" if node_id in connected else "offline")
        fingerprint = known.get(node_id) or peers.peer_from_node_id(node_id).fingerprint
        rows.append({"fingerprint": fingerprint, "state": state,
                     "online": state not in ("silent", "offline") or node_id in connected})
    return rows


def average_latency(results):
    """The mean response time in ms over every answer of ``results`` (None without one)."""
    times = [ms for result in results.values() for ms in result.latency_ms.values()]
    return round(sum(times) / len(times)) if times else None


def needs(request, connected, results, failures):
    """What the view lacks before it can show numbers (empty when another node answered)."""
    if not connected:
        return ["peers in the mesh: no peer is connected"]
    if any(others(request, result) for result in results.values()):
        return []
    if not results:
        return [f"working queries: {'; '.join(sorted(set(failures.values())))}"]
    if any(result.denied for result in results.values()):
        return ["a node that shares with this one: every node that answered refused "
                "(its sharing policy)"]
    return ["an answer: no other node answered in time"]


def nodes_panel(request, title, results, failures, connected):
    """The view's first panel: nodes online, who answered, the average response time.

    :returns: ``(panel, available)``.
    """
    from caro_core.dashboard import Panel, facts
    from caro_core.svg import stacked_bar

    rows = node_states(request, results, connected)
    missing = needs(request, connected, results, failures)
    online = sum(row["online"] for row in rows)
    count = {state: sum(row["state"] == state for row in rows) for state in STATES}
    answered = count["answered"] + count["partly"]
    asked = len(rows) - count["offline"] - count["online"]
    latency = average_latency(results)
    parts = [(answered, "answered", "answered"), (count["denied"], "denied", "refused"),
             (count["failed"], "denied", "answered with an error"),
             (count["online"], "online", "online, not asked"),
             (count["silent"], "silent", "no answer in time"),
             (count["offline"], "offline", "offline")]
    html = stacked_bar([(value, css, f"{value} {text}") for value, css, text in parts],
                       f"{online} of {len(rows)} nodes online")
    html += facts([("Nodes online", f"{online}/{len(rows)}"),
                   ("Answered", f"{answered} of {asked}" if results else "—"),
                   ("Avg response", "—" if latency is None else f"{latency:,} ms")])
    if missing:
        html += (f'<p class="status-standalone">Needs {escape(" and ".join(missing))}.</p>'
                 '<p class="muted">This view shows aggregates that other nodes share with this '
                 "one when their sharing policy allows it (they trust this node as a peer, or "
                 "as their supervisor); nothing is shown until they do.</p>")
    if rows:
        html += _nodes_table(rows)
    data = {"available": not missing, "needs": missing, "online": online, "total": len(rows),
            "answered": answered, "denied": count["denied"], "failed": count["failed"],
            "no_response": count["silent"], "avg_response_ms": latency,
            "queries": len(results) + len(failures), "failures": failures, "nodes": rows}
    return Panel("nodes", title, order=10, html=html, data=data), not missing


def _nodes_table(rows):
    shown = sorted(rows, key=lambda row: (row["state"] == "offline", row["fingerprint"]))
    body = "".join(
        f'<tr><td><code>{escape(row["fingerprint"])}</code></td>'
        f'<td><span class="{STATES[row["state"]][1]}">{escape(STATES[row["state"]][0])}</span>'
        f"</td></tr>" for row in shown[:NODES_SHOWN])
    more = (f'<p class="muted">and {len(rows) - NODES_SHOWN} more</p>'
            if len(rows) > NODES_SHOWN else "")
    return ('<table class="peers"><thead><tr><th>Node</th><th>State</th></tr></thead>'
            f"<tbody>{body}</tbody></table>{more}")


# -- one query's panel ----------------------------------------------------------------------

def _plural(count, word):
    return f"{count} {word}{'s' * (count != 1)}"


def answered_note(request, result):
    """``This node and 3 of 5 others answered (1 refused, 1 did not answer in time).``"""
    other = len(others(request, result))
    asked = other + len(result.denied) + len(result.failed) + len(result.no_response)
    extra = ", ".join(f"{count} {text}" for count, text in (
        (len(result.denied), "refused"), (len(result.failed), "failed"),
        (len(result.no_response), "did not answer in time")) if count)
    text = (f"This node and {other} of {asked} other nodes answered"
            if request.node.identity.node_id in result.contributors
            else f"{other} of {asked} nodes answered")
    return f'<p class="muted">{text}{f" ({extra})" if extra else ""}.</p>'


def result_head(request, result):
    """The counts every query panel's data starts with (other nodes; this one is not counted)."""
    return {"contributors": len(others(request, result)), "denied": len(result.denied),
            "failed": len(result.failed), "no_response": len(result.no_response)}


def withheld(request, result):
    """Why ``result``'s aggregate may not be shown, or None.

    The query module withholds Level-2 aggregates below the minimum cohort; the
    security view also withholds any aggregate over fewer other nodes than it.
    """
    from caro_core.policy import cohort_allows, load

    if result.withheld:
        return result.withheld
    count = len(others(request, result))
    if request.view == "security" and not cohort_allows(request.node, count, 2):
        return (f"only {_plural(count, 'other node')} answered: fewer than the minimum cohort "
                f"({load(request.node).min_cohort}), so the aggregate is withheld")
    return None


def query_panel(request, panel_id, title, order, result, failure, draw):
    """One query's panel: its error, why it is withheld, or what ``draw(result)`` makes."""
    from caro_core.dashboard import Panel

    title = f"{title} · {request.period_label}"
    if result is None:
        return Panel(panel_id, title, order, f'<p class="error">{escape(failure)}</p>',
                     {"error": failure})
    head, note = result_head(request, result), answered_note(request, result)
    if not others(request, result):
        return Panel(panel_id, title, order, '<p class="muted">No other node shared this.</p>'
                     + note, {**head, "withheld": None, "available": False})
    reason = withheld(request, result)
    if reason:
        html = (f'<p class="status-standalone">{escape(reason[0].upper() + reason[1:])}.</p>'
                '<p class="muted">Over so few nodes an aggregate would show their individual '
                "numbers ([sharing] min_cohort).</p>")
        return Panel(panel_id, title, order, html + note, {**head, "withheld": reason})
    html, data = draw(result)
    return Panel(panel_id, title, order, html + note, {**head, "withheld": None, **data})


# -- team ---------------------------------------------------------------------------------------

def categories(result):
    """``[(category, stats)]`` of a tool-usage result, most used first."""
    return sorted((result.data.get("by_category") or {}).items(),
                  key=lambda item: (-item[1]["count"], item[0]))


def draw_adoption(result):
    """Tool adoption: on how many of the answering nodes each tool is used."""
    from caro_core.svg import bar_chart

    nodes, stats = len(result.contributors), categories(result)
    rows = [(name, s["node_count"], "", f"{s['node_count']} of {nodes} · {s['count']:,} cmds")
            for name, s in stats[:SHOWN]]
    html = (bar_chart(rows, "Nodes using each tool") if rows
            else '<p class="muted">No commands in this period.</p>')
    if len(stats) > SHOWN:
        html += f'<p class="muted">and {_plural(len(stats) - SHOWN, "more tool")}</p>'
    tools = [{"category": name, **{key: s.get(key) for key in
                                   ("count", "node_count", "avg_duration_ms", "failure_rate")}}
             for name, s in stats]
    return html, {"total_commands": result.data.get("total_commands", 0), "tools": tools}


def draw_failures(result):
    """Failure rates per tool (of commands with a known exit code), most used tools first."""
    from caro_core.svg import bar_chart

    stats = [(name, s["failure_rate"]) for name, s in categories(result)
             if s.get("failure_rate") is not None]
    rows = [(name, rate, "risk-high", f"{rate:.0%}") for name, rate in stats[:SHOWN]]
    html = (bar_chart(rows, "Failure rate per tool") if rows
            else '<p class="muted">No commands with a known exit code in this period.</p>')
    return html, {"failure_rates": dict(stats)}


def draw_activity(result):
    """When the team works: commands per hour of day and per weekday (UTC, as merged)."""
    from caro_core.svg import column_chart

    data = result.data
    hourly, daily = data.get("hourly") or [0] * 24, data.get("daily") or [0] * 7
    html = column_chart(hourly, [f"{h:02d}" for h in range(24)], "Commands by hour of day (UTC)",
                        lambda h, n: f"{h:02d}:00–{h:02d}:59 UTC: {n:,} commands", label_every=3)
    html += column_chart(daily, DAYS, "Commands by weekday (UTC)",
                         lambda d, n: f"{DAYS[d]}: {n:,} commands", height=80)
    peaks = ", ".join(f"{h:02d}:00" for h in data.get("peak_hours", []))
    html += ('<p class="muted">Hours and days in UTC, so that nodes in different time zones add '
             f'up.{f" Busiest hours: {peaks}." if peaks else ""}</p>')
    return html, {key: data.get(key) for key in ("hourly", "daily", "total", "peak_hours",
                                                 "active_nodes")}


def team_panels(request, results, failures):
    """Tool adoption, activity patterns and failure rates across the answering nodes."""
    def pick(key):
        return results.get(key), failures.get(key)

    return [query_panel(request, "adoption", "Tool adoption", 20, *pick("tools"), draw_adoption),
            query_panel(request, "activity", "Activity patterns", 30, *pick("activity"),
                        draw_activity),
            query_panel(request, "failures", "Failure rates", 40, *pick("tools"), draw_failures)]


# -- security -----------------------------------------------------------------------------------

def _percent(share):
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def draw_risk(result):
    """The share of commands per risk level, as in the CISO mock-up."""
    from caro_core.dashboard import facts
    from caro_core.svg import bar_chart

    counts, total = result.data.get("by_risk", {}), result.data.get("total", 0)
    shares = {level: counts[level] / total if total else 0.0 for level in counts}
    rows = [(level.title(), share, f"risk-{level}", _percent(share))
            for level, share in shares.items()]
    blocked = result.data.get("blocked_count")
    html = bar_chart(rows, "Share of commands per risk level")
    html += facts([("Commands", f"{total:,}"),
                   ("Blocked by Caro", "—" if blocked is None else f"{blocked:,}"),
                   ("Risky, confirmed by the user", f"{result.data.get('confirmed_risky', 0):,}")])
    return html, {"counts": counts, "shares": shares, "total": total, "blocked": blocked,
                  "confirmed_risky": result.data.get("confirmed_risky", 0),
                  "nodes_by_risk": result.data.get("nodes_by_risk", {})}


def draw_anomalies(result):
    """Signals per kind, how many nodes had any and the highest severity — never which node."""
    from caro_core.dashboard import facts

    data = result.data
    by_kind = {kind: 0 for kind in ANOMALY_KINDS} | data.get("by_kind", {})
    items = []
    for kind, count in sorted(by_kind.items(), key=lambda item: (-item[1], item[0])):
        name = ANOMALY_KINDS.get(kind, kind)
        items.append(f'<li><span class="badge risk-high">⚠ {count:,}</span> {escape(name)}</li>'
                     if count else f'<li><span class="badge risk-safe">✓</span> No '
                     f"{escape(name[0].lower() + name[1:])} detected</li>")
    affected = data.get("nodes_affected", 0)
    html = f'<ul class="signals">{"".join(items)}</ul>' + facts([
        ("Nodes with signals", f"{affected} of {len(result.contributors)}"),
        ("Highest severity", f"{data.get('max_severity', 0)} of 10" if affected else "—")])
    return html, {"count": data.get("count", 0), "by_kind": by_kind,
                  "by_level": data.get("by_level", {}), "max_severity": data.get("max_severity", 0),
                  "nodes_affected": affected}


def shares(result):
    """Each tool's share of all commands in a tool-usage result."""
    stats = categories(result)
    total = sum(s["count"] for _, s in stats)
    return {name: s["count"] / total for name, s in stats} if total else {}


def trend(name, current, previous):
    """One tool's trend: its share now and before, the relative change and how it is drawn."""
    change = (current - previous) / previous if previous else None
    if change is None:
        note, css = ("new" if current else "—"), "up"
    elif not current:
        note, css = "▼ gone", "down"
    elif abs(change) < STABLE:
        note, css = "─ stable", "stable"
    else:
        up = change > 0
        note, css = f"{'▲' if up else '▼'} {abs(change):.0%}", "up" if up else "down"
    return {"category": name, "share": current, "previous_share": previous, "change": change,
            "note": note, "class": css}


def trends_draw(request, previous, failure):
    """``draw`` for the trends panel: each tool's share of commands against the previous period."""
    def draw(result):
        from caro_core.svg import change_chart

        if previous is None:
            why = failure
        elif not others(request, previous):
            why = "no other node shared the previous period"
        else:
            why = withheld(request, previous)
        if why:
            return (f'<p class="muted">No comparison with the previous period: {escape(why)}.</p>',
                    {"trends": [], "previous": None})
        now, before = shares(result), shares(previous)
        names = sorted(now.keys() | before.keys(),
                       key=lambda name: (-max(now.get(name, 0), before.get(name, 0)), name))
        trends = [trend(name, now.get(name, 0), before.get(name, 0)) for name in names[:SHOWN]]
        rows = [(t["category"], t["change"], t["class"], t["note"]) for t in trends]
        html = (change_chart(rows, "Share of commands against the previous period") if rows
                else '<p class="muted">No commands in either period.</p>')
        html += ('<p class="muted">Each tool\'s share of all commands against the previous '
                 f"{PREVIOUS[request.period]} up to the same time.</p>")
        return html, {"trends": trends, "previous": result_head(request, previous)}
    return draw


def security_panels(request, results, failures):
    """Risk distribution, anomaly signals and tool adoption trends across the answering nodes."""
    def pick(key):
        return results.get(key), failures.get(key)

    return [query_panel(request, "risk", "Risk distribution", 20, *pick("safety"), draw_risk),
            query_panel(request, "anomalies", "Anomaly signals", 30, *pick("anomalies"),
                        draw_anomalies),
            query_panel(request, "trends", "Tool adoption trends", 40, *pick("tools"),
                        trends_draw(request, *pick("previous:tools")))]


#: view → (nodes panel title, {query key: query type}, the other panels)
VIEWS = {
    "team": ("Team nodes", {"tools": "tool-usage", "activity": "activity"}, team_panels),
    "security": ("Mesh health", {"safety": "safety-posture", "anomalies": "anomalies",
                                 "tools": "tool-usage", "previous:tools": "tool-usage"},
                 security_panels),
}


@hookimpl
def caro_dashboard_panels(view, request):
    if view not in VIEWS:
        return []
    title, queries, panels = VIEWS[view]
    runtime = request.node.runtime
    connected = set((runtime.get("mesh_connected") if runtime else None) or [])
    results, failures = ask_all(request, queries) if connected else ({}, {})
    nodes, available = nodes_panel(request, title, results, failures, connected)
    return [nodes, *panels(request, results, failures)] if available else [nodes]
