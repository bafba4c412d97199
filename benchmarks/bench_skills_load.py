"""Load time of 20 installed skills at start-up (goal <= 20 ms; ADR-004 bound 100 ms).

Installs 20 knowledge + recipe + classifier skills into a temporary CARO_HOME,
then times :func:`caro_core.skills.register_skills` (what ``Node.load`` adds
for skills: read the lockfile and manifests, ask ``caro_skill_plugins``,
register the plugin objects) on a fresh plugin manager each run.  Also times
the bundled skills alone, and the first recipe request of a process (recipe
files are read then, not at start-up): without the recipe cache (every file
parsed) and with it (what every later process pays), then a further request.
Prints figures (medians and bests of several runs: shared cores are noisy),
asserts nothing.
    .venv/bin/python benchmarks/bench_skills_load.py [runs]
"""

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from caro_core.generate import GenerateContext
from caro_core.node import Node
from caro_core.skill_install import install
from caro_core.skill_recipe import CACHE_DIR
from caro_core.skills import register_skills

GOAL_MS = 20.0
COUNT = 20

MANIFEST = """\
[skill]
id = "custom.bench{n}"
name = "Bench {n}"
version = "1.0.{n}"
description = "Benchmark skill {n}"
api_version = 1
keywords = ["bench{n}"]

[provides]
knowledge = true
recipes = true

[knowledge]
topics = ["one", "two"]

[recipes]
files = ["recipes/main.toml"]

[capabilities]
terminal_exec = {{ commands = ["ls"] }}

[categories]
bench{n} = ["benchtool{n}"]

[[guardrails.rules]]
id = "wipe"
level = "high"
reason = "wipes everything"
program = "benchtool{n}"
subcommand = ["wipe"]
"""

RECIPE = """\
[[recipe]]
id = "list"
title = "List {{dir}}"
[recipe.triggers]
intents = ["bench{n} list {{dir}}"]
[recipe.parameters.dir]
type = "path"
default = "."
[[recipe.steps]]
command = "ls -la {{dir}}"
"""


def make_skills(parent, count):
    for n in range(count):
        folder = parent / f"custom.bench{n}"
        (folder / "knowledge").mkdir(parents=True)
        (folder / "recipes").mkdir()
        (folder / "skill.toml").write_text(MANIFEST.format(n=n))
        (folder / "recipes" / "main.toml").write_text(RECIPE.format(n=n))
        for topic in ("one", "two"):
            (folder / "knowledge" / f"{topic}.md").write_text(f"# {topic}\n\nText {n}.\n" * 20)
        yield folder


def time_load(home, runs):
    samples = []
    for _ in range(runs):
        node = Node.load(home, environ={})   # builds a fresh manager and loads skills once
        for skill in node.skills:            # take them off again, then time a clean load
            for plugin in skill.plugins:
                node.pm.unregister(plugin)
        start = time.perf_counter()
        skills = register_skills(node)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples), sum(s.enabled for s in skills)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    home = Path(tempfile.mkdtemp(prefix="caro-bench-skills-"))
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text("[skills]\nbundled = false\n")
    source = Path(tempfile.mkdtemp(prefix="caro-bench-src-"))
    node = Node.load(home, environ={})
    for folder in make_skills(source, COUNT):
        install(node, str(folder), grant_all=True)

    median, best, loaded = time_load(home, runs)
    print(f"{loaded} installed skills: register_skills median {median:6.2f} ms  best {best:6.2f} ms"
          f"  goal {GOAL_MS:.0f} ms: {median / GOAL_MS:.2f}x of budget")

    (home / "config.toml").write_text("")
    median_all, _, loaded_all = time_load(home, runs)
    print(f"{loaded_all} skills with the bundled ones: median {median_all:6.2f} ms")

    cold, cached, warm = [], [], []
    for _ in range(max(3, runs // 3)):
        shutil.rmtree(home / CACHE_DIR, ignore_errors=True)
        cold.append(first_request(home)[0])
        first, then = first_request(home)
        cached.append(first)
        warm.append(then)
    print(f"first recipe request of a process, {loaded_all} skills: no cache (parses every file) "
          f"median {statistics.median(cold):6.2f} ms; with the recipe cache median "
          f"{statistics.median(cached):6.2f} ms best {min(cached):6.2f} ms; next request "
          f"{statistics.median(warm):6.2f} ms")


def first_request(home):
    """``(first, second)`` request in ms on a freshly loaded node (``custom.bench7`` answers)."""
    node = Node.load(home, environ={})
    context = GenerateContext(platform="linux", backend="offline", programs=frozenset({"ls"}),
                              node=node)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        node.pm.hook.caro_generate_commands(request="bench7 list /tmp", context=context)
        times.append((time.perf_counter() - start) * 1000)
    node.close()
    return times


if __name__ == "__main__":
    main()
