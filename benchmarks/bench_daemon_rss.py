"""Resident memory of an idle daemon after start-up (every default plugin running).

Goal: <= 35 MB RSS (the seeds' bound: 50 MB).  Prints figures, asserts nothing.
    .venv/bin/python benchmarks/bench_daemon_rss.py [settle_seconds]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MB = 35.0
BOUND_MB = 50.0
CARO = str(Path(sys.executable).with_name("caro"))


def rss_mb(pid):
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main():
    settle = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    home = Path(tempfile.mkdtemp(prefix="caro-bench-"))
    (home / "config.toml").write_text('[dashboard]\nlisten = "127.0.0.1:0"\n'
                                      '[mesh]\nlisten = "127.0.0.1:0"\n')
    env = dict(os.environ, CARO_HOME=str(home))
    subprocess.run([CARO, "daemon", "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        status = json.loads(subprocess.run([CARO, "daemon", "status", "--json"], env=env,
                                           capture_output=True, text=True).stdout)
        time.sleep(settle)
        rss, peak = rss_mb(status["pid"])
        print(f"idle daemon after {settle:g} s: RSS {rss:.1f} MB (peak {peak:.1f} MB); "
              f"goal {GOAL_MB:g} MB -> ratio {rss / GOAL_MB:.2f}; seeds' bound {BOUND_MB:g} MB -> "
              f"ratio {rss / BOUND_MB:.2f}")
        print(f"services: dashboard {status['dashboard_url']}, mesh {status['mesh_listen']}")
    finally:
        subprocess.run([CARO, "daemon", "stop"], env=env, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
