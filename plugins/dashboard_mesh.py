"""Every view: the mesh connection status (FR-805) — "Standalone" or the connected peers.

The status comes from what the running daemon published: ``mesh_listen``
(the mesh listener's address) and ``mesh_connected`` (the node ids of the
peers connected now).  A node with no connected peer is standalone, whether
or not its listener runs, and the panel says which.
"""

from html import escape

from caro_core import hookimpl

SHOWN = 10


def mesh_status(node):
    """``{"status": "standalone"|"connected", "peers": n, "connected": [ids], "listen": address}``."""
    runtime = node.runtime
    listen = runtime.get("mesh_listen") if runtime else None
    connected = list((runtime.get("mesh_connected") if runtime else None) or [])
    return {"status": "connected" if connected else "standalone", "peers": len(connected),
            "connected": connected, "listen": listen}


@hookimpl
def caro_dashboard_panels(view, request):
    from caro_core.dashboard import Panel, facts

    data = mesh_status(request.node)
    if data["connected"]:
        count = data["peers"]
        html = f'<p class="status-connected">Connected ({count} peer{"s" * (count != 1)})</p>'
        html += "<ul>" + "".join(f"<li><code>{escape(node_id)}</code></li>"
                                 for node_id in data["connected"][:SHOWN]) + "</ul>"
    else:
        html = '<p class="status-standalone">Standalone</p><p class="muted">'
        html += ("The mesh listener waits for peers; none is connected. " if data["listen"] else
                 "No mesh listener runs. ")
        html += "Everything shown here comes from this machine and nothing is shared.</p>"
    html += facts([("Node", request.node.identity.fingerprint),
                   ("Mesh address", data["listen"] or "—")])
    return [Panel("mesh", "Mesh status", order=90, html=html, data=data)]
