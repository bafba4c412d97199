"""Anomaly detection time (all five detectors) with 100k and 1M stored events.

For each size, a temporary home is filled twice:

* ``year``: the events spread over the last 365 days (busier in working hours),
  so the 30-day baseline holds about a twelfth of them — a heavy user's node;
* ``month``: all of them in the last 31 days — the worst case, where the
  baseline holds nearly every event.

and :func:`caro_core.anomaly.detect` is timed for today (since local midnight)
and for the last 7 days, median of N runs: cold (the whole-day cache
:data:`caro_core.anomaly.DAYS` emptied first, as in a new ``caro anomalies``
process) and warm (as in the daemon serving the dashboard and mesh queries);
then each detector alone, to name the slow one.

    .venv/bin/python benchmarks/bench_anomaly.py [runs] [sizes…]
"""

import dataclasses
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from caro_core.anomaly import DAYS, detect, make_window
from caro_core.dashboard import period_range
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node

COMMANDS = ["git status", "git commit -m 'wip'", "git push origin main", "ls -la", "cd src",
            "make test", "docker ps", "kubectl get pods -n web", "vim README.md", "rm old.log",
            "rm -rf build/", "curl -s http://intranet/health", "ssh build-01 uptime",
            "sudo apt update", "git push --force origin main", "chmod -R 777 /srv/www",
            "python -m pytest -q", "./deploy.sh staging"]
HOUR_WEIGHT = [1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 6, 9, 10, 10, 9, 7, 4, 3, 3, 2, 2, 1]


def build_home(n, span_days, seed=7):
    """A home with ``n`` events over the last ``span_days`` days; returns the node."""
    home = Path(tempfile.mkdtemp(prefix="caro-bench-anomaly-")) / "home"
    node = Node.load(home, environ={})
    templates = [classify(node, c, timestamp=0.0, exit_code=0, duration_ms=0, cwd="/home/ann",
                          shell="bash", session="bash-1-1", user="ann", elevated=False,
                          caro_generated=False) for c in COMMANDS]
    rng = random.Random(seed)
    now = time.time()
    midnight = now - now % 86400
    stamps = []
    while len(stamps) < n:  # days before today's midnight, hours weighted; none in the future
        stamp = (midnight - int(rng.random() * span_days) * 86400
                 + rng.choices(range(24), HOUR_WEIGHT)[0] * 3600 + rng.random() * 3600)
        if stamp < now:
            stamps.append(stamp)
    stamps.sort()  # the shell hooks record in time order: rows of a day sit together
    for offset in range(0, n, 100_000):
        insert_events(node.store, [dataclasses.replace(
            rng.choice(templates), timestamp=stamp, exit_code=rng.choice((0,) * 9 + (1,)))
            for stamp in stamps[offset:offset + 100_000]])
    return node


def median_ms(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def per_detector(node, since, runs):
    """Median ms of each detector alone, on a fresh window each run (whole days cached)."""
    figures = {}
    for impl in node.pm.hook.caro_anomaly_detect.get_hookimpls():
        figures[impl.plugin_name] = median_ms(
            lambda: impl.function(node=node, window=make_window(node, since)), runs)
    return figures


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sizes = [int(s) for s in sys.argv[2:]] or [100_000, 1_000_000]
    today, _ = period_range("today", time.time())
    for n in sizes:
        for spread, days in (("year", 365), ("month", 31)):
            started = time.perf_counter()
            node = build_home(n, days)
            print(f"{n:>9,} events over a {spread} (stored in "
                  f"{time.perf_counter() - started:.1f} s, {node.home})")
            for label, since in (("today", today), ("7 days", today - 6 * 86400)):
                found = detect(node, since)
                cold = median_ms(lambda: DAYS.values.clear() or detect(node, since), runs)
                warm = median_ms(lambda: detect(node, since), runs)
                print(f"  detect {label:6}: {cold:7.1f} ms cold (a new process: the CLI), "
                      f"{warm:6.1f} ms warm (the daemon: whole days cached), median of {runs}; "
                      f"{len(found)} anomalies")
            slow = per_detector(node, today, runs)
            print("  each detector alone, today: " + ", ".join(
                f"{name} {ms:.1f} ms" for name, ms in sorted(slow.items(), key=lambda i: -i[1])))
            node.close()
            shutil.rmtree(node.home.parent)


if __name__ == "__main__":
    main()
