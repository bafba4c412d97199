"""Process watch: the peak memory and CPU time of the processes each observed command started.

While the daemon runs, a worker thread samples the interactive shells of this
user every ``[procmon] interval_ms`` from procfs (:mod:`caro_core.procfs`) or,
where there is none, from ``ps`` (:mod:`caro_core.pssource`: one call per pass,
and while no process runs under a watched shell only with the scan for new
shells): each shell's child CPU counter (procfs only) and the tree of its
descendants.  A process belongs to a command when the shell's direct child it descends from started
inside the command's run time (the event's ``timestamp`` + ``duration_ms``).
Events are read from the store by id, whoever ingested them.

* CPU: a shell's ``cutime + cstime`` grows by a child's whole CPU time when it
  reaps it, so its growth from the last sample before a command to the first
  sample after it is exact for a foreground command, however short.  When
  another command of the same shell falls into that window the figure comes
  from the samples instead (a lower bound), or stays unknown.  ``ps`` has no such
  counter: there the figure always comes from the samples.
* Memory: the largest of each process' ``VmHWM`` (procfs only) and of the summed resident
  size of the command's processes alive at one sample; unknown when no
  sample saw any of them.

Figures go to ``process_usage`` (Level 0, never shared); :func:`caro_core.usage.usage_for`
reads them.  docs/observation.md says what is exact and what approximate.
"""

import logging
import os
import re
import threading
import time
from collections import deque

from caro_core import hookimpl, procfs, pssource
from caro_core.config import Setting
from caro_core.errors import ConfigError

log = logging.getLogger("caro.procmon")

#: Command names of the shells Caro integrates with (``sh`` runs as dash, ash, busybox…).
SHELL_NAMES = frozenset({"bash", "zsh", "fish", "sh", "dash", "ash", "busybox", "ksh", "mksh"})
SOURCES = ("auto", "procfs", "ps")
SESSION = re.compile(r"[a-z][a-z0-9_-]*?-(\d+)-")
#: Seconds between scans for new interactive shells.
SCAN_S = 2.0
#: A process older than this when scanned is not expected to become a shell (exec) any more.
SETTLED_S = 5.0
#: After the first sample past a command's end, wait this long for later events to be ingested.
GRACE_S = 1.0
#: Slack between the start times a source gives and the shell's stamps.
SLACK_S = 0.002
#: Vanished shells and processes, and events ingested later than this after their end, are dropped.
KEEP_S = 300.0
#: A background job's figures are updated until it ends, for at most this long.
FOLLOW_S = 3600.0
EVENT_BATCH = 500
MAX_SHELLS = 512
MAX_RUNS = 4096
MAX_SAMPLES = 2048
MAX_PENDING = 5000
MAX_FOLLOWED = 256
LOG_EVERY_S = 60.0



def _max(*values):
    known = [v for v in values if v is not None]
    return max(known) if known else None


class Proc:
    """One process seen under a shell: its CPU counters at the last sample."""

    __slots__ = ("job", "own", "reaped", "parent", "seen")

    def __init__(self, job):
        self.job = job
        self.own = self.reaped = 0
        self.parent = False  # has children of its own been seen?
        self.seen = 0.0

    def cpu(self):
        """CPU ticks no other process' counters hold: its own, plus its reaped children's
        when none of them was ever sampled (those are counted themselves)."""
        return self.own + (0 if self.parent else self.reaped)


class Job:
    """A direct child of a shell and every process under it."""

    __slots__ = ("start", "latest", "last_seen", "gone", "processes", "hwm_kb", "peak_kb",
                 "rss_kb", "folded_cpu", "live_cpu", "total")

    def __init__(self, start, latest):
        self.start, self.latest = start, latest  # epoch seconds it started between
        self.last_seen = 0.0
        self.gone = None  # time of the first sample that missed it
        self.processes = 0
        self.hwm_kb = self.peak_kb = None
        self.rss_kb = 0
        self.folded_cpu = self.live_cpu = 0  # ticks of vanished / live members
        self.total = 0  # the child's own + reaped CPU at its last sample

    def cpu_ticks(self):
        """A lower bound of the tree's CPU: the larger of two that never count a tick twice."""
        return max(self.folded_cpu + self.live_cpu, self.total)


