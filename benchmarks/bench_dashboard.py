"""Dashboard server time for the personal view with 1M stored events (goal <= 50 ms; seeds' bound 200 ms).

Builds a temporary home holding ``events`` (default 1,000,000) spread over the
last year (busier on weekdays and working hours, so a day holds ~2,700), stored
10,000 at a time as the daemon's ingest stores them (the roll-up triggers of
:mod:`caro_core.rollup` keep up as they would), then measures the personal view
for ``today``, ``week`` and ``month``:

* through the WSGI application in-process (the server's own time), median of N;
* over HTTP from a real cheroot server on 127.0.0.1 (keep-alive), median of N;
* each panel plugin alone, to name the slow query when the page is slow.

    .venv/bin/python benchmarks/bench_dashboard.py [events] [runs] [plugins to disable,...]

The third argument (passed as ``CARO_DISABLE_PLUGINS``) measures the page
without some panels, e.g. ``dashboard_anomalies``.
"""

import dataclasses
import http.client
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from caro_core.dashboard import Dashboard, collect_panels
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_plugins.dashboard_server import DashboardServer

GOAL_MS, SEEDS_MS = 50, 200
COMMANDS = ["git status", "git commit -m 'fix parser'", "git push origin main", "ls -la", "cd src",
            "make test", "docker ps", "docker build -t app .", "kubectl get pods -n web",
            "vim README.md", "rm -rf build/", "curl -s http://intranet/health", "grep -rn TODO .",
            "python -m pytest -q", "npm run build", "cargo build --release", "ssh build-01 uptime",
            "sudo apt update", "scp dump.sql db1:/tmp/", "git push --force origin main",
            "chmod -R 777 /srv/www", "terraform apply", "htop", "tail -f /var/log/syslog"]


#: events per transaction, about what the daemon's ingest stores at once from a busy spool
BATCH = 10_000


def build_home(n, environ, seed=7):
    """A home with ``n`` events over the last 365 days; returns the node."""
    home = Path(tempfile.mkdtemp(prefix="caro-bench-dash-")) / "home"
    node = Node.load(home, environ=environ)
    templates = [classify(node, c, timestamp=0.0, exit_code=0, duration_ms=0, cwd="/home/ann",
                          shell="bash", session="bash-1-1", user="ann", elevated=False,
                          caro_generated=False) for c in COMMANDS]
    rng = random.Random(seed)
    now = time.time()
    hour_weight = [1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 6, 9, 10, 10, 9, 7, 4, 3, 3, 2, 2, 1]
    stamps = []
    for _ in range(n):
        day = int(rng.random() * 365)
        if rng.random() < 0.3 and day % 7 in (5, 6):  # quieter weekends
            day = int(rng.random() * 365)
        midnight = now - now % 86400 - day * 86400
        stamp = midnight + rng.choices(range(24), hour_weight)[0] * 3600 + rng.random() * 3600
        stamps.append(stamp if stamp < now else now - rng.random() * 3600)
    stamps.sort()  # the shell hooks record in time order: rows of a day sit together
    started = time.perf_counter()
    for offset in range(0, n, BATCH):
        insert_events(node.store, [dataclasses.replace(
            rng.choice(templates), timestamp=stamp, exit_code=rng.choice((0,) * 9 + (1,)),
            duration_ms=int(rng.expovariate(1 / 800)), caro_generated=rng.random() < 0.05)
            for stamp in stamps[offset:offset + BATCH]])
    print(f"stored {n:,} events in {time.perf_counter() - started:.1f} s ({home})")
    return node


def wsgi_ms(dashboard, path, runs):
    cookie = f"{dashboard.cookie}={dashboard.token}"
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path.split("?")[0],
               "QUERY_STRING": path.partition("?")[2], "HTTP_HOST": "127.0.0.1:9237",
               "HTTP_COOKIE": cookie, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "9237",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        status = []
        body = b"".join(dashboard(dict(environ), lambda s, h, e=None: status.append(s)))
        times.append((time.perf_counter() - start) * 1000)
        assert status[0].startswith("200") and b"panel-recent" in body, status
    return statistics.median(times)


def http_ms(server, path, runs):
    port = server.server.bind_addr[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"{server.dashboard.cookie}={server.dashboard.token}"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status == 200
    conn.close()
    return statistics.median(times)


def panel_ms(dashboard, period, runs):
    """Median ms of each personal-view panel plugin alone."""
    request = dashboard.panel_request("personal", period)
    figures = {}
    for impl in dashboard.node.pm.hook.caro_dashboard_panels.get_hookimpls():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            impl.function(view="personal", request=request)
            times.append((time.perf_counter() - start) * 1000)
        figures[impl.plugin_name] = statistics.median(times)
    return figures


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    environ = {"CARO_DISABLE_PLUGINS": sys.argv[3]} if len(sys.argv) > 3 else {}
    node = build_home(n, environ)
    dashboard = Dashboard(node)
    dashboard.listen("127.0.0.1", 9237)
    panels, errors = collect_panels(dashboard.panel_request("personal", "today"))
    assert not errors, errors
    today = panels[0].data["commands"] if panels[0].id == "activity" else "?"
    print(f"events today: {today}")
    for period in ("today", "week", "month"):
        path = f"/?period={period}"
        wsgi_ms(dashboard, path, 2)  # warm the page cache
        ms = wsgi_ms(dashboard, path, runs)
        print(f"personal view, {period:5}: in-process {ms:7.1f} ms (median of {runs}); "
              f"goal {GOAL_MS} ms: {ms / GOAL_MS:.2f}x, seeds' {SEEDS_MS} ms: {ms / SEEDS_MS:.2f}x")
        for name, ms in sorted(panel_ms(dashboard, period, max(3, runs // 3)).items(),
                               key=lambda item: -item[1]):
            print(f"    {name:22} {ms:7.1f} ms")
    dashboard.close()

    server = DashboardServer(node, "127.0.0.1", 0)
    server.start()
    try:
        for period in ("today", "month"):
            ms = http_ms(server, f"/?period={period}", runs)
            print(f"personal view, {period:5}: over HTTP  {ms:7.1f} ms (median of {runs}, keep-alive)")
    finally:
        server.stop()
    node.close()


if __name__ == "__main__":
    main()
