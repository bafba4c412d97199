"""Daily summary build + sign over 100k events (goal <= 100 ms; seeds' bound NFR-103: 1 s).

Builds a temporary home with N events (default 100,000) spread over one UTC
day, with realistic categories and risks (a set of commands classified once by
the real plugins, then repeated with varied times, exit codes and durations),
and times :func:`caro_core.summary.build` of that day: median of R runs
(default 7), with each plugin's share.
    .venv/bin/python benchmarks/bench_summary.py [events] [runs]
"""

import dataclasses
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.summary import Period, build, collect_fields

COMMANDS = ["git status", "git commit -m 'fix parser'", "git push origin main", "git log --oneline",
            "ls -la", "cd src", "make test", "docker ps", "docker compose up -d",
            "kubectl get pods -n web", "kubectl delete pod web-1", "vim README.md", "rm -rf build/",
            "curl -s http://intranet/health", "grep -rn TODO .", "python -m pytest -q",
            "npm run build", "cargo build --release", "ssh build-01 uptime", "sudo apt update",
            "chmod -R 777 /srv/www", "git push --force origin main", "rm -rf ~/", "tar xzf pkg.tgz",
            "find . -name '*.pyc' -delete", "./deploy.sh staging", "terraform apply"]
GOAL_MS = 100
BOUND_MS = 1000


def make_home(home, n):
    home.mkdir(mode=0o700)
    node = Node.load(home, environ={})
    rng = random.Random(7)
    templates = [classify(node, c, timestamp=0, exit_code=0, duration_ms=0, cwd="/home/ann/src",
                          shell="bash", session="bash-100-1", user="ann", elevated=False,
                          caro_generated=False) for c in COMMANDS]
    day = Period.last_complete(time.time(), "daily")
    events = [dataclasses.replace(
        rng.choice(templates), timestamp=day.start + i * 86400 / n,
        exit_code=rng.choice([0, 0, 0, 0, 1, 2, None]),
        duration_ms=rng.choice([None, rng.randrange(1, 20_000)]),
        caro_generated=rng.random() < 0.03, user_confirmed=rng.random() < 0.01)
        for i in range(n)]
    insert_events(node.store, events)
    return node, day


def median_ms(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    with tempfile.TemporaryDirectory(prefix="caro-bench-") as tmp:
        run(Path(tmp) / "home", n, runs)


def run(home, n, runs):
    node, day = make_home(home, n)
    build(node, day)  # first use: identity created, statements prepared
    print(f"events in the day           {n}  ({day.describe()})")
    for impl in reversed(node.pm.hook.caro_summary_fields.get_hookimpls()):
        ms = median_ms(lambda: impl.function(node=node, period=day), runs)
        print(f"  plugin {impl.plugin_name:19} {ms:8.1f} ms")
    fields = median_ms(lambda: collect_fields(node, day), runs)
    print(f"collect fields (all plugins) {fields:7.1f} ms")
    total = median_ms(lambda: build(node, day), runs)
    print(f"daily summary build + sign  {total:8.1f} ms  (median of {runs}; "
          f"goal <= {GOAL_MS} ms: ratio {total / GOAL_MS:.2f}; seeds' bound {BOUND_MS} ms: "
          f"ratio {total / BOUND_MS:.3f})")
    node.close()


if __name__ == "__main__":
    main()
