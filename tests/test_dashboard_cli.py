"""``caro dashboard``: the URL with the token from the running daemon, and when to open a browser."""

import pytest

from caro_core.dashboard import load_token
from caro_plugins.cli_dashboard import can_open_browser
from test_dashboard_server import Client, read_json, start_daemon, stop_daemon


def test_without_a_daemon_it_says_how_to_start_one(caro, caro_home):
    result = caro("dashboard")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("caro: the daemon is not running, so neither is the dashboard; "
                             "start it with 'caro daemon start'\n")
    assert caro("dashboard", "--url").returncode == 1


@pytest.mark.slow
def test_it_prints_the_url_with_the_token_of_the_running_daemon(caro, caro_home):
    process = start_daemon(caro_home, '[dashboard]\nlisten = "127.0.0.1:0"\n')
    try:
        base = read_json(caro_home / "daemon.json")["dashboard_url"]
        for args in (["dashboard", "--url"], ["dashboard"]):
            result = caro(*args, env={"CARO_NO_BROWSER": "1"})
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"{base}/?token={load_token(caro_home)}\n"
        port = int(base.rsplit(":", 1)[1])
        client = Client(port, load_token(caro_home)).login()
        assert client.get("/")[0] == 200
    finally:
        stop_daemon(process)


@pytest.mark.slow
def test_a_daemon_without_dashboard_is_reported(caro, caro_home):
    process = start_daemon(caro_home, "[dashboard]\nenabled = false\n")
    try:
        result = caro("dashboard", "--url")
    finally:
        stop_daemon(process)
    assert result.returncode == 1
    assert "the daemon runs without the dashboard" in result.stderr


@pytest.mark.parametrize("environ, platform, expected", [
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"DISPLAY": ":0", "CARO_NO_BROWSER": "1"}, "linux", False),
    ({}, "darwin", True),
    ({"CARO_NO_BROWSER": "1"}, "darwin", False),
])
def test_a_browser_is_opened_only_where_there_is_one(environ, platform, expected):
    assert can_open_browser(environ, platform) is expected
