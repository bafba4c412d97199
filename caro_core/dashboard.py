"""The local web dashboard: panels, the request they answer, and the guarded application.

Every panel is a plugin answering ``caro_dashboard_panels(view, request)``
with :class:`Panel` objects; :class:`Dashboard` collects them for a view and a
period, renders the page on the server (inline SVG charts, no JavaScript) and
serves each panel's data as JSON under ``/api/``.  The dashboard server plugin
puts a :class:`Dashboard` behind cheroot.

Every request passes the guard in :meth:`Dashboard.__call__` first, routes
added by plugins included:

* the ``Host`` header must name the bound address, ``localhost``,
  ``127.0.0.1`` or ``[::1]`` with the bound port — a page of another site whose
  name an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name
  and is refused with 421;
* the node's token (``$CARO_HOME/dashboard.token``, mode 0600, so other local
  users cannot read it) must come as ``?token=`` — answered with a redirect
  that moves it into an HttpOnly, SameSite=Strict cookie — or as that cookie;
  anything else gets 401 and a page saying to run ``caro dashboard``;
* every response carries a Content-Security-Policy allowing nothing but this
  origin and no inline script or style, and headers that forbid framing,
  sniffing, referrers and caching.
"""

import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from urllib.parse import parse_qsl, quote, urlencode

from .errors import CaroError
from .home import ensure_home
from .lifecycle import call_each

log = logging.getLogger("caro.dashboard")

TOKEN_FILE = "dashboard.token"
#: view name → (path, heading)
VIEWS = {
    "personal": ("/", "Personal Terminal Intelligence"),
    "team": ("/team", "Team"),
    "security": ("/security", "Organization Security Posture"),
}
#: period name → (days, label); a period ends at the coming local midnight
PERIODS = {"today": (1, "Today"), "week": (7, "Last 7 days"), "month": (30, "Last 30 days")}
CSP = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
]
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


class DashboardError(CaroError):
    """The dashboard cannot start: its token file or its address."""


@dataclass
class Panel:
    """One box of a dashboard view.

    :param id: unique within the view; the element id is ``panel-<id>`` and
        the data is served at ``/api/<view>/<id>``.
    :param title: the heading (plain text, escaped by the page).
    :param order: panels show in ascending order.
    :param html: the body, already escaped by the panel: inline SVG, no
        scripts, no inline styles (the CSP blocks them), classes from ``caro.css``.
    :param data: JSON-ready data behind the panel, served under ``/api/``.
    """

    id: str
    title: str
    order: int = 50
    html: str = ""
    data: object = None


@dataclass(frozen=True)
class PanelRequest:
    """What a panel is asked for: a view, over ``[start, end)``, for a viewer.

    :param node: the :class:`caro_core.node.Node`.
    :param store: a read connection to the node's store for the serving
        thread; panels read through it, not ``node.store``.
    :param period: ``today``, ``week`` or ``month``.
    :param start: the period's first second (local midnight), epoch.
    :param end: the coming local midnight, epoch (exclusive).
    :param rights: what the viewer may see; the local owner has ``{"owner"}``
        (team and supervisor rights come with the mesh).
    """

    node: object
    store: object
    view: str
    period: str
    start: float
    end: float
    now: float
    rights: frozenset = field(default_factory=lambda: frozenset({"owner"}))

    @property
    def period_label(self):
        """``"Today"``, ``"Last 7 days"``, ``"Last 30 days"``."""
        return PERIODS[self.period][1]


def facts(pairs):
    """A list of ``(label, value)`` as an HTML definition list (both escaped)."""
    rows = "".join(f"<dt>{escape(str(label))}</dt><dd>{escape(str(value))}</dd>"
                   for label, value in pairs)
    return f'<dl class="facts">{rows}</dl>'


def period_range(name, now):
    """``(start, end)`` epoch seconds of the period ``name`` around ``now`` (local midnights)."""
    days = PERIODS[name][0]
    today = dt.datetime.fromtimestamp(now).date()

    def midnight(day):
        return dt.datetime.combine(day, dt.time()).astimezone().timestamp()

    return midnight(today - dt.timedelta(days=days - 1)), midnight(today + dt.timedelta(days=1))


