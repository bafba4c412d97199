"""Safety-check engine cost per command: parse + category + risk over the labelled corpus.

Cold: the parse cache is cleared before every command (each line is new).
Warm: the corpus replayed ×N with the cache (a realistic history repeats itself).
Prints µs per command and the ratio to the 0.2 ms goal.  Usage:
``.venv/bin/python benchmarks/bench_check.py [N]``.
"""

import sys
import time
from pathlib import Path

from caro_core.cmdparse import clear_cache
from caro_core.plugins import make_plugin_manager
from caro_core.risk import assess

GOAL_US = 200.0
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "safety.tsv"


def commands():
    return [line.split("\t")[2] for line in CORPUS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def measure(pm, lines, rounds, cold):
    clear_cache()
    start = time.perf_counter()
    for _ in range(rounds):
        for line in lines:
            if cold:
                clear_cache()
            assess(pm, line)
    return (time.perf_counter() - start) * 1e6 / (rounds * len(lines))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    pm = make_plugin_manager(environ={})
    lines = commands()
    assess(pm, "warm up imports")
    cold = measure(pm, lines, 3, cold=True)
    warm = measure(pm, lines, rounds, cold=False)
    print(f"corpus: {len(lines)} commands, warm run x{rounds}")
    for name, us in (("cold (no cache)", cold), (f"warm (cache, x{rounds})", warm)):
        print(f"{name:22} {us:8.1f} µs/command   {us / GOAL_US:5.2f} × the 200 µs goal")


if __name__ == "__main__":
    main()