class Shell:
    """An interactive shell being watched."""

    def __init__(self, pid, start_key, start):
        self.pid = pid
        self.start_key = start_key  # the source's start time: a reused pid has another
        self.start = start
        self.gone = None
        self.busy = False  # had processes under it at the last sample
        #: [first, last, ticks]: the child CPU counter held ``ticks`` at every sample in between
        #: (None when the source has no such counter)
        self.runs = deque(maxlen=MAX_RUNS)
        self.jobs = {}  # (pid, start ticks) of a direct child -> Job
        self.procs = {}  # (pid, start ticks) -> Proc
        #: (time, ((job, rss_kb), ...)) when several jobs were alive at once
        self.samples = deque(maxlen=MAX_SAMPLES)
        self.events = deque()  # (id, start, end) of recent commands

    def record_ticks(self, now, ticks):
        if self.runs and self.runs[-1][2] == ticks:
            self.runs[-1][1] = now
        else:
            self.runs.append([now, now, ticks])

    def ticks_before(self, t):
        """``(time, ticks)``: the child CPU counter at the latest known moment <= ``t``."""
        for first, last, ticks in reversed(self.runs):
            if first <= t:
                return min(last, t), ticks
        return None

    def ticks_after(self, t):
        """``(time, ticks)``: the counter at the earliest known moment >= ``t``; None before
        a sample past ``t``."""
        found = None
        for first, last, ticks in reversed(self.runs):
            if last < t:
                break
            found = max(first, t), ticks
        return found

    def sample(self, now, stat, reader):
        """Record the counter in ``stat`` (read at ``now``); read every process under the shell."""
        self.record_ticks(now, stat.reaped)
        live = []
        stack = [(pid, None) for pid in reader.children(stat)]
        while stack:
            pid, job = stack.pop()
            st = reader.stat(pid)
            if st is None:
                continue
            key = (pid, st.start)
            proc = self.procs.get(key)
            if proc is not None and proc.seen == now:
                continue
            if job is None:
                job = self.jobs.get(key)
                if job is None:
                    job = self.jobs[key] = Job(*reader.window(st))
                # max: a zombie's CPU reads 0 on macOS
                job.total = max(job.total, st.own + (st.reaped or 0))
                job.last_seen, job.live_cpu, job.rss_kb = now, 0, 0
                live.append(job)
            if proc is None:
                proc = self.procs[key] = Proc(job)
                job.processes += 1
            proc.own, proc.reaped = max(proc.own, st.own), max(proc.reaped, st.reaped or 0)
            proc.seen = now
            if st.state != "Z":
                job.hwm_kb = _max(job.hwm_kb, reader.hwm_kb(pid))
                job.rss_kb += st.rss_kb
            kids = reader.children(st)
            if kids:
                proc.parent = True
                stack.extend((kid, job) for kid in kids)
        for key, proc in list(self.procs.items()):
            if proc.seen == now:
                proc.job.live_cpu += proc.cpu()
            else:
                proc.job.folded_cpu += proc.cpu()
                del self.procs[key]
        for job in self.jobs.values():
            if job.gone is None and job.last_seen != now:
                job.gone, job.live_cpu = now, 0  # its members were folded above
        self.busy = bool(live)
        resident = [(job, job.rss_kb) for job in live if job.rss_kb]
        for job, rss in resident:
            job.peak_kb = _max(job.peak_kb, rss)
        if len(resident) > 1:
            self._add_sample(now, tuple(resident))

    def _add_sample(self, now, resident):
        """Keep a sample unless the previous one, with the same jobs, was at least as large."""
        if self.samples:
            _, last = self.samples[-1]
            if [j for j, _ in last] == [j for j, _ in resident]:
                if all(a <= b for (_, a), (_, b) in zip(resident, last)):
                    return
                if all(a >= b for (_, a), (_, b) in zip(resident, last)):
                    self.samples.pop()
        self.samples.append((now, resident))

    def vanish(self, now):
        self.gone = now
        for proc in self.procs.values():
            proc.job.folded_cpu += proc.cpu()
        self.procs.clear()
        for job in self.jobs.values():
            if job.gone is None:
                job.gone, job.live_cpu = now, 0

    def prune(self, now):
        for key, job in list(self.jobs.items()):
            if job.gone is not None and now - job.gone > KEEP_S:
                del self.jobs[key]
        while self.samples and now - self.samples[0][0] > FOLLOW_S:
            self.samples.popleft()
        while self.events and now - self.events[0][2] > KEEP_S:
            self.events.popleft()


