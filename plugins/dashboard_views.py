"""The team and security views (FR-803, FR-804): what they will show, and what they need first.

Both views show aggregates that peers share over the mesh, to viewers the
peers' policy authorises.  Until this node is in a mesh and holds those rights
they say so plainly instead of showing numbers.
"""

from html import escape

from caro_core import hookimpl

#: view → (panel id, title, what it will show, the right it needs)
VIEWS = {
    "team": ("team", "Team metrics",
             "Aggregate team metrics: tool adoption, activity and failure rates across the "
             "team's nodes, from Level-2 aggregates only (never a command, path or argument).",
             "team"),
    "security": ("posture", "Organization security posture",
                 "Nodes online, risk distribution across the organisation, anomaly signals "
                 "and query activity, from Level-2 aggregates only.",
                 "supervisor"),
}


@hookimpl
def caro_dashboard_panels(view, request):
    if view not in VIEWS:
        return []
    from caro_core.dashboard import Panel

    panel_id, title, shows, right = VIEWS[view]
    runtime = request.node.runtime
    needs = [] if runtime and runtime.get("mesh_connected") else ["peers in the mesh"]
    if right not in request.rights:
        needs.append(f"{right} rights granted by the mesh's policy")
    html = (f'<p>{escape(shows)}</p><p class="muted">Not available on this node yet: it needs '
            f'{escape(" and ".join(needs) or "the mesh query features")}, which arrive with the '
            'mesh in a later release.</p>')
    return [Panel(panel_id, title, order=10, html=html,
                  data={"available": False, "needs": needs, "shows": shows})]
