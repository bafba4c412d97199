"""A real headless Chromium loads the dashboard with its token: the panels are there, a
screenshot is taken, and the browser's own network log shows no request leaving 127.0.0.1."""

import json
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

import test_dashboard_server
from test_dashboard_server import add_events

client, serve = test_dashboard_server.client, test_dashboard_server.serve  # shared fixtures

PANELS = {"activity", "categories", "risk", "anomalies", "heatmap", "failures", "recent", "mesh"}
LOOPBACK = {"127.0.0.1", "localhost"}
#: A loopback port nothing listens on: where Chromium's own background services
#: (component updates, Google sign-in) are pointed, so that the only hosts in the
#: log are the ones the page asked for, and nothing leaves the machine during tests.
DEAD = "http://127.0.0.1:9"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-default-apps",
         "--disable-features=NetworkTimeServiceQuerying", f"--component-updater=url-source={DEAD}",
         f"--gaia-url={DEAD}", "--window-size=1280,1800"]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: 'make test' installs it (Debian package chromium)")
    return path


def run_chromium(chromium, tmp_path, name, url, *action):
    """One headless run with a fresh profile; returns (stdout, the network log's URLs)."""
    netlog = tmp_path / f"{name}.netlog.json"
    result = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / f'{name}-profile'}",
         f"--log-net-log={netlog}", *action, url],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, requested_urls(netlog)


def requested_urls(netlog):
    """Every URL Chromium started a request for, read from its NetLog (JSON)."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except ValueError:  # a log cut short at exit lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [event["params"]["url"] for event in log["events"]
            if event["type"] == start_job and "url" in event.get("params", {})]


@pytest.mark.slow
def test_chromium_loads_every_panel_and_nothing_leaves_loopback(chromium, node, client, tmp_path):
    add_events(node, "git status", "docker build -t app .", "rm -rf /tmp/build",
               "scp dump.sql ann@db1.internal:/tmp/", "cat <script>alert(1)</script>")
    url = f"http://127.0.0.1:{client.port}/?period=week&token={client.token}"

    dom, dom_urls = run_chromium(chromium, tmp_path, "dom", url, "--dump-dom")
    found = set(re.findall(r'<section class="panel" id="panel-([a-z-]+)"', dom))
    assert found == PANELS, dom[:2000]
    assert "Last 7 days" in dom and "scp ‹path› ‹host›:‹path›" in dom
    assert "db1.internal" not in dom and "<script" not in dom

    shot = tmp_path / "dashboard.png"
    _, shot_urls = run_chromium(chromium, tmp_path, "shot", url, f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1800)

    for urls in (dom_urls, shot_urls):
        page = f"http://127.0.0.1:{client.port}"
        assert f"{page}/static/caro.css" in urls  # the log does record the page's requests
        assert f"{page}/?period=week" in urls  # the token was traded for the cookie
        outside = sorted({u for u in urls if urlsplit(u).hostname not in LOOPBACK})
        assert outside == [], outside