def load_token(home, create=True):
    """The node's dashboard token, created (random, mode 0600) on first use.

    Refuses a token file other users can read: they could open the dashboard.
    With ``create=False`` (``caro dashboard``, which must print the token the
    running server holds) a missing file is an error.
    """
    path = ensure_home(home) / TOKEN_FILE
    if not path.exists() and not create:
        raise DashboardError(f"{path} is missing: restart the daemon ('caro daemon stop', "
                             "'caro daemon start') to make a new token")
    if not path.exists():
        tmp = path.with_name(f"{TOKEN_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)  # never replaces a token another process just created
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o077:
        raise DashboardError(f"{path} can be read by other users: run 'chmod 600 {path}' "
                             f"(or delete it to get a new token)")
    token = path.read_text().strip()
    if len(token) < 32:
        raise DashboardError(f"{path} does not hold a valid token: delete it to get a new one")
    return token


def collect_panels(request):
    """``(panels, errors)``: the view's panels in order, and ``(plugin, message)`` per failure.

    One failing plugin costs only its own panels.
    """
    results, failures = call_each(request.node.pm.hook.caro_dashboard_panels,
                                  view=request.view, request=request)
    panels = []
    for found in results:
        if not isinstance(found, (list, tuple)) or not all(isinstance(p, Panel) for p in found):
            failures.append(("?", TypeError(f"a panel plugin returned {type(found).__name__}, "
                                            "not a list of Panel")))
            continue
        panels += found
    panels.sort(key=lambda p: (p.order, p.id))
    return panels, [(name, f"{type(e).__name__}: {e}") for name, e in failures]


class ReadStores:
    """One read connection to the store per serving thread (a connection is not shared)."""

    def __init__(self, path):
        self.path = path
        self.local = threading.local()
        self.opened = []
        self.lock = threading.Lock()

    def get(self):
        store = getattr(self.local, "store", None)
        if store is None:
            from .store import Store

            store = self.local.store = Store(self.path)
            with self.lock:
                self.opened.append(store)
        return store

    def close(self):
        with self.lock:
            for store in self.opened:
                store.close()
            self.opened.clear()


class Dashboard:
    """A node's dashboard as a WSGI application: the guard in front of a Bottle app.

    ``app`` is the :class:`bottle.Bottle` application plugins add routes to
    (``caro_dashboard_routes``).  Nothing is served until :meth:`listen`
    names the address the server bound.
    """

    def __init__(self, node):
        import bottle

        self.node = node
        self.token = load_token(node.home)
        node.store  # applies pending migrations before the serving threads read
        self.stores = ReadStores(node.db_path)
        self.css = resources.files("caro_core").joinpath("static/caro.css").read_bytes()
        self.allowed_hosts, self.any_ip, self.port = frozenset(), False, None
        self.cookie = "caro_token"
        self.url = None
        self.app = app = bottle.Bottle(catchall=True)
        app.default_error_handler = self._error_body
        for view, (path, _) in VIEWS.items():
            app.route(path, "GET", self._page_route(view))
        app.route("/api/<view>", "GET", self._api_view)
        app.route("/api/<view>/<panel_id>", "GET", self._api_panel)
        app.route("/static/caro.css", "GET", self._stylesheet)

    def listen(self, host, port):
        """Accept requests addressed to ``host:port`` (and the loopback names) from now on.

        Bound to a wildcard address (``0.0.0.0``, ``::``), any IP address with
        the port is accepted too: DNS rebinding needs a name, never an address.
        """
        bound = f"[{host}]" if ":" in host else host
        self.any_ip = host in ("0.0.0.0", "::")
        names = {*LOOPBACK_NAMES} | (set() if self.any_ip else {bound})
        self.allowed_hosts = frozenset(f"{name}:{port}" for name in names) | (
            frozenset(names) if port == 80 else frozenset())
        self.port = port
        self.cookie = f"caro_token_{port}"  # one per node: cookies do not tell ports apart
        self.url = f"http://{'127.0.0.1' if self.any_ip else bound}:{port}"

    def close(self):
        self.stores.close()

    # -- the guard ----------------------------------------------------------

    def __call__(self, environ, start_response):
        def secured(status, headers, exc_info=None):
            names = {name.lower() for name, _ in SECURITY_HEADERS}
            headers = [h for h in headers if h[0].lower() not in names] + SECURITY_HEADERS
            return start_response(status, headers, exc_info)

        if not self._host_allowed(environ.get("HTTP_HOST", "").lower()):
            return _plain(secured, "421 Misdirected Request",
                          "This Caro dashboard answers only to its own address "
                          "(open the URL printed by 'caro dashboard').\n")
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        if given and self._valid(given[-1]):
            rest = urlencode([(name, value) for name, value in query if name != "token"])
            path = "/" + environ.get("PATH_INFO", "/").encode("latin-1").decode(
                "utf-8", "replace").lstrip("/")
            location = quote(path) + (f"?{rest}" if rest else "")
            cookie = f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            return _plain(secured, "303 See Other", "", [("Location", location),
                                                         ("Set-Cookie", cookie)])
        if given or not self._valid(_cookies(environ).get(self.cookie, "")):
            if environ.get("PATH_INFO", "").startswith("/api/"):
                body = json.dumps({"error": "unauthorized: run 'caro dashboard' for the URL with "
                                            "the token"})
                return _plain(secured, "401 Unauthorized", body, content_type="application/json")
            return _plain(secured, "401 Unauthorized", UNAUTHORIZED_PAGE,
                          content_type="text/html; charset=utf-8")
        return self.app(environ, secured)

    def _host_allowed(self, host):
        if host in self.allowed_hosts:
            return True
        address, _, port = host.rpartition(":")
        if not self.any_ip or port != str(self.port):
            return False
        try:
            ipaddress.ip_address(address[1:-1] if address.startswith("[") else address)
        except ValueError:
            return False
        return True

    def _valid(self, given):
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode())

    # -- routes ---------------------------------------------------------------

    def panel_request(self, view, period, now=None):
        """The :class:`PanelRequest` for ``view`` over ``period`` (raises KeyError if unknown)."""
        now = time.time() if now is None else now
        start, end = period_range(period, now)
        return PanelRequest(node=self.node, store=self.stores.get(), view=view, period=period,
                            start=start, end=end, now=now)

    def _request_for(self, view):
        import bottle

        if view not in VIEWS:
            bottle.abort(404, f"unknown view {view!r} (known: {', '.join(VIEWS)})")
        period = bottle.request.query.get("period", "today")
        if period not in PERIODS:
            bottle.abort(400, f"unknown period {period!r} (known: {', '.join(PERIODS)})")
        return self.panel_request(view, period)

    def _page_route(self, view):
        def page():
            import bottle

            started = time.perf_counter()
            request = self._request_for(view)
            panels, errors = collect_panels(request)
            bottle.response.content_type = "text/html; charset=utf-8"
            return render_page(self, request, panels, errors, started)
        return page

    def _api_view(self, view):
        request = self._request_for(view)
        panels, errors = collect_panels(request)
        return _json({**_api_head(request),
                      "panels": [{"id": p.id, "title": p.title, "order": p.order, "data": p.data}
                                 for p in panels],
                      "errors": [{"plugin": name, "error": message} for name, message in errors]})

    def _api_panel(self, view, panel_id):
        import bottle

        request = self._request_for(view)
        panels, errors = collect_panels(request)
        for panel in panels:
            if panel.id == panel_id:
                return _json({**_api_head(request), "id": panel.id, "title": panel.title,
                              "data": panel.data})
        known = ", ".join(p.id for p in panels)
        failed = "; some panels failed: see /api/" + view if errors else ""
        bottle.abort(404, f"no panel {panel_id!r} in view {view!r} (known: {known}){failed}")

    def _stylesheet(self):
        import bottle

        bottle.response.content_type = "text/css; charset=utf-8"
        return self.css

    @staticmethod
    def _error_body(error):
        import bottle

        bottle.response.content_type = "text/plain; charset=utf-8"
        return f"{error.status_line}: {error.body}\n"


