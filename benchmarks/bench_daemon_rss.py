"""Resident memory of an idle daemon after start-up (every default plugin running).

Goal: <= 35 MB RSS (the seeds' bound: 50 MB).  Prints figures, asserts nothing.
Besides RSS it prints, from ``/proc/PID/smaps_rollup``, the part in files
(shared libraries, mostly shared with other processes and reclaimable), PSS
(shared pages divided among the processes using them) and USS (the daemon's
own pages: what its exit would free).  With ``visits`` > 0 it then opens the
personal view that many times per period and measures again.

    .venv/bin/python benchmarks/bench_daemon_rss.py [settle_seconds] [visits]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

GOAL_MB = 35.0
BOUND_MB = 50.0
CARO = str(Path(sys.executable).with_name("caro"))


def memory_mb(pid):
    """``{"rss", "peak", "file", "pss", "uss"}`` in MB."""
    status = dict(line.split(":", 1)
                  for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    rollup = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        rollup[name] = int(value.split()[0])
    kb = {"rss": int(status["VmRSS"].split()[0]), "peak": int(status["VmHWM"].split()[0]),
          "file": int(status["RssFile"].split()[0]), "pss": rollup["Pss"],
          "uss": rollup["Private_Clean"] + rollup["Private_Dirty"]}
    return {name: value / 1024 for name, value in kb.items()}


def report(label, pid):
    m = memory_mb(pid)
    print(f"{label}: RSS {m['rss']:.1f} MB (peak {m['peak']:.1f}; in files {m['file']:.1f}); "
          f"PSS {m['pss']:.1f} MB; USS {m['uss']:.1f} MB; goal {GOAL_MB:g} MB -> ratio "
          f"{m['rss'] / GOAL_MB:.2f}; seeds' bound {BOUND_MB:g} MB -> ratio "
          f"{m['rss'] / BOUND_MB:.2f}")


def visit(home, url, visits):
    port = url.rsplit(":", 1)[1]
    token = (home / "dashboard.token").read_text().strip()
    for _ in range(visits):
        for period in ("today", "week", "month"):
            request = urllib.request.Request(f"{url}/?period={period}",
                                             headers={"Cookie": f"caro_token_{port}={token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()


def main():
    settle = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    visits = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    home = Path(tempfile.mkdtemp(prefix="caro-bench-"))
    (home / "config.toml").write_text('[dashboard]\nlisten = "127.0.0.1:0"\n'
                                      '[mesh]\nlisten = "127.0.0.1:0"\n')
    env = dict(os.environ, CARO_HOME=str(home))
    # an initialised node, as a daemon finds it after its first start (creating the key is
    # the one thing that needs the cryptography package at start-up)
    subprocess.run([CARO, "identity", "show"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([CARO, "daemon", "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        status = json.loads(subprocess.run([CARO, "daemon", "status", "--json"], env=env,
                                           capture_output=True, text=True).stdout)
        time.sleep(settle)
        report(f"idle daemon after {settle:g} s", status["pid"])
        print(f"services: dashboard {status['dashboard_url']}, mesh {status['mesh_listen']}")
        if visits:
            visit(home, status["dashboard_url"], visits)
            time.sleep(settle)
            report(f"after {visits} visits of each period", status["pid"])
    finally:
        subprocess.run([CARO, "daemon", "stop"], env=env, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
