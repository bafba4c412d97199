"""The node's daemon: one per home, run in the foreground or started in the background.

``daemon.lock`` is never deleted; the running daemon holds an exclusive
``flock`` on it for its whole life, so the kernel releases it when the process
dies however it dies.  ``daemon.pid`` names the daemon; one left behind by a
crash is *stale*: it exists while nobody holds the lock.  Services report what
they bound through :class:`caro_core.runtime.RuntimeState` (``daemon.json``).

The daemon runs for days, so it keeps its memory small (docs/daemon.md,
"Memory"): before its services start threads it caps glibc's malloc arenas and
SQLite's page caches over all its connections, and once they run it hands back
what start-up left unused.
"""

import ctypes
import fcntl
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from . import logs
from .errors import CaroError, StoreCorrupt
from .lifecycle import call_each
from .runtime import RuntimeState, read_state
from .store import corrupt_message

LOCK_FILE = "daemon.lock"
PID_FILE = "daemon.pid"
#: stderr of a daemon started in the background (its one-line error, if it fails to start)
ERR_FILE = "daemon.err"

#: glibc malloc arenas (default: 8 per core), each keeping freed memory of the threads using it
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt() parameter, glibc's malloc.h
#: bytes SQLite may hold in page caches over all the daemon's connections before it recycles
SQLITE_HEAP_LIMIT = 8 * 1024 * 1024

log = logging.getLogger("caro.daemon")


class AlreadyRunning(CaroError):
    exit_code = 6


class DaemonError(CaroError):
    """The daemon could not be started or stopped."""


