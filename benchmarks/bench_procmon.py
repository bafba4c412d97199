"""Cost of the process monitor: one sampling pass, one shell scan, CPU per second of monitoring.

Spawns N real shells with M children each (``sleep``), watches them, and prints
for both process sources the time of one sampling pass (procfs: children
files, and the ppid-scan fallback; ps: one ``ps`` call, its parsing and the
sample), of one scan for new shells (first scan, then with settled pids
skipped), and the CPU the running monitor uses at the default interval, as a
percentage of one core (for ps including the ``ps`` processes it runs; with
no children under the shells it runs ``ps`` only at a scan, every 2 s).
    .venv/bin/python benchmarks/bench_procmon.py [seconds per CPU measurement]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from caro_core import procfs, pssource
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_plugins import observe_procmon
from caro_plugins.observe_procmon import Monitor, ProcfsSource

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


def pass_cost(node, procs, source):
    monitor = Monitor(node, 0.5, source)
    reader = source()
    for p in procs:
        monitor.watch(reader.stat(p.pid), reader)
    return timed(lambda: monitor.sample(source(), time.time()), runs=20)


def scan_cost(node, source):
    monitor = Monitor(node, 0.5, source)
    first = timed(lambda: monitor.scan(source(), time.time()), runs=1)
    monitor.scan(source(), time.time())
    return first, timed(lambda: monitor.scan(source(), time.time()), runs=20)


def cpu_now():
    """CPU seconds of this process and of its reaped children (the ``ps`` calls)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def thread_cpu(node, procs, seconds, source):
    """% of one core the monitor uses at the configured interval (this process idles)."""
    monitor = Monitor(node, node.config["procmon"]["interval_ms"] / 1000, source)
    node.pm.register(monitor, name="observe_procmon.monitor")
    monitor.thread.start()
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
    cpu, wall = cpu_now(), time.monotonic()
    time.sleep(seconds)
    used = (cpu_now() - cpu) / (time.monotonic() - wall) * 100
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
    uid = os.getuid()
    ps = pssource.Source(uid)
    procfs_source = ProcfsSource()
    _, _, mine = pssource.run(uid)
    print(f"processes on this system: {len(procfs.pids())}, of this user: {len(mine)}; "
          f"children files: {procfs.children_files()}; default interval {interval} ms")
    call = timed(lambda: pssource.run(uid), runs=20)
    output = subprocess.run(["ps", "-U", str(uid), "-o", pssource.FIELDS], capture_output=True,
                            env=dict(os.environ, **pssource.ENV), check=True).stdout
    parse = timed(lambda: pssource.parse(output), runs=20)
    print(f"one ps call, parsed: {call:.2f} ms wall, of which parsing {parse:.3f} ms")
    for name, source in (("procfs", procfs_source), ("ps", ps)):
        first, warm = scan_cost(node, source)
        print(f"scan for new shells, {name}: first {first:.2f} ms, then {warm:.2f} ms "
              f"(every {observe_procmon.SCAN_S:g} s)")
    print(f"{'shells':>6} {'children':>8} {'pass ms':>8} {'ppid-scan pass ms':>18} "
          f"{'ps pass ms':>11} {'monitor CPU % of a core: procfs':>32} {'ps':>6}")
    for shells, children in SETUPS:
        procs = spawn(tmp, shells, children)
        try:
            fast = pass_cost(node, procs, procfs_source)
            procfs_source.scan_all = True
            slow = pass_cost(node, procs, procfs_source)
            procfs_source.scan_all = not procfs.children_files()
            by_ps = pass_cost(node, procs, ps)
            cpu = thread_cpu(node, procs, seconds, procfs_source)
            cpu_ps = thread_cpu(node, procs, seconds, ps)
        finally:
            stop(procs)
        print(f"{shells:>6} {shells * children:>8} {fast:>8.3f} {slow:>18.3f} {by_ps:>11.3f} "
              f"{cpu:>32.3f} {cpu_ps:>6.3f}")
    node.close()


if __name__ == "__main__":
    main()
