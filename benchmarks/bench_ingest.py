"""Ingest throughput: spool records -> classified, redacted, stored events.

Compares (1) storing ready events with insert_events and (2) the whole ingest
(spool parse + redaction + category + risk + store) against a bare apsw
``executemany`` of the same rows.  Goal: storage >= 0.5x of bare executemany.
    .venv/bin/python benchmarks/bench_ingest.py [events]
"""

import random
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from caro_core import rollup  # noqa: E402
from caro_core.events import MIGRATIONS, insert_events  # noqa: E402
from caro_core.ingest import ingest  # noqa: E402
from caro_core.node import Node  # noqa: E402
from caro_core.store import Store  # noqa: E402
from spooltools import spool_record, write_spool  # noqa: E402

COMMANDS = ["git status", "git commit -m 'fix parser'", "ls -la", "cd src", "make test",
            "docker ps", "kubectl get pods -n web", "vim README.md", "rm -rf build/",
            "curl -s http://intranet/health", "grep -rn TODO .", "python -m pytest -q",
            "npm run build", "cargo build --release", "ssh build-01 uptime", "sudo apt update"]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rng = random.Random(7)
    home = Path(tempfile.mkdtemp(prefix="caro-bench-")) / "home"
    home.mkdir(mode=0o700)
    now = time.time()
    lines = [f"{rng.choice(COMMANDS)} {rng.randrange(40)}" for _ in range(n)]
    write_spool(home, *[spool_record(line, start=now - n + i) for i, line in enumerate(lines)])

    node = Node.load(home, environ={})
    start = time.perf_counter()
    stored = ingest(node)
    full = time.perf_counter() - start
    assert len(stored) == n

    rows = [e.row() for e in stored]
    # the bare baseline: the events table alone, without the dashboard roll-up triggers
    bare = Store(Path(home) / "bare.db", [m for m in MIGRATIONS if m is not rollup.MIGRATION])
    columns = ("timestamp, command, exit_code, duration_ms, cwd, shell, session, user, elevated, "
               "caro_generated, user_confirmed, category, risk, reasons, redacted, source, pattern")
    start = time.perf_counter()
    with bare.transaction():
        bare.executemany(f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * 17)})", rows)
    bare_s = time.perf_counter() - start

    again = Store(Path(home) / "again.db", MIGRATIONS)
    for e in stored:
        e.id = None
    start = time.perf_counter()
    insert_events(again, stored)
    store_s = time.perf_counter() - start

    print(f"events                      {n}")
    print(f"bare apsw executemany       {n / bare_s:10.0f} events/s")
    print(f"insert_events (storage)     {n / store_s:10.0f} events/s  ratio {bare_s / store_s:.2f} (goal >= 0.5)")
    print(f"full ingest (parse+classify+redact+store) {n / full:10.0f} events/s  "
          f"ratio {bare_s / full:.3f}  ({full / n * 1e6:.1f} us/event)")


if __name__ == "__main__":
    main()
