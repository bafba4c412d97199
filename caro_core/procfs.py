"""Reading processes from Linux procfs at low cost.

Every reader opens one small file, parses it and returns None when the process
is gone or cannot be read (another user's process, an exit racing the read,
text that does not parse): callers treat "unreadable" exactly like "vanished".
CPU times are clock ticks (:data:`CLK_TCK` per second), memory is kB.

Start times in ``/proc/PID/stat`` count ticks since boot; :func:`boot_epoch`
turns them into epoch seconds with ``CLOCK_BOOTTIME`` (the clock the kernel
counts them on, to the microsecond; ``btime`` in ``/proc/stat`` has whole
seconds only).

Linux only: :func:`available` is False elsewhere, where
:mod:`caro_core.pssource` reads processes through ``ps``.
"""

import os
import time
from typing import NamedTuple

PROC = "/proc"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class Stat(NamedTuple):
    """The fields of ``/proc/PID/stat`` Caro uses."""

    pid: int
    comm: str
    state: str  # "Z": exited, not yet reaped by its parent
    ppid: int
    session: int
    tty: int  # 0: no controlling terminal
    utime: int
    stime: int
    cutime: int  # CPU of reaped children (and theirs), added when reaped
    cstime: int
    threads: int
    start: int  # ticks after boot
    rss_kb: int

    @property
    def own(self):
        """The CPU ticks of the process itself."""
        return self.utime + self.stime

    @property
    def reaped(self):
        """The CPU ticks of its reaped children (and theirs)."""
        return self.cutime + self.cstime


def available():
    """True when this system has a Linux procfs Caro can read."""
    return hasattr(time, "CLOCK_BOOTTIME") and os.path.exists(f"{PROC}/self/stat")


def children_files():
    """True when the kernel offers ``/proc/PID/task/TID/children`` (CONFIG_PROC_CHILDREN)."""
    pid = os.getpid()
    return os.path.exists(f"{PROC}/{pid}/task/{pid}/children")


def boot_epoch():
    """The epoch time of boot: add ``ticks / CLK_TCK`` to get a process' start time."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def _read(path, loop=False):
    """The bytes of a procfs file: one read holds all of ``stat`` or ``status``;
    ``loop`` reads on to the end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 16384)
        while loop and data:
            more = os.read(fd, 16384)
            if not more:
                break
            data += more
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_stat(data):
    """A :class:`Stat` from the bytes of ``/proc/PID/stat``; None when they do not parse.

    The command name sits in parentheses and may itself hold spaces and
    parentheses, so the fields are split after its last ``)``.
    """
    try:
        head, _, tail = data.rpartition(b")")
        pid, _, comm = head.partition(b" (")
        f = tail.split()
        return Stat(int(pid), comm.decode("utf-8", "replace"), f[0].decode("ascii"), int(f[1]),
                    int(f[3]), int(f[4]), int(f[11]), int(f[12]), int(f[13]), int(f[14]),
                    int(f[17]), int(f[19]), int(f[21]) * PAGE_KB)
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def read_stat(pid):
    """The :class:`Stat` of ``pid``, or None."""
    data = _read(f"{PROC}/{pid}/stat")
    return None if not data else parse_stat(data)


def read_hwm_kb(pid):
    """The peak resident size (``VmHWM``) of ``pid`` over its life in kB, or None.

    None also for a zombie or a kernel thread: they have no memory left to report.
    """
    data = _read(f"{PROC}/{pid}/status")
    if not data:
        return None
    at = data.find(b"\nVmHWM:")
    if at < 0:
        return None
    try:
        return int(data[at + 7:data.index(b"kB", at)])
    except ValueError:
        return None


def read_children(pid, threads=1):
    """The pids of the children of ``pid`` (of each of its ``threads``), or None when unreadable.

    A child belongs to the thread that forked it, so a multi-threaded process
    needs every thread's file.
    """
    tids = [pid]
    if threads > 1:
        try:
            tids = os.listdir(f"{PROC}/{pid}/task")
        except OSError:
            return None
    found = []
    for tid in tids:
        data = _read(f"{PROC}/{pid}/task/{tid}/children", loop=True)
        if data is None:
            return None
        found.extend(int(p) for p in data.split())
    return found


def pids():
    """The pids of every process now visible in procfs."""
    try:
        return [int(name) for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return []


def children_map(stats):
    """``{ppid: [pid, ...]}`` from a ``{pid: Stat}`` of every process (without children files)."""
    kids = {}
    for stat in stats.values():
        if stat is not None:
            kids.setdefault(stat.ppid, []).append(stat.pid)
    return kids


def owner(pid):
    """The uid that owns ``pid``, or None when it is gone."""
    try:
        return os.stat(f"{PROC}/{pid}").st_uid
    except OSError:
        return None