class ProcfsSource:
    """Passes over Linux procfs (:mod:`caro_core.procfs`)."""

    name = "procfs"
    hz = procfs.CLK_TCK
    #: An idle shell's child CPU counter is what makes its next command's CPU exact.
    idle_samples = True

    def __init__(self):
        self.scan_all = not procfs.children_files()

    def __call__(self):
        return Pass(self.scan_all)


class Pass:
    """What one sampling pass read from procfs, so a process under two watched shells is read
    once.  :class:`caro_core.pssource.Snapshot` is the same interface over ``ps``."""

    def __init__(self, scan_all):
        self.scan_all = scan_all  # no children files: one ppid scan of every process per pass
        self.stats = {}
        self.hwm = {}
        self.kids = None
        self.boot = procfs.boot_epoch()

    def pids(self):
        return procfs.pids()

    def current(self, pid):
        """``(time, Stat)``: ``pid`` read now, not from the cache: the moment stamped must
        precede the read."""
        at = time.time()
        st = self.stats[pid] = procfs.read_stat(pid)
        return at, st

    def stat(self, pid):
        if pid not in self.stats:
            self.stats[pid] = procfs.read_stat(pid)
        return self.stats[pid]

    def hwm_kb(self, pid):
        if pid not in self.hwm:
            self.hwm[pid] = procfs.read_hwm_kb(pid)
        return self.hwm[pid]

    def children(self, stat):
        if not self.scan_all:
            return procfs.read_children(stat.pid, stat.threads) or ()
        if self.kids is None:
            self.stats.update((pid, procfs.read_stat(pid)) for pid in procfs.pids())
            self.kids = procfs.children_map(self.stats)
        return self.kids.get(stat.pid, ())

    def window(self, stat):
        """``(earliest, latest)``: epoch seconds between which the process started (one tick)."""
        start = self.boot + stat.start / procfs.CLK_TCK
        return start, start + 1 / procfs.CLK_TCK

    def interactive(self, stat, uid):
        """True for a shell of ``uid`` that leads a terminal session."""
        return (stat.comm in SHELL_NAMES and stat.session == stat.pid and stat.tty
                and procfs.owner(stat.pid) == uid)

    def shell(self, stat, uid):
        """True when the process is a shell of ``uid``."""
        return stat.comm in SHELL_NAMES and procfs.owner(stat.pid) == uid


class Command:
    """An observed event being measured."""

    __slots__ = ("id", "start", "end", "shell", "queued", "jobs", "reaped", "after", "peak",
                 "checked", "written")

    def __init__(self, id_, start, end, shell, queued):
        self.id, self.start, self.end, self.shell, self.queued = id_, start, end, shell, queued
        self.jobs = None  # the command's jobs, fixed when first measured
        self.reaped = None  # CPU ticks its shell reaped while it ran, when exact
        self.after = None  # the moment after its end that ``reaped`` was read at
        self.peak = None
        self.checked = 0.0  # the time of the newest sample of several jobs looked at
        self.written = None


def _reaped(cmd):
    """``(ticks, at)``: the growth of the shell's child CPU counter across the command and the
    moment it was read after the end; None when the shell was not sampled before and after
    it, when another command of the shell ran in that window, or when the source has no
    such counter."""
    shell = cmd.shell
    lo = shell.ticks_before(cmd.start)
    hi = shell.ticks_after(cmd.end + SLACK_S)
    if lo is None or hi is None or lo[1] is None:
        return None
    if any(other != cmd.id and start < hi[0] and end > lo[0]
           for other, start, end in shell.events):
        return None
    ticks = hi[1] - lo[1]
    for job in shell.jobs.values():  # another command's background job reaped meanwhile
        if job.gone is not None and lo[0] < job.gone and job.last_seen < hi[0] \
                and job not in cmd.jobs:
            ticks -= job.total
    return max(ticks, 0), hi[0]


