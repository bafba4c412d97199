"""Start-up time of `caro --help` and `caro --version` against a bare `python -c pass`.

Goal: <= 150 ms wall time on the 2-core reference machine.  Prints figures, asserts nothing.
    .venv/bin/python benchmarks/bench_startup.py [runs]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 150.0
CARO = str(Path(sys.executable).with_name("caro"))


def wall_ms(argv, env, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = dict(os.environ, CARO_HOME=tempfile.mkdtemp(prefix="caro-bench-"))
    base, _ = wall_ms([sys.executable, "-c", "pass"], env, runs)
    print(f"python -c pass      median {base:7.1f} ms")
    for argv in ([CARO, "--help"], [CARO, "--version"]):
        median, best = wall_ms(argv, env, runs)
        print(f"{' '.join(['caro'] + argv[1:]):19} median {median:7.1f} ms  best {best:6.1f} ms  "
              f"over python {median - base:6.1f} ms  goal {GOAL_MS:.0f} ms: "
              f"{median / GOAL_MS:.2f}x of budget")


if __name__ == "__main__":
    main()
