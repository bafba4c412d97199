"""The daemon ingests the spool continuously: an event is stored within a second."""

import signal
import subprocess

import apsw

from conftest import CARO
from caro_core.spool import spool_dir
from polling import wait_for
from spooltools import spool_record, write_spool


def stored_commands(home):
    path = home / "caro.db"
    if not path.exists():
        return []
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [row[0] for row in conn.execute("SELECT command FROM events ORDER BY id")]
    except apsw.SQLError:
        return []
    finally:
        conn.close()


def test_running_daemon_stores_new_spool_records_within_a_second(caro_home):
    daemon = subprocess.Popen([CARO, "daemon", "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (caro_home / "caro.db").exists(), timeout=10)
        assert wait_for(lambda: "running" in (daemon.stdout.readline() or ""), timeout=10)
        write_spool(caro_home, spool_record("git status"))
        assert wait_for(lambda: stored_commands(caro_home) == ["git status"], timeout=5)
        assert list(spool_dir(caro_home).glob("*.spool*")) == []
        write_spool(caro_home, spool_record("ls -la"), session="zsh-200-1")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=15)
    assert daemon.returncode == 0, daemon.stderr.read()
    assert stored_commands(caro_home) == ["git status", "ls -la"]  # stop finishes ingest