def measure(cmd, hz):
    """``(peak_rss_kb, cpu_ms, processes)`` of a command from what its shell's samples hold
    (CPU counted in ``hz`` ticks per second).

    The first call fixes which jobs are the command's and the exact CPU its
    shell reaped; later calls (a background job still running) add what the
    samples saw since.
    """
    shell = cmd.shell
    if cmd.jobs is None:
        cmd.jobs = [job for job in shell.jobs.values()
                    if job.latest >= cmd.start - SLACK_S and job.start <= cmd.end + SLACK_S]
        exact = _reaped(cmd)
        if exact is not None:
            cmd.reaped, cmd.after = exact
    jobs = cmd.jobs
    cmd.peak = _max(cmd.peak, *(job.hwm_kb for job in jobs), *(job.peak_kb for job in jobs))
    if len(jobs) > 1:
        for at, resident in reversed(shell.samples):
            if at <= cmd.checked:
                break
            cmd.peak = _max(cmd.peak, sum(rss for job, rss in resident if job in jobs) or None)
        if shell.samples:
            cmd.checked = shell.samples[-1][0]
    if cmd.reaped is not None:  # plus what jobs still alive after the end used (background)
        ticks = cmd.reaped + sum(job.cpu_ticks() for job in jobs if job.last_seen >= cmd.after)
    elif jobs:
        ticks = sum(job.cpu_ticks() for job in jobs)
    else:
        ticks = None
    cpu = None if ticks is None else round(ticks * 1000 / hz)
    return cmd.peak, cpu, sum(job.processes for job in jobs)


class Monitor:
    """The sampling thread and what it knows about the watched shells."""

    def __init__(self, node, interval_s, source):
        self.node = node
        self.interval = interval_s
        self.source = source  # a new pass' reader for each call: ProcfsSource, pssource.Source
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="caro-procmon", daemon=True)
        self.uid = os.getuid()
        self.shells = {}  # pid -> Shell
        self.settled = set()  # pids seen at a scan that are not shells and will not become one
        self.pending = deque(maxlen=MAX_PENDING)
        self.followed = {}  # event id -> Command whose background jobs still run
        self.last_id = 0
        self.next_scan = 0.0
        self.logged_at = None

    def watching(self, pid):
        """True while the shell ``pid`` is being sampled."""
        shell = self.shells.get(pid)
        return shell is not None and shell.gone is None

    def loop(self):
        from caro_core.store import Store

        store = None
        try:
            store = Store(self.node.db_path, self.node.migrations())
            self.last_id = store.query_one("SELECT coalesce(max(id), 0) FROM events")[0]
            while not self.stopping.wait(self.interval):
                try:
                    self.step(store, time.time())
                except Exception:  # a bad pass must not end the monitor
                    self._log_failure()
        except Exception:
            log.exception("process monitor stopped")
        finally:
            if store is not None:
                store.close()

    def _log_failure(self):
        now = time.monotonic()
        if self.logged_at is None or now - self.logged_at >= LOG_EVERY_S:
            self.logged_at = now
            log.exception("process monitor pass failed (further failures logged once a minute)")

    def step(self, store, now):
        """One pass: find shells, sample them, read new events, store what is measured.

        A source whose idle shells tell nothing (``ps``) samples them only with a scan,
        and every pass only while a process runs under a watched shell."""
        reader = self.source()
        scanning = now >= self.next_scan
        if scanning:
            self.scan(reader, now)
            self.next_scan = now + SCAN_S
        if scanning or self.source.idle_samples or any(
                shell.busy for shell in self.shells.values() if shell.gone is None):
            self.sample(reader, now)
        self.poll(store, reader, now)
        self.settle(store, now)
        self.prune(now)

    def scan(self, reader, now):
        """Watch every interactive shell of this user (``reader.interactive``)."""
        pids = reader.pids()
        self.settled.intersection_update(pids)
        for pid in pids:
            if pid in self.settled or self.watching(pid):
                continue
            st = reader.stat(pid)
            if st is None:
                continue
            if reader.interactive(st, self.uid):
                self.watch(st, reader)
            elif now - reader.window(st)[0] > SETTLED_S:
                self.settled.add(pid)

    def watch(self, st, reader):
        if len(self.shells) < MAX_SHELLS:
            self.shells[st.pid] = Shell(st.pid, st.start, reader.window(st)[0])

    def sample(self, reader, now):
        for shell in self.shells.values():
            if shell.gone is not None:
                continue
            at, st = reader.current(shell.pid)
            if st is None or st.start != shell.start_key or st.state == "Z":
                shell.vanish(now)
            else:
                shell.sample(at, st, reader)

    def poll(self, store, reader, now):
        """Queue the events stored since the last poll."""
        rows = store.query("SELECT id, timestamp, duration_ms, session FROM events WHERE id > ? "
                           "ORDER BY id LIMIT ?", (self.last_id, EVENT_BATCH))
        for id_, start, duration_ms, session in rows:
            self.last_id = id_
            match = SESSION.match(session or "")
            if match is None or duration_ms is None:  # sh records no duration
                continue
            end = start + duration_ms / 1000
            pid = int(match[1])
            shell = self.shells.get(pid)
            if shell is None or shell.start > start:
                self.adopt(reader, pid)  # its later commands will be measured
                continue
            if now - end > KEEP_S:
                continue
            shell.events.append((id_, start, end))
            self.pending.append(Command(id_, start, end, shell, now))

    def adopt(self, reader, pid):
        """Watch the shell named by an event's session (a shell that leads no terminal session)."""
        st = reader.stat(pid)
        if not self.watching(pid) and st is not None and reader.shell(st, self.uid):
            self.watch(st, reader)

    def settle(self, store, now):
        """Store the figures of the commands whose samples are complete and of running
        background jobs.  Nothing changes when the write fails: the next pass retries."""
        ready, waiting = [], deque(maxlen=MAX_PENDING)
        for cmd in self.pending:
            shell = cmd.shell
            hi = shell.ticks_after(cmd.end + SLACK_S)
            if hi is not None:
                done = now >= hi[0] + GRACE_S
            else:
                done = shell.gone is not None or now - cmd.end > KEEP_S
            if done:
                ready.append(cmd)
            elif now - cmd.queued <= KEEP_S:
                waiting.append(cmd)
        figures = [(cmd, measure(cmd, self.source.hz))
                   for cmd in ready + list(self.followed.values())]
        rows = [(cmd.id, *fig) for cmd, fig in figures
                if fig != cmd.written and fig != (None, None, 0)]  # changed, and something known
        if rows:
            with store.transaction():
                store.executemany("INSERT OR REPLACE INTO process_usage "
                                  "(event_id, peak_rss_kb, cpu_ms, processes) VALUES (?, ?, ?, ?)",
                                  rows)
        for cmd, fig in figures:
            cmd.written = fig
        self.pending = waiting
        for cmd in ready:
            if any(job.gone is None for job in cmd.jobs) and len(self.followed) < MAX_FOLLOWED:
                self.followed[cmd.id] = cmd
        for id_, cmd in list(self.followed.items()):
            if all(job.gone is not None for job in cmd.jobs) or now - cmd.queued > FOLLOW_S:
                del self.followed[id_]

    def prune(self, now):
        for pid, shell in list(self.shells.items()):
            if shell.gone is not None and now - shell.gone > KEEP_S:
                del self.shells[pid]
            else:
                shell.prune(now)

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stopping.set()
        self.thread.join(timeout=max(5.0, 2 * self.interval))


