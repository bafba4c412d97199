"""The dashboard server: Host check, token and cookie, security headers, escaping, config, daemon."""

import http.client
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from caro_core import hookimpl
from caro_core.dashboard import CSP, DashboardError, load_token, period_range
from caro_core.errors import ConfigError
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_plugins.dashboard_server import DashboardServer, parse_listen
from conftest import CARO

SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                    "Cache-Control": "no-store"}


class Client:
    """HTTP/1.1 requests to a dashboard on 127.0.0.1 with any Host header and cookie."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.cookie = None

    def get(self, path, host=None, cookie=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest("GET", path, skip_host=True)
            if host is not False:
                conn.putheader("Host", f"127.0.0.1:{self.port}" if host is None else host)
            if cookie or self.cookie:
                conn.putheader("Cookie", cookie or self.cookie)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            conn.close()

    def login(self):
        """Present the token once, as a browser does with the printed URL; keep the cookie."""
        status, headers, _ = self.get(f"/?token={self.token}")
        assert status == 303, status
        self.cookie = headers["Set-Cookie"].split(";")[0]
        return self

    def json(self, path):
        status, headers, body = self.get(path)
        assert status == 200, (status, body)
        assert headers["Content-Type"] == "application/json"
        return json.loads(body)


def today_times(count):
    """``count`` increasing timestamps inside today so far (local time)."""
    now = time.time()
    start, _ = period_range("today", now)
    return [start + (now - start) * (i + 1) / (count + 1) for i in range(count)]


def add_events(node, *commands, times=None, **fields):
    """Store commands as the ingest would (classified, redacted); ``fields`` override defaults."""
    times = times or today_times(len(commands))
    defaults = dict(exit_code=0, duration_ms=100, cwd="/home/ann/project", shell="bash",
                    session="bash-1-1", user="ann", elevated=False, caro_generated=False)
    events = [classify(node, command, timestamp=stamp, **{**defaults, **fields})
              for command, stamp in zip(commands, times)]
    insert_events(node.store, events)
    return events


@pytest.fixture
def serve():
    """Start a node's dashboard on 127.0.0.1 (a free port); stopped at the end of the test."""
    servers = []

    def start(node):
        server = DashboardServer(node, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return Client(server.server.bind_addr[1], server.dashboard.token)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def client(node, serve):
    return serve(node)


# -- the Host check -------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", "127.0.0.1.nip.io:{port}", ""])
def test_a_foreign_host_header_is_refused_even_with_the_token(client, host):
    client.login()
    status, headers, body = client.get(f"/?token={client.token}", host=host.format(port=client.port))
    assert status == 421
    assert headers["Content-Type"].startswith("text/plain") and "caro dashboard" in body
    assert "Set-Cookie" not in headers


def test_a_request_without_host_header_is_refused(client):
    with socket.create_connection(("127.0.0.1", client.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = s.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.1 421") or reply.startswith(b"HTTP/1.0 421")


@pytest.mark.parametrize("bound, host, status", [
    ("0.0.0.0", "10.1.2.3:9237", "401"), ("0.0.0.0", "[fd00::7]:9237", "401"),
    ("0.0.0.0", "localhost:9237", "401"), ("0.0.0.0", "intranet.example:9237", "421"),
    ("0.0.0.0", "10.1.2.3:9238", "421"), ("0.0.0.0", "0.0.0.0.evil.example:9237", "421"),
    ("10.1.2.3", "10.1.2.3:9237", "401"), ("10.1.2.3", "10.9.9.9:9237", "421"),
])
def test_the_host_check_of_a_remote_listen_address(node, bound, host, status):
    """Checked in-process: tests bind nothing but 127.0.0.1."""
    from caro_core.dashboard import Dashboard

    dashboard = Dashboard(node)
    dashboard.listen(bound, 9237)
    answers = []
    dashboard({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "HTTP_HOST": host},
              lambda s, headers, exc_info=None: answers.append(s))
    dashboard.close()
    assert answers[0].split()[0] == status


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_loopback_names_with_the_bound_port_are_accepted(client, name):
    status, _, _ = client.get("/", host=f"{name}:{client.port}")
    assert status == 401  # past the Host check, stopped by the token check


# -- the token and the cookie --------------------------------------------------------

def test_without_a_valid_token_or_cookie_everything_is_401(client):
    wrong = "x" * len(client.token)
    for path, cookie in [("/", None), ("/team", None), ("/static/caro.css", None),
                         ("/no/such/page", None), (f"/?token={wrong}", None),
                         ("/", f"caro_token_{client.port}={wrong}"),
                         ("/", f"caro_token_{client.port + 1}={client.token}")]:
        status, headers, body = client.get(path, cookie=cookie)
        assert status == 401, path
        assert "caro dashboard" in body
    status, headers, body = client.get("/api/personal")
    assert status == 401 and headers["Content-Type"] == "application/json"
    assert "caro dashboard" in json.loads(body)["error"]


def test_the_token_moves_into_a_strict_cookie_and_leaves_the_url(client):
    status, headers, body = client.get(f"/team?period=week&token={client.token}")
    assert status == 303 and body == ""
    assert headers["Location"] == "/team?period=week"
    cookie = headers["Set-Cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value == f"caro_token_{client.port}={client.token}"
    assert set(attributes) == {"HttpOnly", "SameSite=Strict", "Path=/"}
    status, _, body = client.get("/team?period=week", cookie=name_value)
    assert status == 200 and client.token not in body


def test_a_wrong_token_in_the_url_is_refused_even_with_a_valid_cookie(client):
    client.login()
    status, headers, _ = client.get("/?token=nope")
    assert status == 401 and "Set-Cookie" not in headers


def test_the_token_file_is_private_and_reused(node, caro_home):
    token = load_token(caro_home)
    path = caro_home / "dashboard.token"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(token) >= 32 and load_token(caro_home) == token
    path.chmod(0o644)
    with pytest.raises(DashboardError, match="can be read by other users"):
        load_token(caro_home)


# -- headers, pages, errors -------------------------------------------------------------

def test_every_response_carries_the_security_headers(client):
    seen = [client.get("/", host="evil.example")[:2], client.get("/")[:2],
            client.get(f"/?token={client.token}")[:2]]
    client.login()
    for path in ["/", "/team", "/security", "/?period=month", "/api/personal",
                 "/api/personal/activity", "/static/caro.css", "/nope", "/api/nope",
                 "/?period=year", "/api/personal/nope"]:
        seen.append(client.get(path)[:2])
    assert {status for status, _ in seen} == {421, 401, 303, 200, 404, 400}
    for status, headers in seen:
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (status, name)
    assert "unsafe-inline" not in CSP and "default-src 'self'" in CSP


def test_pages_have_no_script_no_inline_style_and_link_only_to_the_node(client):
    import re

    client.login()
    for path in ["/", "/team", "/security", "/?period=week"]:
        status, headers, html = client.get(path)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        lowered = html.lower()
        assert "<script" not in lowered and "<style" not in lowered and " style=" not in lowered
        assert not re.search(r"\son[a-z]+=", lowered)  # no event handler attributes
        for link in re.findall(r'(?:href|src)="([^"]*)"', html):
            assert link.startswith(("/", "?", "#")), link


def test_views_and_period_links(client):
    client.login()
    _, _, html = client.get("/security?period=month")
    assert '<a href="/security?period=month" aria-current="page">Security</a>' in html
    assert '<a href="?period=month" aria-current="page">Last 30 days</a>' in html
    assert '<a href="?period=today">Today</a>' in html
    assert client.get("/?period=year")[0] == 400
    assert client.get("/api/nope")[0] == 404
    assert client.get("/api/personal/nope")[0] == 404


def test_a_hostile_command_is_sanitized_and_escaped(node, client):
    add_events(node, "cat <script>alert(1)</script> /home/ann/secret-plans.txt",
               'echo "<img src=x onerror=alert(2)>" | mail boss@example.com')
    client.login()
    _, _, html = client.get("/")
    api = json.dumps(client.json("/api/personal"))
    for text in (html, api):
        assert "secret-plans" not in text and "boss@example.com" not in text
        assert "alert(2)" not in text
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "cat &lt;‹path›&gt;‹path›(1)&lt;‹path›&gt; ‹path›" in html
    assert 'echo &quot;…&quot; | mail ‹email›' in html


class BrokenPanels:
    @hookimpl
    def caro_dashboard_panels(self, view, request):
        raise RuntimeError("the <b>disk</b> is gone")


class HelloRoute:
    @hookimpl
    def caro_dashboard_routes(self, app, node):
        app.route("/api/hello", "GET", lambda: {"hello": node.identity.fingerprint})


def test_a_failing_panel_plugin_costs_only_its_own_panel(caro_home, serve):
    node = Node.load(caro_home, environ={}, extra_plugins=[("broken", BrokenPanels())])
    try:
        client = serve(node).login()
        status, _, html = client.get("/")
        assert status == 200
        assert 'id="panel-error-broken"' in html and "the &lt;b&gt;disk&lt;/b&gt; is gone" in html
        assert 'id="panel-activity"' in html and 'id="panel-recent"' in html
        data = client.json("/api/personal")
        assert data["errors"] == [{"plugin": "broken", "error": "RuntimeError: the <b>disk</b> is gone"}]
        assert "activity" in [p["id"] for p in data["panels"]]
    finally:
        node.close()


def test_routes_added_by_plugins_are_guarded_too(caro_home, serve):
    node = Node.load(caro_home, environ={}, extra_plugins=[("hello", HelloRoute())])
    try:
        client = serve(node)
        assert client.get("/api/hello")[0] == 401
        assert client.get("/api/hello", host="evil.example")[0] == 421
        status, headers, body = client.login().get("/api/hello")
        assert status == 200 and json.loads(body) == {"hello": node.identity.fingerprint}
        assert headers["Content-Security-Policy"] == CSP
    finally:
        node.close()


# -- configuration and the daemon ------------------------------------------------------

def write_config(home, text):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(text)


@pytest.mark.parametrize("listen", ["10.1.2.3:9237", "0.0.0.0:9237", "[::]:9237", "example.com:80"])
def test_a_non_loopback_listen_address_needs_the_opt_in(caro_home, listen):
    write_config(caro_home, f'[dashboard]\nlisten = "{listen}"\n')
    with pytest.raises(ConfigError) as refused:
        parse_listen(Node.load(caro_home, environ={}))
    message = str(refused.value)
    assert "\n" not in message and "[dashboard] listen" in message and "allow_remote" in message
    write_config(caro_home, f'[dashboard]\nlisten = "{listen}"\nallow_remote = true\n')
    host, port = parse_listen(Node.load(caro_home, environ={}))
    assert f"{host}:{port}".replace("::", "[::]") == listen or listen.startswith("[")


@pytest.mark.parametrize("listen, expected", [("127.0.0.1:0", ("127.0.0.1", 0)),
                                              ("[::1]:9237", ("::1", 9237)),
                                              ("localhost:8080", ("localhost", 8080))])
def test_loopback_listen_addresses(caro_home, listen, expected):
    write_config(caro_home, f'[dashboard]\nlisten = "{listen}"\n')
    assert parse_listen(Node.load(caro_home, environ={})) == expected


@pytest.mark.parametrize("listen", ["9237", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", ":9237"])
def test_a_malformed_listen_address_is_one_line(caro_home, listen):
    write_config(caro_home, f'[dashboard]\nlisten = "{listen}"\n')
    with pytest.raises(ConfigError, match=r"\[dashboard\] listen: expected address:port"):
        parse_listen(Node.load(caro_home, environ={}))


def test_a_port_in_use_is_one_clear_error(node):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DashboardError, match=f"cannot listen on 127.0.0.1:{port} "
                                                 r"\(address already in use\)"):
            DashboardServer(node, "127.0.0.1", port)


def start_daemon(home, config):
    """``caro daemon run`` as a real process; returns it once daemon.json says it is ready."""
    write_config(home, config)
    env = dict(os.environ, CARO_HOME=str(home))
    err = open(home / "test-daemon.err", "w")
    process = subprocess.Popen([CARO, "daemon", "run"], env=env, stdout=subprocess.DEVNULL,
                               stderr=err, start_new_session=True)
    err.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = read_json(home / "daemon.json")
        if state.get("ready"):
            return process
        assert process.poll() is None, (home / "test-daemon.err").read_text()
        time.sleep(0.05)
    stop_daemon(process)
    pytest.fail("the daemon was not ready within 30 s")


def stop_daemon(process):
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.slow
def test_the_daemon_serves_the_dashboard_and_publishes_its_url(caro_home):
    process = start_daemon(caro_home, '[dashboard]\nlisten = "127.0.0.1:0"\n')
    try:
        url = read_json(caro_home / "daemon.json")["dashboard_url"]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        client = Client(int(url.rsplit(":", 1)[1]), load_token(caro_home))
        assert client.get("/")[0] == 401
        status, _, html = client.login().get("/")
        assert status == 200 and 'id="panel-mesh"' in html and "Standalone" in html
    finally:
        stop_daemon(process)
    assert process.returncode == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", client.port), timeout=2).close()


@pytest.mark.slow
def test_the_daemon_carries_on_when_the_port_is_taken(caro_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_daemon(caro_home, f'[dashboard]\nlisten = "127.0.0.1:{port}"\n')
        try:
            state = read_json(caro_home / "daemon.json")
            assert "dashboard_url" not in state and process.poll() is None
        finally:
            stop_daemon(process)
    warnings = [line for line in (caro_home / "test-daemon.err").read_text().splitlines()
                if line.startswith("caro: warning:") and "dashboard" in line]
    assert warnings == [f"caro: warning: plugin 'dashboard_server' failed to start: cannot listen "
                        f"on 127.0.0.1:{port} (address already in use); set [dashboard] listen to a "
                        "free port, or port 0"]


def test_a_disabled_dashboard_does_not_start(caro_home):
    from caro_plugins import dashboard_server

    write_config(caro_home, "[dashboard]\nenabled = false\n")
    node = Node.load(caro_home, environ={})
    try:
        dashboard_server.caro_lifecycle_start(node)
        assert node.pm.get_plugin("dashboard_server.server") is None
    finally:
        node.close()
