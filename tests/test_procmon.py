"""Process watch: peak memory and CPU time of each command's processes, from procfs or ``ps``.

Real shells run real programs: one allocates 200 MB, one burns 0.8 s of CPU.
The ``ps`` source (macOS' way) is tested here by forcing it on Linux, and its
parser on recorded GNU and BSD output.
Every wait polls with a deadline; no assertion is about how fast Caro is.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from datetime import datetime, timezone

import apsw
import pytest

from caro_core import procfs, pssource
from caro_core.errors import ConfigError
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.runtime import read_state
from caro_plugins import observe_procmon
from caro_core.usage import usage_for
from caro_plugins.observe_procmon import SCAN_S, Monitor, Pass, ProcfsSource, make_source
import polling
from conftest import CARO

needs_procfs = pytest.mark.skipif(not procfs.available(), reason="needs a Linux /proc")
needs_ps = pytest.mark.skipif(not (procfs.available() and pssource.available()),
                              reason="needs ps, and /proc for the test's own checks")

PY = sys.executable
ALLOC = "import time; b = b'x' * (200 << 20); time.sleep(1.5)"
HALF = "import time; b = b'x' * (100 << 20); time.sleep(1.5)"
BURN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass"
#: For ps, which sees an idle shell every 2 s only: long enough to be seen, 1.5 s of CPU.
WORK = ("import time\nb = b'x' * (50 << 20)\nend = time.process_time() + 1.5\n"
        "while time.process_time() < end: pass\ntime.sleep(3)")
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
def monitored(caro_home, request):
    """A node whose process monitor runs (started as the daemon starts it), sampling every 0.1 s;
    indirect parametrization adds lines to ``[procmon]``."""
    node = load_node(caro_home, "[procmon]\ninterval_ms = 100\n" + getattr(request, "param", ""))
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
        env = dict(os.environ, LC_ALL="C", PY=PY, ALLOC=ALLOC, HALF=HALF, BURN=BURN, WORK=WORK,
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


@needs_procfs
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


@needs_procfs
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


@needs_procfs
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


@needs_procfs
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


def kill_tree(pid):
    """Kill the process ``pid`` and its children."""
    for child in procfs.read_children(pid) or ():
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


@needs_ps
@pytest.mark.parametrize("monitored", ['source = "ps"\n'], indirect=True)
def test_the_ps_source_measures_a_command_that_allocates_and_burns_cpu(monitored, tmp_path):
    node, monitor = monitored
    assert isinstance(monitor.source, pssource.Source)
    script = Script(tmp_path, script=r"""
exec 3<>"$FIFO"
while [ ! -e "$GO" ]; do read -t 0.05 -u 3; done
t=$EPOCHREALTIME; "$PY" -c "$WORK"; echo "work $t $EPOCHREALTIME" >> "$TIMES"
read -t 30 -u 3
""")
    try:
        script.adopt(node, monitor)
        script.go()
        (_, start, end), = wait_for(script.times, "the command", timeout=30)
        event = add_event(node, "work", float(start), float(end), script.session)
        figures = wait_for(lambda: usage(node, event), "the command's figures")
        # 50 MB and Python; ps' resident sizes at the samples
        assert 50 * MB <= figures["peak_rss_kb"] <= 150 * MB
        # 1.5 s of CPU and Python's start-up, seen while it sleeps; GNU ps has whole seconds
        assert 1000 <= figures["cpu_ms"] <= 10_000
        assert figures["processes"] >= 1
    finally:
        script.close()


@needs_ps
def test_the_ps_source_runs_ps_only_to_scan_while_no_command_runs(node, tmp_path, monkeypatch):
    calls = []
    run = pssource.run
    monkeypatch.setattr(pssource, "run", lambda uid: calls.append(uid) or run(uid))
    # only the test's shell: a scan must not find other terminals' shells (and their commands)
    monkeypatch.setattr(pssource.Snapshot, "interactive", lambda self, proc, uid: False)
    node.store
    monitor = Monitor(node, 0.1, pssource.Source(os.getuid()))
    script = Script(tmp_path, script='exec 3<>"$FIFO"\n'
                    'while [ ! -e "$GO" ]; do read -t 0.05 -u 3; done; sleep 30; :')
    pid = script.proc.pid
    try:
        monitor.adopt(monitor.source(), pid)
        assert monitor.watching(pid) and len(calls) == 1
        now = time.time()
        for at in (now, now + 0.1, now + 0.2):  # a scan, then an idle shell: no ps
            monitor.step(node.store, at)
        assert len(calls) == 2
        script.go()
        wait_for(lambda: procfs.read_children(pid), "the shell's child")
        monitor.step(node.store, now + 0.3)  # unseen until the next scan
        assert len(calls) == 2
        monitor.step(node.store, now + SCAN_S + 0.1)
        assert monitor.shells[pid].busy
        monitor.step(node.store, now + SCAN_S + 0.2)  # a command runs: every pass
        assert len(calls) == 4
    finally:
        kill_tree(pid)
        script.proc.wait(timeout=10)


@needs_ps
def test_a_shell_that_leads_a_terminal_session_is_found_by_both_sources():
    controller, terminal = os.openpty()
    shell = subprocess.Popen(["setsid", "-c", "bash", "-c", "sleep 30; :"],
                             stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    try:
        (child,) = wait_for(lambda: procfs.read_children(shell.pid), "the shell's child")
        uid = os.getuid()
        for reader in (Pass(scan_all=False), pssource.Source(uid)()):
            assert reader.interactive(reader.stat(shell.pid), uid)
            assert not reader.interactive(reader.stat(child), uid)  # its command
            assert not reader.interactive(reader.stat(shell.pid), uid + 1)
    finally:
        kill_tree(shell.pid)
        shell.wait(timeout=10)
        os.close(controller)


#: ``LC_ALL=C TZ=UTC0 ps -U 1000 -o pid=,ppid=,uid=,stat=,tty=,rss=,time=,lstart=``, procps-ng 4.
GNU_PS = b"""\
    1     0  1000 Ss   ?         11832 00:00:03 Sat Nov 21 05:33:23 2026
  812   700  1000 Ss   pts/0      5120 00:00:00 Sat Nov 21 05:40:02 2026
  840   812  1000 R+   pts/0    409600 1-02:03:04 Fri Nov 20 03:00:00 2026
  841   812  1000 Z+   pts/0         0 00:00:01 Sat Nov 21 05:41:10 2026
  900   812     0 SLl+ pts/0      2048 00:00:00 Sat Nov  1 05:33:24 2026
