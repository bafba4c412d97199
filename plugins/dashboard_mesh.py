"""Every view: the mesh status (FR-805) — "Standalone", or the peers with their trust and state.

Who is connected comes from what the running daemon published (``mesh_listen``,
``mesh_connected``); the known peers, their trust and when they were last
seen come from the store and ``peers.toml``.  A node with no connected peer
is standalone, whether or not its listener runs, and the panel says which.
"""

from html import escape

from caro_core import hookimpl

SHOWN = 20


def peer_state(peer, level, connected):
    """``connected``, ``pending`` (awaiting a person's decision), ``refused`` or ``offline``."""
    if peer.node_id in connected:
        return "connected"
    if peer.pending:
        return "pending"
    return "offline" if level.connects else "refused"


def mesh_status(node, store):
    """``{"status", "peers" (connected count), "connected" (ids), "listen", "known"}``;
    ``known`` lists every known peer with its fingerprint, trust, state and last sighting."""
    from caro_core import peers
    from caro_core.trust import decide

    runtime = node.runtime
    listen = runtime.get("mesh_listen") if runtime else None
    connected = list((runtime.get("mesh_connected") if runtime else None) or [])
    known = []
    for peer in peers.known_peers(store, node.home):
        level = decide(node, peer)
        known.append({"node_id": peer.node_id, "fingerprint": peer.fingerprint,
                      "trust": level.label, "state": peer_state(peer, level, set(connected)),
                      "source": peer.source, "last_seen": peer.last_seen})
    known.sort(key=lambda p: (p["state"] != "connected", p["fingerprint"]))
    return {"status": "connected" if connected else "standalone", "peers": len(connected),
            "connected": connected, "listen": listen, "known": known}


def _peer_rows(known):
    import time

    rows = []
    for p in known[:SHOWN]:
        seen = (time.strftime("%Y-%m-%d %H:%M", time.localtime(p["last_seen"]))
                if p["last_seen"] else "never")
        rows.append(f'<tr><td><code>{escape(p["fingerprint"][:16])}</code></td>'
                    f'<td>{escape(p["trust"])}</td>'
                    f'<td><span class="state-{escape(p["state"])}">{escape(p["state"])}</span></td>'
                    f'<td>{escape(seen)}</td></tr>')
    more = f'<p class="muted">and {len(known) - SHOWN} more</p>' if len(known) > SHOWN else ""
    return ('<table class="peers"><thead><tr><th>Peer</th><th>Trust</th><th>State</th>'
            '<th>Last seen</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>" + more)


@hookimpl
def caro_dashboard_panels(view, request):
    from caro_core.dashboard import Panel, facts

    data = mesh_status(request.node, request.store)
    if data["connected"]:
        count = data["peers"]
        html = f'<p class="status-connected">Connected ({count} peer{"s" * (count != 1)})</p>'
    else:
        html = '<p class="status-standalone">Standalone</p><p class="muted">'
        html += ("The mesh listener waits for peers; none is connected. " if data["listen"] else
                 "No mesh listener runs. ")
        html += "Everything shown here comes from this machine and nothing is shared.</p>"
    if data["known"]:
        html += _peer_rows(data["known"])
    html += facts([("Node", request.node.identity.fingerprint),
                   ("Mesh address", data["listen"] or "—")])
    return [Panel("mesh", "Mesh status", order=90, html=html, data=data)]
