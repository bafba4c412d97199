"""Cost of the process monitor: one sampling pass, one shell scan, CPU per second of monitoring.

Spawns N real shells with M children each (``sleep``), watches them, and prints
the time of one sampling pass (children files, and the ppid-scan fallback),
of one /proc scan for new shells (first scan, then with settled pids
skipped), and the CPU the running monitor thread uses at the default
interval, as a percentage of one core.
    .venv/bin/python benchmarks/bench_procmon.py [seconds per CPU measurement]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from caro_core import procfs
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_plugins import observe_procmon
from caro_plugins.observe_procmon import Monitor, Pass

#: (shells, children per shell)
SETUPS = [(1, 0), (10, 0), (10, 5), (50, 2), (5, 50)]
SHELL = 'exec 3<>"$FIFO"; for ((i = 0; i < $M; i++)); do sleep 600 & done; read -u 3'


def spawn(tmp, shells, children):
    fifo = tmp / f"fifo-{shells}-{children}"
    os.mkfifo(fifo)
    env = dict(os.environ, FIFO=str(fifo), M=str(children))
    procs = [subprocess.Popen(["bash", "-c", SHELL], env=env) for _ in range(shells)]
    deadline = time.monotonic() + 30
    while any(len(procfs.read_children(p.pid) or ()) < children for p in procs):
        if time.monotonic() > deadline:
            raise SystemExit("the shells did not start their children within 30 s")
        time.sleep(0.05)
    return procs


def stop(procs):
    for p in procs:
        for pid in procfs.read_children(p.pid) or ():
            os.kill(pid, 15)
        p.kill()
        p.wait()


def timed(fn, runs=50):
    """Median wall time of ``fn()`` in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pass_cost(node, procs, scan_all):
    monitor = Monitor(node, 0.5)
    monitor.scan_all = scan_all
    boot = procfs.boot_epoch()
    for p in procs:
        monitor.watch(procfs.read_stat(p.pid), boot)
    return timed(lambda: monitor.sample(Pass(scan_all), time.time()))


def scan_cost(node):
    monitor = Monitor(node, 0.5)
    first = timed(lambda: monitor.scan(Pass(False), time.time()), runs=1)
    monitor.scan(Pass(False), time.time())
    return first, timed(lambda: monitor.scan(Pass(False), time.time()))


def thread_cpu(node, procs, seconds):
    """% of one core the monitor thread uses at the configured interval (this process idles)."""
    observe_procmon.caro_lifecycle_start(node)
    monitor = node.pm.get_plugin("observe_procmon.monitor")
    deadline = time.monotonic() + 10
    while not all(monitor.watching(p.pid) for p in procs):  # sessions in events reveal the shells
        if time.monotonic() > deadline:
            raise SystemExit("the monitor did not watch the shells within 10 s")
        now = time.time()
        insert_events(node.store, [classify(
            node, "true", timestamp=now, exit_code=0, duration_ms=1, cwd="/", shell="bash",
            session=f"bash-{p.pid}-1", user="bench", elevated=False, caro_generated=False)
            for p in procs if not monitor.watching(p.pid)])
        time.sleep(0.6)
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    used = (time.process_time() - cpu) / (time.monotonic() - wall) * 100
    monitor.caro_lifecycle_stop(node)
    node.pm.unregister(monitor)
    return used


def main():
    if not procfs.available():
        raise SystemExit("no Linux /proc here: the process monitor is off on this system")
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    tmp = Path(tempfile.mkdtemp(prefix="caro-bench-"))
    home = tmp / "home"
    home.mkdir(mode=0o700)
    node = Node.load(home, environ={})
    node.store
    interval = node.config["procmon"]["interval_ms"]
    print(f"processes on this system: {len(procfs.pids())}; children files: "
          f"{procfs.children_files()}; default interval {interval} ms")
    first, warm = scan_cost(node)
    print(f"scan of /proc for new shells: first {first:.2f} ms, then {warm:.2f} ms "
          f"(every {observe_procmon.SCAN_S:g} s)")
    print(f"{'shells':>6} {'children':>8} {'pass ms':>8} {'ppid-scan pass ms':>18} "
          f"{'monitor CPU % of a core':>24}")
    for shells, children in SETUPS:
        procs = spawn(tmp, shells, children)
        try:
            fast = pass_cost(node, procs, scan_all=False)
            slow = pass_cost(node, procs, scan_all=True)
            cpu = thread_cpu(node, procs, seconds)
        finally:
            stop(procs)
        print(f"{shells:>6} {shells * children:>8} {fast:>8.3f} {slow:>18.3f} {cpu:>24.3f}")
    node.close()


if __name__ == "__main__":
    main()