"""
#: The same on macOS (BSD ps): ``login`` runs with effective uid 0 for the user's shell.
BSD_PS = b"""\
  312     1   501 S      ??         20368   0:01.52 Mon Nov  3 08:12:44 2025
  844   700     0 Ss     ttys000     1936   0:00.04 Mon Nov  3 09:01:02 2025
  845   844   501 S      ttys000     6144   0:00.31 Mon Nov  3 09:01:02 2025
 9012   845   501 R+     ttys000   412880 123:04.99 Sun Nov  2 21:00:00 2025
 9013   845   501 Z+     ttys000        0   0:00.00 Mon Nov  3 09:05:00 2025
 9014   845   501 U+     ttys000     2048   0:00.01 Mon Nov  3 09:05:00 2025
"""
MALFORMED = [
    b"",
    b"garbage",
    b"  PID  PPID   UID STAT TTY        RSS     TIME STARTED",  # a header line
    b"   77     1  1000 S    ?            12 00:00:01 Sat Nov 21 05:33:23",  # cut short
    b"   78     1  1000 S    ?  x         12 00:00:01 Sat Nov 21 05:33:23 2026",  # one too many
    b"  abc     1  1000 S    ?            12 00:00:01 Sat Nov 21 05:33:23 2026",
    b"   79     1  1000 S    ?            12 00:00:01 Sat Foo 21 05:33:23 2026",
    b"   80     1  1000 S    ?            12 1:2:3:4 Sat Nov 21 05:33:23 2026",
    b"   81     1  1000 S    ?            12 0:01.5 Sat Nov 21 05:33:23 2026",
    b"   82     1  1000 S    ?            12 1-02:03 Sat Nov 21 05:33:23 2026",
    b"   85     1  1000 S    ?            12 -1:00.00 Sat Nov 21 05:33:23 2026",
    b"   83     1  1000 S    ?            12 00:00:01 Sat Nov 21 05:33 2026",
    b"   84     1  1000 S    ?          \xff2 00:00:01 Sat Nov 21 05:33:23 2026",
]


def utc(*fields):
    return int(datetime(*fields, tzinfo=timezone.utc).timestamp())


def test_ps_output_of_gnu_procps_and_bsd_ps_parses_and_bad_lines_are_skipped():
    assert not {"comm", "ucomm", "args", "command", "cmd"} & set(pssource.FIELDS.split("=,"))
    gnu = pssource.parse(GNU_PS + b"\n".join(MALFORMED))
    assert sorted(gnu) == [1, 812, 840, 841, 900]
    assert gnu[812] == pssource.Process(812, 700, 1000, "S", True, True, 0,
                                        utc(2026, 11, 21, 5, 40, 2), 5120)
    assert gnu[840].own == (26 * 3600 + 3 * 60 + 4) * 100 and gnu[840].rss_kb == 409600
    assert (gnu[840].leader, gnu[841].state, gnu[1].tty, gnu[900].uid) == (False, "Z", False, 0)
    assert gnu[900].start == utc(2026, 11, 1, 5, 33, 24) and gnu[840].reaped is None

    bsd = pssource.parse(b"\n".join(MALFORMED) + b"\n" + BSD_PS)
    assert sorted(bsd) == [312, 844, 845, 9012, 9013, 9014]
    assert bsd[845] == pssource.Process(845, 844, 501, "S", False, True, 31,
                                        utc(2025, 11, 3, 9, 1, 2), 6144)
    assert bsd[9012].own == (123 * 60 + 4) * 100 + 99
    assert bsd[312].own == 152 and not bsd[312].tty and bsd[844].leader
    assert (bsd[9013].state, bsd[9014].state) == ("Z", "U")
    assert len(pssource.parse(BSD_PS, limit=2)) == 2


def test_a_ps_snapshot_narrows_start_times_and_finds_terminal_shells(monkeypatch):
    t = utc(2025, 11, 3, 9, 5, 0) + 0.25
    outputs = [(t, t + 0.5, pssource.parse(BSD_PS)),
               (t + 1, t + 1.5, pssource.parse(
                   BSD_PS + b" 9015   845   501 R+     ttys000  2048   0:00.01 "
                            b"Mon Nov  3 09:05:00 2025\n"))]
    monkeypatch.setattr(pssource, "run", lambda uid: outputs.pop(0))
    source = pssource.Source(501)
    first = source()
    assert source.previous is None and outputs  # no ps before a pass asks
    assert first.window(first.stat(845)) == (utc(2025, 11, 3, 9, 1, 2), utc(2025, 11, 3, 9, 1, 4))
    # a start can be no later than the end of the call
    assert first.window(first.stat(9013)) == (utc(2025, 11, 3, 9, 5), t + 0.5)
    assert first.current(845) == (t, first.stat(845))
    assert sorted(first.children(first.stat(845))) == [9012, 9013, 9014]
    assert first.hwm_kb(845) is None
    # a shell under another user's session leader (login), a session leader on a terminal
    assert [pid for pid in first.pids() if first.interactive(first.stat(pid), 501)] == [845]
    assert first.shell(first.stat(9012), 501) and not first.shell(first.stat(844), 501)

    second = source()
    new, old = second.stat(9015), second.stat(9014)
    assert second.window(new) == (t, t + 1.5)  # missing from the first: started after it
    assert second.window(old) == (old.start, t + 1.5)


def test_the_source_is_procfs_where_there_is_one_else_ps(monkeypatch):
    monkeypatch.setattr(pssource, "available", lambda: True)
    monkeypatch.setattr(procfs, "available", lambda: True)
    assert isinstance(make_source("auto"), ProcfsSource)
    assert isinstance(make_source("procfs"), ProcfsSource)
    assert isinstance(make_source("ps"), pssource.Source)
    monkeypatch.setattr(procfs, "available", lambda: False)  # macOS
    assert isinstance(make_source("auto"), pssource.Source)
    assert make_source("procfs") is None
    monkeypatch.setattr(pssource, "available", lambda: False)
    assert make_source("auto") is None and make_source("ps") is None


def test_an_unknown_source_is_a_one_line_config_error(caro_home):
    with pytest.raises(ConfigError, match=r"\[procmon\] source.*'auto', 'procfs', 'ps'"):
        load_node(caro_home, '[procmon]\nsource = "sysctl"\n')


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
@pytest.mark.parametrize("source", [pytest.param("procfs", marks=needs_procfs),
                                    pytest.param("ps", marks=needs_ps)])
def test_the_daemon_measures_a_command_typed_in_an_interactive_bash(shell_factory, caro_home,
                                                                    source):
    # ps sees an idle shell only every 2 s: its commands last longer
    seconds = 1 if source == "procfs" else 3
    caro_home.mkdir(mode=0o700, exist_ok=True)
    (caro_home / "config.toml").write_text(f'[procmon]\nsource = "{source}"\n')
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
        event = run(f"sleep {seconds}")
        row = polling.wait_for(lambda: usage_row(caro_home, event), timeout=4)
        return row is not None and row[2] >= 1

    try:
        wait_for(lambda: read_state(caro_home).get("ready"), "the daemon")
        wait_for(watched, "the monitor to watch the shell", timeout=60, step=0)
        event = run(f'{PY} -c "{ALLOC.replace("1.5", str(seconds + 0.5))}"')
        peak, cpu, processes = wait_for(lambda: usage_row(caro_home, event), "the figures")
        assert peak >= 190 * MB and processes >= 1
        assert cpu > 0 if source == "procfs" else cpu is not None  # GNU ps: whole seconds
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
    assert daemon.returncode == 0, daemon.stderr.read()
