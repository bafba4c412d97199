"""Reading one user's processes from ``ps``, where there is no Linux procfs (macOS, the BSDs).

One call per sampling pass lists every process whose real user is ``uid``::

    LC_ALL=C TZ=UTC0 ps -U UID -o pid=,ppid=,uid=,stat=,tty=,rss=,time=,lstart=

The empty headers (``=``) leave out the header line.  Neither the command
name nor its arguments are asked for: nothing of what a command line says
reaches Caro this way.  ``ps`` itself reads ``sysctl(KERN_PROC)`` and
``proc_pidinfo`` on macOS and ``/proc`` on Linux; GNU procps (Linux) and BSD
``ps`` (macOS, FreeBSD) print the fields alike except where noted:

=========  ===========================================================================
``pid``    decimal; ``ppid`` its parent's pid; ``uid`` the effective uid
``stat``   the state letter first (``R``, ``S``, ``D``, ``T``, ``I``, BSD ``U``; ``Z``:
           exited, not yet reaped), then flags; the flag ``s`` marks a session leader
``tty``    the controlling terminal: GNU ``pts/3``, BSD ``ttys003``; none: GNU ``?``, BSD ``??``
``rss``    resident size in kB on both
``time``   own user + system CPU, reaped children not included.  GNU: ``[DD-]HH:MM:SS``,
           whole seconds (truncated); BSD: ``M:SS.cc``, minutes unbounded, hundredths
           (rounded); a zombie shows ``0:00.00`` on macOS
``lstart`` start time, ``%a %b %e %H:%M:%S %Y`` in the C locale (``Mon Nov  3 09:01:02
           2025``), whole seconds, in UTC through ``TZ=UTC0``; GNU ps adds ``btime`` (whole
           seconds) to the start in ticks, so the true start lies in ``[lstart, lstart + 2)``
=========  ===========================================================================

No ``ps`` gives the CPU of a process' reaped children: BSD ``ps -S`` is meant
to add it but macOS' ps ignores it (the code is disabled in Apple's
``adv_cmds``), and GNU ``ps S`` has whole seconds only.  Processes of other
real users (what ``sudo`` starts) are not listed.
"""

import os
import subprocess
import time
from calendar import timegm
from typing import NamedTuple

FIELDS = "pid=,ppid=,uid=,stat=,tty=,rss=,time=,lstart="
ENV = {"LC_ALL": "C", "TZ": "UTC0"}
#: CPU is counted in hundredths of a second.
HZ = 100
#: Lines read from one call at most; the rest are ignored.
MAX_LINES = 65536
TIMEOUT_S = 10.0
MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


class Process(NamedTuple):
    """One line of ``ps`` output."""

    pid: int
    ppid: int
    uid: int
    state: str  # "Z": exited, not yet reaped by its parent
    leader: bool  # leads its session
    tty: bool  # has a controlling terminal
    own: int  # own user + system CPU, hundredths of a second
    start: int  # epoch seconds, whole
    rss_kb: int

    @property
    def reaped(self):
        """The CPU of reaped children: ``ps`` does not show it."""
        return None


class PsError(OSError):
    """``ps`` could not be run or failed."""


def parse_time(text):
    """Hundredths of a second from a ``time`` field: ``[DD-]HH:MM:SS`` or ``M:SS.cc``."""
    days, dash, clock = text.rpartition("-")
    seconds, dot, hundredths = clock.partition(".")
    parts = seconds.split(":")
    gnu = len(parts) == 3 and not dot
    bsd = len(parts) == 2 and not dash and (not dot or len(hundredths) == 2)
    if not (gnu or bsd) or not all(p.isdigit() for p in (
            *parts, days if dash else "0", hundredths if dot else "0")):
        raise ValueError(text)
    seconds = int(days or 0) * 86400 + sum(
        int(part) * unit for part, unit in zip(reversed(parts), (1, 60, 3600)))
    return seconds * 100 + int(hundredths or 0)


def parse_lstart(fields):
    """Epoch seconds from the five words of an ``lstart`` field in UTC."""
    _, month, day, clock, year = fields
    hour, minute, second = clock.split(":")
    return timegm((int(year), MONTHS[month], int(day), int(hour), int(minute), int(second)))