def _api_head(request):
    from .events import iso

    return {"view": request.view,
            "period": {"name": request.period, "start": iso(request.start), "end": iso(request.end)}}


def _json(data):
    import bottle

    bottle.response.content_type = "application/json"
    return json.dumps(data, ensure_ascii=False)


def _plain(start_response, status, body, headers=(), content_type="text/plain; charset=utf-8"):
    data = body.encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data))),
                            *headers])
    return [data]


def _cookies(environ):
    """The request's cookies as a dict (lenient: other local apps' odd cookies are skipped)."""
    jar = {}
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            jar.setdefault(name, value)
    return jar


UNAUTHORIZED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Caro dashboard: token needed</title></head>
<body><h1>This Caro dashboard needs its access token</h1>
<p>Run <code>caro dashboard</code> in a terminal on this machine, as the user who owns the
node: it prints the address with the token and opens it in your browser.</p></body></html>
"""


# -- the page -------------------------------------------------------------------

def render_page(dashboard, request, panels, errors, started):
    """The HTML of one view: header, view and period links, the panels, a footer."""
    node = request.node
    current = ' aria-current="page"'
    nav = " ".join(f'<a href="{path}?period={request.period}"'
                   f'{current if view == request.view else ""}>{escape(view.title())}</a>'
                   for view, (path, _) in VIEWS.items())
    periods = " ".join(f'<a href="?period={name}"{current if name == request.period else ""}>'
                       f'{escape(label)}</a>' for name, (_, label) in PERIODS.items())
    body = [_section(p.id, p.title, p.html) for p in panels]
    body += [_section(f"error-{name}", f"Panel plugin {name} failed",
                      f'<p class="error">{escape(message)}</p>'
                      '<p class="muted">The rest of the page is unaffected; details are in '
                      'caro.log.</p>', "panel error") for name, message in errors]
    where = dashboard.url.removeprefix("http://") if dashboard.url else ""
    elapsed = (time.perf_counter() - started) * 1000
    heading = VIEWS[request.view][1]
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Caro — {escape(heading)}</title>
<link rel="stylesheet" href="/static/caro.css">
</head>
<body>
<header>
<h1>CARO <span>— {escape(heading)}</span></h1>
<p class="where">{escape(where)} · node {escape(node.identity.fingerprint)}</p>
<nav class="views" aria-label="views">{nav}</nav>
<nav class="periods" aria-label="period">{periods}</nav>
</header>
<main class="panels">
{"".join(body)}
</main>
<footer>{escape(request.period_label)} · server time {elapsed:.0f} ms ·
data for this view as JSON: <a href="/api/{request.view}?period={request.period}">/api/{request.view}</a>
· nothing on this page leaves this machine</footer>
</body>
</html>
"""


def _section(panel_id, title, html, css_class="panel"):
    return (f'<section class="{css_class}" id="panel-{escape(panel_id)}">'
            f"<h2>{escape(title)}</h2>{html}</section>\n")