def _read_pid(home):
    try:
        return int((home / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def probe(home):
    """``(pid, stale_pid)``: the running daemon's pid (or None) and a stale pid file's pid."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None, _read_pid(home)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(home) or -1, None  # -1: running, pid file not written yet
    finally:
        os.close(fd)  # also drops the shared lock taken by a successful probe
    return None, _read_pid(home)


def acquire_lock(home, attempts=20):
    """Hold the home's exclusive lock for the process' life; raise AlreadyRunning.

    A few short retries let a concurrent :func:`probe` (which holds a shared
    lock for microseconds) pass.
    """
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(0.01)
    os.close(fd)
    other = _read_pid(home)
    raise AlreadyRunning(f"a Caro daemon{f' (pid {other})' if other else ''} already runs "
                         f"for {home}")


def _write_pid(home):
    tmp = home / f"{PID_FILE}.tmp"
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, home / PID_FILE)


def _libc_call(name, *args):
    """Call a C library function of this process if it exists (glibc has these; others may not)."""
    function = getattr(ctypes.CDLL(None), name, None)
    if function is not None:
        function(*args)


def limit_memory():
    """Before threads start: few malloc arenas, and a cap on SQLite's page caches."""
    import apsw

    _libc_call("mallopt", _M_ARENA_MAX, MALLOC_ARENAS)
    apsw.soft_heap_limit(SQLITE_HEAP_LIMIT)


def release_memory(node):
    """After start-up: free its garbage, this thread's SQLite cache (the integrity check read
    the whole file through it) and the malloc pages left unused."""
    gc.collect()
    node.store.execute("PRAGMA shrink_memory")
    _libc_call("malloc_trim", 0)


def run_foreground(node, echo, stop=None):
    """Host the node until SIGTERM/SIGINT (or ``stop`` is set): the body of ``caro daemon run``."""
    home = node.ensure_home()
    lock = acquire_lock(home)
    stale = _read_pid(home)
    settings = node.config["daemon"]
    handlers = logs.configure(home, settings["log_max_kb"] * 1024, settings["log_backups"],
                              settings["log_level"], stream=sys.stderr)
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    # SIGHUP means "trust changed" (caro peers …): the mesh, when it runs, handles it;
    # without one it must not end the daemon.
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    runtime = None
    try:
        if stale:
            log.warning("replacing the stale pid file of pid %s (that daemon is gone)", stale)
        _write_pid(home)
        limit_memory()
        identity = node.identity
        problems = node.store.integrity_problems(quick=True)
        if problems:
            raise StoreCorrupt(corrupt_message(node.db_path, problems[0]))
        runtime = node.runtime = RuntimeState(home)
        runtime.publish(node_id=identity.node_id, fingerprint=identity.fingerprint)
        _, failures = call_each(node.pm.hook.caro_lifecycle_start, node=node)
        for name, error in failures:
            echo(f"caro: warning: plugin '{name}' failed to start: {error}", err=True)
        release_memory(node)
        runtime.publish(ready=True)
        log.info("daemon %s started (pid %d)", identity.fingerprint, os.getpid())
        url = runtime.get("dashboard_url")
        echo(f"caro node {identity.fingerprint} running (home {home})"
             + (f", dashboard {url}" if url else "") + "; Ctrl-C to stop")
        stop.wait()
        echo("caro: stopping")
        log.info("daemon stopping")
        call_each(node.pm.hook.caro_lifecycle_stop, node=node)
        node.close()
        log.info("daemon stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if runtime is not None:
            runtime.remove()
            node.runtime = None
        (home / PID_FILE).unlink(missing_ok=True)
        logs.release(handlers)
        os.close(lock)


def start_background(home, timeout_s):
    """Start ``caro daemon run`` detached and return its pid once it is ready.

    Raises AlreadyRunning, or DaemonError with the daemon's own one-line error
    when it exits during start-up or is not ready within ``timeout_s``.
    """
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    running, _ = probe(home)
    if running:
        raise AlreadyRunning(f"a Caro daemon (pid {running}) already runs for {home}")
    env = dict(os.environ, CARO_HOME=str(home))
    with open(home / ERR_FILE, "wb") as err:
        child = subprocess.Popen([sys.executable, "-m", "caro_core", "daemon", "run"], env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 cwd="/", start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state(home)
        if state.get("pid") == child.pid and state.get("ready"):
            return child.pid
        if child.poll() is not None:
            raise DaemonError(f"the daemon failed to start: {_last_error(home)}")
        time.sleep(0.05)
    child.terminate()
    raise DaemonError(f"the daemon was not ready within {timeout_s:g} s and was stopped; "
                      f"see {home / logs.LOG_FILE}")


def _last_error(home):
    try:
        lines = (home / ERR_FILE).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line.removeprefix("caro: ") for line in lines if line.startswith("caro: ")]
    return (errors or [line for line in lines if line.strip()] or ["no error message"])[-1]


def stop_background(home, timeout_s):
    """Ask the home's daemon to stop (SIGTERM) and wait; return its pid, or None if none ran."""
    pid, stale = probe(home)
    if pid is None:
        if stale:
            (home / PID_FILE).unlink(missing_ok=True)
        return None
    if pid < 0:
        raise DaemonError("the daemon is still starting; try again in a moment")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # exited meanwhile
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe(home)[0] is None and _gone(pid):
            return pid
        time.sleep(0.05)
    raise DaemonError(f"the daemon (pid {pid}) is still running after {timeout_s:g} s; "
                      f"see {home / logs.LOG_FILE}")


def notify(home):
    """Tell the running daemon (if any) that trust changed: SIGHUP makes the mesh reload it."""
    pid, _ = probe(home)
    if pid and pid > 0:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass


def _gone(pid):
    """True once ``pid`` has exited (a zombie waiting for its parent counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True  # no procfs: the released lock says it stopped


def status(node):
    """The JSON of ``caro daemon status``."""
    pid, stale = probe(node.home)
    state = read_state(node.home) if pid else {}
    events = store_error = None
    if node.db_path.exists():
        try:
            (events,) = node.store.query_one("SELECT count(*) FROM events")
        except StoreCorrupt as e:  # status must still answer; doctor repairs
            store_error = str(e)
    started = state.get("started")
    return {
        "running": pid is not None,
        "pid": pid if pid and pid > 0 else None,
        "dashboard_url": state.get("dashboard_url"),
        "mesh_listen": state.get("mesh_listen"),
        "uptime_s": round(time.time() - started, 1) if started else None,
        "events": events,
        "home": str(node.home),
        "stale_pid": stale,
        "store_error": store_error,
    }
