"""Copilot latency: `caro "REQUEST" --json` end to end (start-up included) and the pipeline alone.

Goal: <= 100 ms end to end with the offline engine on the 2-core reference machine.
Prints figures (medians; the CPU time the children used moves less than wall time when other
work shares the cores), asserts nothing.
    .venv/bin/python benchmarks/bench_copilot.py [runs]
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 100.0
CARO = str(Path(sys.executable).with_name("caro"))
REQUESTS = (
    "list files modified today",
    "find files larger than 100MB",
    "show disk usage of this directory",
    "which process is listening on port 8080",
    "compress the src folder into src.tar.gz",
    "show the last 50 lines of app.log",
    "undo the last git commit but keep the changes",
    "fly me to the moon",  # no suggestion: the honest answer costs the same path
)


def stats(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(env, runs):
    samples, cpu, answered = [], [], 0
    for _ in range(runs):
        for request in REQUESTS:
            used, start = children_cpu(), time.perf_counter()
            done = subprocess.run([CARO, request, "--json"], env=env, capture_output=True)
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((children_cpu() - used) * 1000)
            answered += done.returncode == 0
    return samples, cpu, answered


def wall(argv, env, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return stats(samples)[0]


def pipeline(home, runs):
    """In-process: the first request (cold: imports, rule tables, PATH scan) and the rest warm."""
    from caro_core.generate import suggest
    from caro_core.node import Node

    node = Node.load(Path(home), environ={})
    start = time.perf_counter()
    suggest(node, REQUESTS[0])
    cold = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(runs):
        for request in REQUESTS:
            start = time.perf_counter()
            suggest(node, request)
            samples.append((time.perf_counter() - start) * 1000)
    node.close()
    return cold, samples


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    home = tempfile.mkdtemp(prefix="caro-bench-")
    env = dict(os.environ, CARO_HOME=home)
    # as installed: byte-code cached (PYTHONDONTWRITEBYTECODE would recompile every module per run)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for request in REQUESTS:  # warm-up: byte-code, the node's home and database
        subprocess.run([CARO, request, "--json"], env=env, capture_output=True)
    base = wall([sys.executable, "-c", "pass"], env, 10)
    helped = wall([CARO, "--help"], env, 10)
    samples, cpu, answered = end_to_end(env, runs)
    median, p95 = stats(samples)
    print(f"python -c pass                 median {base:6.1f} ms")
    print(f"caro --help                    median {helped:6.1f} ms")
    print(f'caro "REQUEST" --json          median {median:6.1f} ms  p95 {p95:6.1f} ms  '
          f"cpu median {stats(cpu)[0]:6.1f} ms  ({len(samples)} runs, {answered} answered)  "
          f"goal {GOAL_MS:.0f} ms: {median / GOAL_MS:.2f}x of budget")
    cold, warm = pipeline(home, runs)
    w_median, w_p95 = stats(warm)
    print(f"pipeline alone (in-process)    first {cold:6.1f} ms  then median {w_median:6.2f} ms  "
          f"p95 {w_p95:6.2f} ms")
    print(f"start-up share of end to end   {max(median - w_median, 0) / median:.0%}")


if __name__ == "__main__":
    main()