@hookimpl
def caro_config_schema():
    """Declare the ``[procmon]`` section."""
    return {"procmon": {
        "enabled": Setting(bool, True, "measure the peak memory and CPU time of each observed "
                                       "command (daemon only)"),
        "interval_ms": Setting(int, 500, "sampling interval in milliseconds (10 to 60000)"),
        "source": Setting(str, "auto", "where processes are read: procfs (Linux), ps, or auto "
                                       "(procfs when there is one, else ps)", choices=SOURCES),
    }}


@hookimpl
def caro_store_migrations():
    from caro_core.usage import MIGRATIONS

    return MIGRATIONS


@hookimpl
def caro_lifecycle_start(node):
    settings = node.config["procmon"]
    if not settings["enabled"]:
        return
    interval = settings["interval_ms"]
    if not 10 <= interval <= 60000:
        raise ConfigError(f"{node.config_path}: [procmon] interval_ms: expected 10 to 60000 "
                          f"milliseconds, got {interval}")
    source = make_source(settings["source"])
    if source is None:
        return
    monitor = Monitor(node, interval / 1000, source)
    node.pm.register(monitor, name="observe_procmon.monitor")
    monitor.thread.start()
    log.info("process monitor sampling every %d ms from %s", interval, source.name)


def make_source(choice):
    """The process source ``[procmon] source`` asks for, or None (logged) when it cannot work."""
    if choice != "ps" and procfs.available():
        return ProcfsSource()
    if choice == "procfs":
        log.warning("process monitor off: [procmon] source = \"procfs\" and this system has "
                    "no Linux /proc")
        return None
    if pssource.available():
        return pssource.Source(os.getuid())
    log.warning("process monitor off: %s", "no Linux /proc and ps does not run here"
                if choice == "auto" else "[procmon] source = \"ps\" and ps does not run here")
    return None
