"""Dashboard hooks: panels and routes of the local web dashboard."""

from . import hookspec


@hookspec
def caro_dashboard_panels(view, request):
    """Contribute panels to a dashboard view.

    Called on every page render of a view.  Panels are server-rendered HTML
    (inline SVG for charts), never loading anything from outside the node.

    :param view: the view name (``personal``, ``team``, ``security``).
    :param request: a :class:`caro_core.dashboard.PanelRequest` (node,
        period and its range, ``store``: a read connection of the serving
        thread — use it rather than ``node.store`` —, the viewer's rights).
    :returns: a list of :class:`caro_core.dashboard.Panel` (id, title, order,
        html, and the JSON data also served under ``/api/``); empty when this
        plugin has nothing for ``view``.

    Collect-all.

    Example::

        @hookimpl
        def caro_dashboard_panels(view, request):
            if view == "personal":
                return [Panel("uptime", "Uptime", order=90, html="<p>3 days</p>", data={"days": 3})]
            return []
    """


@hookspec
def caro_dashboard_routes(app, node):
    """Add routes to the dashboard's Bottle application.

    Called once when the dashboard server starts.  The core has already
    installed the Host check, the token check and the Content-Security-Policy,
    which apply to these routes too.

    :param app: the :class:`bottle.Bottle` application.
    :param node: the :class:`caro_core.node.Node`.
    :returns: nothing.

    Example::

        @hookimpl
        def caro_dashboard_routes(app, node):
            app.route("/api/hello", callback=lambda: {"hello": node.identity.fingerprint})
    """
