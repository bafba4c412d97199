"""Start-up time of `caro --help` and `caro --version` against a bare `python -c pass`.

Goal: <= 150 ms wall time on the 2-core reference machine.  Prints figures, asserts nothing.
Wall time is the goal; the CPU time the child used (user + system) is printed too, as it moves
less when other work shares the cores.  Children run as installed: byte-code is cached
(PYTHONDONTWRITEBYTECODE would recompile every module on every run).
    .venv/bin/python benchmarks/bench_startup.py [runs]
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 150.0
CARO = str(Path(sys.executable).with_name("caro"))


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ms(argv, env, runs):
    """``(wall median, wall best, cpu median)`` in ms over ``runs`` runs, after one warm-up."""
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall, cpu = [], []
    for _ in range(runs):
        used, start = children_cpu(), time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((children_cpu() - used) * 1000)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = dict(os.environ, CARO_HOME=tempfile.mkdtemp(prefix="caro-bench-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    base, _, base_cpu = run_ms([sys.executable, "-c", "pass"], env, runs)
    print(f"python -c pass      median {base:7.1f} ms                cpu {base_cpu:6.1f} ms")
    for argv in ([CARO, "--help"], [CARO, "--version"]):
        median, best, cpu = run_ms(argv, env, runs)
        print(f"{' '.join(['caro'] + argv[1:]):19} median {median:7.1f} ms  best {best:6.1f} ms  "
              f"cpu {cpu:6.1f} ms  over python {median - base:6.1f} ms  goal {GOAL_MS:.0f} ms: "
              f"{median / GOAL_MS:.2f}x of budget")


if __name__ == "__main__":
    main()