def parse(output, limit=MAX_LINES):
    """``{pid: Process}`` from the bytes ``ps`` printed; lines that do not parse are skipped."""
    found = {}
    starts = {}  # most processes share a few start days: parse each lstart once
    for line in output.split(b"\n", limit)[:limit]:
        f = line.decode("ascii", "replace").split()
        if len(f) != 12:
            continue
        try:
            lstart = " ".join(f[7:])
            start = starts.get(lstart)
            if start is None:
                start = starts[lstart] = parse_lstart(f[7:])
            proc = Process(int(f[0]), int(f[1]), int(f[2]), f[3][0], "s" in f[3][1:],
                           f[4].strip("?-") != "", parse_time(f[6]), start, int(f[5]))
        except (ValueError, KeyError):
            continue
        found[proc.pid] = proc
    return found


def run(uid):
    """``(before, after, {pid: Process})``: one ``ps`` call and the times around it.

    :raises PsError: ``ps`` is missing, timed out or failed.
    """
    before = time.time()
    try:
        done = subprocess.run(["ps", "-U", str(uid), "-o", FIELDS], capture_output=True,
                              env=dict(os.environ, **ENV), timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PsError(f"ps: {e}") from None
    if done.returncode != 0:
        raise PsError(f"ps exited with {done.returncode}: "
                      f"{done.stderr.decode('utf-8', 'replace').strip()[:200]}")
    return before, time.time(), parse(done.stdout)


def available():
    """True when ``ps`` runs here and lists this process as expected."""
    try:
        _, _, procs = run(os.getuid())
    except PsError:
        return False
    me = procs.get(os.getpid())
    return me is not None and me.ppid == os.getppid()


class Source:
    """``ps`` snapshots for the process monitor, one per pass that needs one.

    Remembers the previous snapshot: a process missing from it started after it
    was taken, which narrows start times far below ``lstart``'s second.
    """

    name = "ps"
    hz = HZ
    #: An idle shell holds no counter here: sample it only when scanning for shells.
    idle_samples = False

    def __init__(self, uid):
        self.uid = uid
        self.previous = None  # (time before the call, {(pid, start)})

    def __call__(self):
        return Snapshot(self)


class Snapshot:
    """One pass' view of the processes, from one ``ps`` call made when the pass first asks
    (a pass that needs none runs none): the reader interface of the process monitor, whose
    procfs counterpart is ``observe_procmon.Pass``."""

    def __init__(self, source):
        self.source = source
        self.procs = None

    def _load(self):
        if self.procs is None:
            source = self.source
            self.before, self.after, self.procs = run(source.uid)
            self.kids = {}
            for proc in self.procs.values():
                self.kids.setdefault(proc.ppid, []).append(proc.pid)
            self.previous = source.previous
            source.previous = self.before, {(p.pid, p.start) for p in self.procs.values()}
        return self.procs

    def pids(self):
        return list(self._load())

    def stat(self, pid):
        return self._load().get(pid)

    def current(self, pid):
        """``(time, Process)``: a moment before ``ps`` read ``pid``, and what it read."""
        proc = self._load().get(pid)
        return self.before, proc

    def hwm_kb(self, pid):
        """``ps`` shows no peak resident size."""
        return None

    def children(self, proc):
        self._load()
        return self.kids.get(proc.pid, ())

    def window(self, proc):
        """``(earliest, latest)``: epoch seconds between which ``proc`` started."""
        self._load()
        earliest = proc.start
        if self.previous is not None and (proc.pid, proc.start) not in self.previous[1]:
            earliest = max(earliest, self.previous[0])
        return earliest, min(proc.start + 2, self.after)

    def interactive(self, proc, uid):
        """True for a process of ``uid`` on a terminal that leads its session (a terminal
        emulator's, tmux', sshd's shell) or whose parent is another user's (macOS' ``login``)."""
        if proc.uid != uid or not proc.tty:
            return False
        parent = self._load().get(proc.ppid)
        return proc.leader or parent is None or parent.uid != uid

    def shell(self, proc, uid):
        """True when ``proc`` may be a shell of ``uid`` (``ps`` is not asked for names)."""
        return proc.uid == uid
