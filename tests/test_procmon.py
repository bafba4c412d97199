"""Process watch: peak memory and CPU time of each command's processes, measured from procfs.

Real shells run real programs: one allocates 200 MB, one burns 0.8 s of CPU.
Every wait polls with a deadline; no assertion is about how fast Caro is.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import apsw
import pytest

from caro_core import procfs
from caro_core.errors import ConfigError
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.runtime import read_state
from caro_plugins import observe_procmon
from caro_core.usage import usage_for
from caro_plugins.observe_procmon import Pass
import polling
from conftest import CARO

pytestmark = pytest.mark.skipif(not procfs.available(), reason="needs a Linux /proc")

PY = sys.executable
ALLOC = "import time; b = b'x' * (200 << 20); time.sleep(1.5)"
HALF = "import time; b = b'x' * (100 << 20); time.sleep(1.5)"
BURN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass"
MB = 1024  # kB
#: The shell under test: waits (builtins only) for the go file, then runs each command with a
#: second of quiet around it and appends "name start end" to the times file.
SCRIPT = r"""
exec 3<>"$FIFO"
pause() { read -t "$1" -u 3; }
note() { echo "$1 $2 $EPOCHREALTIME" >> "$TIMES"; }
while [ ! -e "$GO" ]; do pause 0.05; done
t=$EPOCHREALTIME; "$PY" -c "$ALLOC"; note alloc "$t"; pause 1
t=$EPOCHREALTIME; "$PY" -c "$HALF" | "$PY" -c "$HALF"; note pipeline "$t"; pause 1
t=$EPOCHREALTIME; "$PY" -c "$BURN"; note burn "$t"; pause 1
t=$EPOCHREALTIME; /bin/true; note short "$t"; pause 1
t=$EPOCHREALTIME; "$PY" -c "$ALLOC" & note background "$t"
wait; pause 1; echo done >> "$TIMES"; pause 30
"""


def wait_for(predicate, what, timeout=20.0, step=0.05):
    value = polling.wait_for(predicate, timeout, step)
    if not value:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")
    return value


def load_node(home, config="[procmon]\ninterval_ms = 100\n"):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(config)
    return Node.load(home, environ={})


def add_event(node, command, start, end, session):
    (event,) = insert_events(node.store, [classify(
        node, command, timestamp=start, exit_code=0, duration_ms=int((end - start) * 1000), cwd="/",
        shell="bash", session=session, user="tester", elevated=False, caro_generated=False)])
    return event.id


@pytest.fixture
def monitored(caro_home):
    """A node whose process monitor runs (started as the daemon starts it), sampling every 0.1 s."""
    node = load_node(caro_home)
    node.store  # the daemon opens (and migrates) the store before starting services
    observe_procmon.caro_lifecycle_start(node)
    monitor = node.pm.get_plugin("observe_procmon.monitor")
    yield node, monitor
    monitor.caro_lifecycle_stop(node)
    assert not monitor.thread.is_alive()
    node.close()


class Script:
    """``bash -c SCRIPT`` with its fifo, go and times files."""

    def __init__(self, tmp_path, script=SCRIPT, name="s"):
        self.dir = tmp_path / name
        self.dir.mkdir()
        os.mkfifo(self.dir / "fifo")
        env = dict(os.environ, LC_ALL="C", PY=PY, ALLOC=ALLOC, HALF=HALF, BURN=BURN,
                   FIFO=str(self.dir / "fifo"), GO=str(self.dir / "go"),
                   TIMES=str(self.dir / "times"))
        self.proc = subprocess.Popen(["bash", "-c", script], env=env)
        self.session = f"bash-{self.proc.pid}-1"

    def adopt(self, node, monitor):
        """Let the monitor learn the shell from an event of its session, as it does for a shell
        that leads no terminal session."""
        def seen():
            now = time.time()
            add_event(node, "true", now - 0.01, now, self.session)
            return monitor.watching(self.proc.pid)
        wait_for(seen, "the monitor to watch the shell", timeout=10, step=0.3)

    def go(self):
        (self.dir / "go").touch()

    def times(self):
        path = self.dir / "times"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line.split() for line in lines]

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


def usage(node, event_id):
    return usage_for(node.store, [event_id]).get(event_id)


def test_peak_memory_and_cpu_time_of_each_command_of_a_real_shell(monitored, tmp_path):
    node, monitor = monitored
    script = Script(tmp_path)
    try:
        script.adopt(node, monitor)
        script.go()
        ids = {}

        def record_commands():
            for name, *times in script.times():
                if name not in ids and name != "done":
                    start, end = float(times[0]), float(times[1])
                    ids[name] = add_event(node, name, start, end, script.session)
            return len(ids) == 5

        wait_for(record_commands, "the five commands", timeout=40)
        alloc = wait_for(lambda: usage(node, ids["alloc"]), "the allocation's figures")
        assert alloc["peak_rss_kb"] >= 190 * MB and alloc["processes"] >= 1
        assert alloc["cpu_ms"] is not None

        # two processes of 100 MB alive together: more than either one's peak
        pipeline = wait_for(lambda: usage(node, ids["pipeline"]), "the pipeline's figures")
        assert pipeline["peak_rss_kb"] >= 190 * MB and pipeline["processes"] >= 2

        burn = wait_for(lambda: usage(node, ids["burn"]), "the CPU burner's figures")
        assert 500 <= burn["cpu_ms"] <= 10_000  # 0.8 s of CPU plus Python's start-up
        assert burn["processes"] >= 1 and burn["peak_rss_kb"] < 190 * MB

        # over between two samples: CPU from the shell's counter, memory unknown unless sampled
        short = wait_for(lambda: usage(node, ids["short"]), "the short command's figures")
        assert short["cpu_ms"] is not None and short["cpu_ms"] < 500
        assert (short["peak_rss_kb"] is None) == (short["processes"] == 0)

        # a background job outlives its command line: followed until it ends
        background = wait_for(lambda: (u := usage(node, ids["background"]))
                              and u["peak_rss_kb"] and u["peak_rss_kb"] >= 190 * MB and u,
                              "the background job's peak")
        assert background["processes"] >= 1
        wait_for(lambda: ["done"] in script.times(), "the script's end")
        assert monitor.thread.is_alive()
    finally:
        script.close()


def test_a_vanished_shell_and_unusable_events_do_not_stop_the_monitor(monitored, tmp_path):
    node, monitor = monitored
    doomed = Script(tmp_path, script='exec 3<>"$FIFO"; sleep 30 & read -t 60 -u 3', name="doomed")
    live = Script(tmp_path, name="live")
    orphans = []
    try:
        doomed.adopt(node, monitor)
        orphans = wait_for(lambda: procfs.read_children(doomed.proc.pid), "the shell's child")
        started = time.time()
        doomed.proc.kill()  # its child lives on, reparented away from the shell
        doomed.proc.wait(timeout=10)
        wait_for(lambda: not monitor.watching(doomed.proc.pid), "the dead shell to be dropped")
        now = time.time()
        add_event(node, "sleep", started - 1, now, doomed.session)
        for session in ("garbage", "bash-999999999-1", f"bash-{os.getpid()}-1", "bash-1-1"):
            add_event(node, "true", now - 0.1, now, session)

        live.adopt(node, monitor)
        live.go()
        first = wait_for(lambda: live.times(), "the first command of the live shell")[0]
        event = add_event(node, "alloc", float(first[1]), float(first[2]), live.session)
        figures = wait_for(lambda: usage(node, event), "the live shell's figures")
        assert figures["peak_rss_kb"] >= 190 * MB
        assert monitor.thread.is_alive()
    finally:
        live.close()
        for pid in orphans:
            os.kill(pid, signal.SIGTERM)


def test_unreadable_or_vanished_processes_read_as_none(tmp_path):
    child = subprocess.Popen(["true"])
    wait_for(lambda: (stat := procfs.read_stat(child.pid)) and stat.state == "Z",
             "the child to exit")
    assert procfs.read_hwm_kb(child.pid) is None  # a zombie has no memory to report
    child.wait()
    for read in (procfs.read_stat, procfs.read_hwm_kb, procfs.read_children, procfs.owner):
        assert read(child.pid) is None
    assert procfs.parse_stat(b"garbage") is None
    assert procfs.parse_stat(b"12 (a (b) c) S 1") is None
    stat = procfs.parse_stat(b"7 (odd ) name) S " + b" ".join(b"%d" % i for i in range(4, 53)))
    assert (stat.pid, stat.comm, stat.ppid) == (7, "odd ) name", 4)


def test_the_ppid_scan_finds_the_same_children_as_the_children_files():
    shell = subprocess.Popen(["bash", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        wait_for(lambda: len(procfs.read_children(shell.pid) or ()) == 2, "two children")
        stat = procfs.read_stat(shell.pid)
        by_ppid, by_file = Pass(scan_all=True), Pass(scan_all=False)
        assert sorted(by_ppid.children(stat)) == sorted(by_file.children(stat))
    finally:
        for pid in procfs.read_children(shell.pid) or ():
            os.kill(pid, signal.SIGTERM)
        shell.wait(timeout=10)


def test_enabled_false_starts_no_thread_and_stores_nothing(caro_home):
    node = load_node(caro_home, "[procmon]\nenabled = false\n")
    observe_procmon.caro_lifecycle_start(node)
    assert node.pm.get_plugin("observe_procmon.monitor") is None
    assert not [t for t in threading.enumerate() if t.name == "caro-procmon"]
    assert node.store.query("SELECT count(*) FROM process_usage") == [(0,)]
    node.close()


@pytest.mark.parametrize("interval", [0, -5, 100_000])
def test_an_interval_out_of_range_is_a_one_line_config_error(caro_home, interval):
    node = load_node(caro_home, f"[procmon]\ninterval_ms = {interval}\n")
    with pytest.raises(ConfigError, match=r"\[procmon\] interval_ms: expected 10 to 60000"):
        observe_procmon.caro_lifecycle_start(node)


def test_usage_for_reads_rows_and_tolerates_a_missing_table(node):
    node.store.execute("INSERT INTO process_usage VALUES (1, 2048, 30, 2), (2, NULL, 0, 0)")
    assert usage_for(node.store, [1, 2, 3]) == {
        1: {"peak_rss_kb": 2048, "cpu_ms": 30, "processes": 2},
        2: {"peak_rss_kb": None, "cpu_ms": 0, "processes": 0}}
    assert len(usage_for(node.store, range(1, 1200))) == 2
    node.store.execute("DROP TABLE process_usage")
    assert usage_for(node.store, [1]) == {}


def read_db(home, sql, params=()):
    path = home / "caro.db"
    if not path.exists():
        return []
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return list(conn.execute(sql, params))
    except apsw.SQLError:
        return []
    finally:
        conn.close()


def events_of(home, command):
    return [row[0] for row in read_db(home, "SELECT id FROM events WHERE command = ? ORDER BY id",
                                      (command,))]


def usage_row(home, event_id):
    rows = read_db(home, "SELECT peak_rss_kb, cpu_ms, processes FROM process_usage "
                         "WHERE event_id = ?", (event_id,))
    return rows[0] if rows else None


@pytest.mark.slow
def test_the_daemon_measures_a_command_typed_in_an_interactive_bash(shell_factory, caro_home):
    sh = shell_factory("bash")
    daemon = subprocess.Popen([CARO, "daemon", "run"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)

    def run(command):
        """Type ``command``; its event id once the daemon has stored it."""
        before = len(events_of(caro_home, command))
        sh.send(command)
        return wait_for(lambda: (ids := events_of(caro_home, command)) and len(ids) > before
                        and ids[-1], f"the event of {command!r}")

    def watched():  # the monitor scans for new shells every 2 s
        event = run("sleep 1")
        row = polling.wait_for(lambda: usage_row(caro_home, event), timeout=4)
        return row is not None and row[2] >= 1

    try:
        wait_for(lambda: read_state(caro_home).get("ready"), "the daemon")
        wait_for(watched, "the monitor to watch the shell", timeout=60, step=0)
        event = run(f'{PY} -c "{ALLOC}"')
        peak, cpu, processes = wait_for(lambda: usage_row(caro_home, event), "the figures")
        assert peak >= 190 * MB and processes >= 1 and cpu > 0
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
    assert daemon.returncode == 0, daemon.stderr.read()
