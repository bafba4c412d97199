"""Accuracy and latency of the offline engine on benchmarks/nl2cmd_cases.toml.

Builds a node in a temporary CARO_HOME and asks every request through the
``generate_offline`` plugin's ``caro_generate_commands`` hook implementation
with the ``offline`` backend (skills' recipes, which answer the same hook,
are left out: this measures Caro's own engine).  A case passes
when the top candidate matches one of its accepted regexes, when (for
``exec`` cases) running it in a scratch directory prints the expected lines,
or (for ``nothing`` cases) when no candidate comes back.  Prints accuracy per
area, overall, on the held-out slice, the top-3 accuracy, the engine's
latency per request (median and p95, warm, best of three runs) and the cost of
its first request (imports).  Then the same cases through every
``caro_generate_commands`` answer — the engine and the bundled skills' recipes,
top candidate by confidence as the copilot ranks them — to show where a recipe
displaces the engine's accepted answer (recipes whose programs are not on this
machine's PATH, for cases that name none, do not answer).
Usage: ``.venv/bin/python benchmarks/nl2cmd.py [-v]`` (``-v`` lists the failures).
"""

import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from pathlib import Path

from caro_core.generate import GenerateContext
from caro_core.node import Node

CASES = Path(__file__).resolve().parent / "nl2cmd_cases.toml"


def load_cases(path=CASES):
    """The cases of the case file, as dicts."""
    with open(path, "rb") as handle:
        return tomllib.load(handle)["case"]


def context_for(case, node=None):
    """The GenerateContext a case describes (platform, programs on PATH)."""
    platform = case.get("platform", "linux")
    return GenerateContext(platform=platform, backend="offline",
                           programs=frozenset(case.get("programs", ())),
                           gnu=platform == "linux", node=node)


def ask(engine, case, node=None, rounds=1):
    """The engine's candidates for a case, best first, and the fewest seconds it took in
    ``rounds`` tries (the best of a few runs shows the engine's cost, not the machine's noise)."""
    context = context_for(case, node)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        found = engine.caro_generate_commands(request=case["request"], context=context)
        times.append(time.perf_counter() - start)
    return sorted(found, key=lambda c: -c.confidence), min(times)


def _run(command, setup):
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["bash", "-c", setup], cwd=scratch, check=True, timeout=10)
        done = subprocess.run(["bash", "-c", command], cwd=scratch, capture_output=True, text=True,
                              timeout=10)
    return sorted(line for line in done.stdout.splitlines() if line.strip())


def accepted(case, command, with_recipes=False):
    """True when ``command`` is an accepted answer to ``case`` (from the engine alone, or
    ``with_recipes``: from every backend, the case's ``with_recipes`` regexes when it has some)."""
    if with_recipes and "with_recipes" in case:
        return command is not None and any(re.search(p, command) for p in case["with_recipes"])
    if case.get("nothing"):
        return command is None
    if command is None:
        return False
    if "exec" in case:
        spec = case["exec"]
        return _run(command, spec["setup"]) == sorted(spec["expect"])
    return any(re.search(pattern, command) for pattern in case["accept"])


def evaluate(engine, cases, node=None, with_recipes=False):
    """Per case: ``(case, top command or None, passed, passed in top 3, seconds)``."""
    results = []
    for case in cases:
        candidates, elapsed = ask(engine, case, node, rounds=3)
        top = candidates[0].command if candidates else None
        passed = accepted(case, top, with_recipes)
        top3 = passed or (not case.get("nothing")
                          and any(accepted(case, c.command, with_recipes)
                                  for c in candidates[1:3]))
        results.append((case, top, passed, top3, elapsed))
    return results


def _share(rows):
    passed = sum(r[2] for r in rows)
    return f"{passed:3d}/{len(rows):<3d} {100 * passed / len(rows):5.1f}%"


def report(results, verbose=False):
    """Print accuracy per area, overall, held-out and latency."""
    seen = [r for r in results if not r[0].get("held_out")]
    held = [r for r in results if r[0].get("held_out")]
    by_area = defaultdict(list)
    for row in seen:
        by_area[row[0]["area"]].append(row)
    print(f"{'area':12} {'tuning set':>16}   held-out")
    for area in sorted(by_area):
        held_area = [r for r in held if r[0]["area"] == area]
        print(f"{area:12} {_share(by_area[area]):>16}   {_share(held_area) if held_area else '-'}")
    print(f"{'overall':12} {_share(seen):>16}   {_share(held) if held else '-'}")
    top3 = sum(r[3] for r in results)
    print(f"top-3 (answer among the first three candidates), all cases: {top3}/{len(results)} "
          f"{100 * top3 / len(results):.1f}%")
    times = sorted(r[4] * 1000 for r in results)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"engine latency per request (hook call, warm, best of 3): median "
          f"{statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {times[-1]:.2f} ms over "
          f"{len(times)} requests")
    if verbose:
        for case, top, passed, _, _ in results:
            if not passed:
                mark = "H" if case.get("held_out") else " "
                print(f"FAIL{mark} [{case['area']}/{case.get('platform', 'linux')}] "
                      f"{case['request']!r} -> {top!r}")


class Pipeline:
    """Every plugin's ``caro_generate_commands`` answer (engine and recipes) as one answer."""

    def __init__(self, node):
        self.node = node

    def caro_generate_commands(self, request, context):
        found = self.node.pm.hook.caro_generate_commands(request=request, context=context)
        return [candidate for batch in found for candidate in batch or ()]


def main():
    verbose = "-v" in sys.argv[1:]
    cases = load_cases()
    with tempfile.TemporaryDirectory() as home:
        node = Node.load(Path(home), environ={})
        engine = node.pm.get_plugin("generate_offline")
        try:
            start = time.perf_counter()
            ask(engine, {"request": "list files"}, node)
            first = (time.perf_counter() - start) * 1000
            results = evaluate(engine, cases, node)
            with_recipes = evaluate(Pipeline(node), cases, node, with_recipes=True)
        finally:
            node.close()
    print(f"{len(cases)} cases ({sum(1 for c in cases if c.get('held_out'))} held out); "
          f"first request (imports the engine): {first:.1f} ms")
    if sys.flags.dont_write_bytecode:
        print("(PYTHONDONTWRITEBYTECODE is set: that first request also compiled the sources)")
    report(results, verbose)
    seen = [r for r in with_recipes if not r[0].get("held_out")]
    held = [r for r in with_recipes if r[0].get("held_out")]
    print(f"\nwith the bundled recipes (top candidate of every backend): tuning set {_share(seen)}"
          f"   held-out {_share(held)}")
    if verbose:
        for case, top, passed, _, _ in with_recipes:
            if not passed:
                print(f"FAIL with recipes [{case['area']}] {case['request']!r} -> {top!r}")


if __name__ == "__main__":
    main()
