"""WASM skill call overhead: the bundled tool.kubernetes guard against a pure-Python hook.

Prints, for ``caro_classify_risk`` on a parsed command:
* loading the skill's module (the import/export check, no wasmtime);
* the first call (imports wasmtime, compiles the module);
* µs per call through the plugin object on commands never seen (each call runs
  the module), for commands the guard flags and commands it does not;
* of that, a fresh store and instance alone (every call gets one);
* µs per call on a repeated command (the guard reads nothing from the host,
  so its answers are remembered);
* the same rule as a pure-Python hook, and the ratios.
Usage: ``.venv/bin/python benchmarks/bench_wasm.py [N]``.
"""

import sys
import time

from caro_core.cmdparse import parse
from caro_core.risk import Finding, RiskLevel
from caro_core.skills import bundled_dir, make_skill, read_manifest
from caro_plugins.skill_wasm import caro_skill_plugins

FLAGGED = parse("kubectl delete namespace prod")


def python_guard(command):
    """The guard's rule written as a plain Python hook, for comparison."""
    found = []
    for c in command.simple_commands:
        if c.program != "kubectl":
            continue
        args = set(c.args)
        if "delete" in args and any(a.split("/")[0] in ("namespace", "namespaces", "ns") for a in args):
            found.append(Finding(RiskLevel.CRITICAL, "tool.kubernetes.delete-namespace", "…"))
        if "delete" in args and args & {"--all", "--all-namespaces", "-A"}:
            found.append(Finding(RiskLevel.CRITICAL, "tool.kubernetes.delete-all", "…"))
    return found


def per_call_us(function, arguments):
    start = time.perf_counter()
    for argument in arguments:
        function(argument)
    return (time.perf_counter() - start) * 1e6 / len(arguments)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    directory = bundled_dir() / "tool.kubernetes"
    skill = make_skill(directory, read_manifest(directory))

    start = time.perf_counter()
    [plugin] = caro_skill_plugins(skill)
    load_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    assert plugin.caro_classify_risk(FLAGGED), "the guard should flag a namespace delete"
    first_ms = (time.perf_counter() - start) * 1e3

    import wasmtime

    from caro_core.wasm import _engine

    pre = plugin.module._instance_pre()

    def instance_only(_):
        store = wasmtime.Store(_engine())
        store.set_limits(memory_size=plugin.module.limits.memory)
        store.set_fuel(plugin.module.limits.fuel)
        pre.instantiate(store)

    flagged = [parse(f"kubectl delete namespace team-{n}") for n in range(rounds)]
    plain = [parse(f"kubectl get pods -n team-{n}") for n in range(rounds)]
    wasm_flagged = per_call_us(plugin.caro_classify_risk, flagged)
    wasm_plain = per_call_us(plugin.caro_classify_risk, plain)
    instance = per_call_us(instance_only, [None] * rounds)
    repeated = per_call_us(plugin.caro_classify_risk, [FLAGGED] * rounds)
    python = per_call_us(python_guard, flagged * 10)

    print(f"tool.kubernetes guard, {rounds} calls each")
    print(f"load (module check, no wasmtime)   {load_ms:8.2f} ms")
    print(f"first call (import + compile)      {first_ms:8.2f} ms")
    for name, us in (("new command, flagged", wasm_flagged), ("new command, not flagged", wasm_plain),
                     ("  of which store + instance", instance), ("repeated command", repeated)):
        print(f"WASM hook, {name:27} {us:8.1f} µs/call   {us / python:6.1f} × Python")
    print(f"pure-Python hook, same rule           {python:8.1f} µs/call")


if __name__ == "__main__":
    main()
