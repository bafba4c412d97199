"""The daemon's lifecycle: start, status, stop, stale pid files, one daemon per home, its log."""

import json
import logging
import os
import signal
import subprocess

import pytest

from conftest import CARO
from caro_core import logs
from spooltools import spool_record, write_spool
from polling import wait_for
from test_observe_spool import stored_commands


def status(caro):
    result = caro("daemon", "status", "--json")
    return result.returncode, json.loads(result.stdout)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed but not reaped by us) counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def started(caro, caro_home):
    """A daemon started with ``caro daemon start``; stopped (or killed) afterwards."""
    result = caro("daemon", "start")
    assert result.returncode == 0, result.stderr
    code, info = status(caro)
    yield info
    if info["pid"] and alive(info["pid"]):
        caro("daemon", "stop")
    if info["pid"] and alive(info["pid"]):
        os.kill(info["pid"], signal.SIGKILL)


def test_status_without_a_daemon_exits_3_with_every_key(caro):
    code, info = status(caro)
    assert code == 3
    assert info["running"] is False and info["pid"] is None and info["uptime_s"] is None
    assert {"running", "pid", "dashboard_url", "mesh_listen", "uptime_s", "events"} <= info.keys()


def test_start_returns_once_ready_and_status_reports_it(caro, caro_home, started):
    assert started["running"] is True
    assert alive(started["pid"])
    assert started["events"] == 0 and started["uptime_s"] >= 0
    state = json.loads((caro_home / "daemon.json").read_text())
    assert state["ready"] is True and state["pid"] == started["pid"]
    assert (caro_home / "daemon.pid").read_text().strip() == str(started["pid"])
    human = caro("daemon", "status")
    assert human.returncode == 0 and f"pid {started['pid']}" in human.stdout


def test_a_second_daemon_on_the_same_home_is_refused(caro, started):
    for args in (("daemon", "start"), ("daemon", "run")):
        result = caro(*args, timeout=30)
        assert result.returncode == 6
        assert result.stderr.strip() == (f"caro: a Caro daemon (pid {started['pid']}) already runs "
                                          f"for {started['home']}")
    assert status(caro)[1]["pid"] == started["pid"]


def test_stop_is_graceful_finishes_ingest_and_cleans_up(caro, caro_home, started):
    write_spool(caro_home, spool_record("make build"))
    result = caro("daemon", "stop")
    assert result.returncode == 0 and f"pid {started['pid']}" in result.stdout
    assert not alive(started["pid"])
    assert "make build" in stored_commands(caro_home)
    assert not (caro_home / "daemon.pid").exists() and not (caro_home / "daemon.json").exists()
    code, info = status(caro)
    assert code == 3 and info["events"] == 1 and info["stale_pid"] is None
    again = caro("daemon", "stop")
    assert again.returncode == 0 and "not running" in again.stdout


def test_a_stale_pid_file_is_recognised_and_replaced(caro, caro_home, started):
    os.kill(started["pid"], signal.SIGKILL)
    assert wait_for(lambda: not alive(started["pid"]), timeout=10)
    code, info = status(caro)
    assert code == 3 and info["running"] is False and info["stale_pid"] == started["pid"]
    assert "stale pid file" in caro("daemon", "status").stdout

    result = caro("daemon", "start")
    assert result.returncode == 0, result.stderr
    code, info = status(caro)
    try:
        assert code == 0 and info["pid"] != started["pid"] and info["stale_pid"] is None
        assert f"stale pid file of pid {started['pid']}" in (caro_home / "caro.log").read_text()
    finally:
        assert caro("daemon", "stop").returncode == 0


def test_stop_removes_a_stale_pid_file(caro, caro_home):
    caro_home.mkdir()
    (caro_home / "daemon.pid").write_text("999999\n")
    assert status(caro)[1]["stale_pid"] == 999999
    assert caro("daemon", "stop").returncode == 0
    assert not (caro_home / "daemon.pid").exists()


def test_start_reports_the_daemons_own_error_in_one_line(caro, caro_home):
    caro_home.mkdir()
    (caro_home / "caro.db").write_bytes(b"this is not a database" * 100)
    result = caro("daemon", "start")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("caro: the daemon failed to start: database ")
    assert "caro doctor" in result.stderr
    assert status(caro)[0] == 3
    assert (caro_home / "caro.db").read_bytes().startswith(b"this is not a database")


def test_foreground_run_stops_on_sigint_like_ctrl_c(caro_home):
    daemon = subprocess.Popen([CARO, "daemon", "run"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: "running" in (daemon.stdout.readline() or ""), timeout=15)
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.wait(timeout=15)
    assert daemon.returncode == 0, daemon.stderr.read()
    assert not (caro_home / "daemon.pid").exists()


def test_the_log_rotates_by_size_and_keeps_the_configured_backups(tmp_path):
    handlers = logs.configure(tmp_path, max_bytes=2048, backups=2)
    try:
        log = logging.getLogger("caro.test")
        for i in range(200):
            log.info("line %d %s", i, "x" * 40)
    finally:
        logs.release(handlers)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["caro.log", "caro.log.1", "caro.log.2"]
    assert all((tmp_path / n).stat().st_size <= 2048 for n in names)
    assert "line 199" in (tmp_path / "caro.log").read_text()


def test_log_settings_are_validated(caro, caro_home):
    caro_home.mkdir()
    (caro_home / "config.toml").write_text('[daemon]\nlog_level = "loud"\n')
    result = caro("daemon", "start")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "[daemon] log_level" in result.stderr
