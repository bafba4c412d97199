"""Mesh query figures (issue 6): the round trip of a query to 10, 50 and 100 real daemons on
loopback, direct and through one relay level; memory per node; how the time grows with the
node count.

Direct: a hub trusts N nodes and is connected to each.  Relayed: the hub is connected to
ceil(N/10) relays (``[query] relay = true``), each connected to its share of the other nodes,
which trust the hub but cannot reach it.  Every node holds 1,000 events of the last day.  The
hub runs ``caro query tool-usage`` (cache off); the figure is the query's ``elapsed_ms``
inside the hub's daemon (sign, send, answers verified, merge) and the wall time of the whole
command.  Daemons start in batches.  Prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_query.py [10 50 100]
"""

import dataclasses
import itertools
import json
import math
import socket
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_mesh import CARO, CONFIG, rss_kb, wait
from caro_core import peers
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.trust import TrustLevel

RUNS = 10
BATCH = 10
EVENTS = 1000
COMMANDS = ["git status", "git commit -m wip", "ls -la", "docker ps", "make test", "vim notes",
            "rm -rf build", "kubectl get pods", "curl -s localhost:8080", "python3 app.py"]


#: listen ports below the kernel's ephemeral range: a hub's hundreds of outgoing connections
#: would otherwise sometimes take a port before the node meant to listen on it starts
_PORTS = itertools.count(int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
                         - 6000)
#: trusted but never reachable: nothing listens on the discard port
NOWHERE = "127.0.0.1:9"


def listen_port():
    for port in _PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclasses.dataclass
class Home:
    home: Path
    port: int
    node_id: str

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


def new_node(root, name, extra):
    """A home with an identity and 1,000 events, written in this process."""
    home, port = root / name, listen_port()
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(CONFIG.format(port=port)
                                      + f"[query]\ncache_ttl_s = 0\n{extra}")
    node = Node.load(home, environ={})
    now = time.time()
    shapes = [classify(node, c, timestamp=now, exit_code=0, duration_ms=20, cwd="/home/ann",
                       shell="bash", session="bash-1-1", user="ann", elevated=False,
                       caro_generated=False) for c in COMMANDS]
    insert_events(node.store, [dataclasses.replace(shapes[i % len(shapes)],
                                                   timestamp=now - 60 - i * 80)
                               for i in range(EVENTS)])
    made = Home(home, port, node.identity.node_id)
    node.close()
    return made


def trust(a, b, reachable=True):
    """``a`` trusts ``b``; only at ``b``'s address when ``reachable`` (one side of each pair
    dials: the hub dials everyone it trusts, its incoming connections are not capped)."""
    address = b.address if reachable else NOWHERE
    peers.append_static(a.home, address, b.node_id, TrustLevel.PEER)


def daemons(homes, command):
    """``caro daemon start|stop`` for every home, :data:`BATCH` at a time."""
    for i in range(0, len(homes), BATCH):
        batch = [subprocess.Popen([CARO, "daemon", command], env=dict(os.environ,
                                  CARO_HOME=str(h.home)), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for h in homes[i:i + BATCH]]
        for process in batch:
            process.wait(timeout=180)


def connected(home):
    try:
        return len(json.loads((home.home / "daemon.json").read_text()).get("mesh_connected")
                   or [])
    except (OSError, ValueError):
        return 0


def build(root, count, relayed):
    """The hub and ``count`` other nodes; returns ``(hub, others, [(node, peers expected)])``."""
    hub = new_node(root, "hub", "")
    if not relayed:
        others = [new_node(root, f"n{i}", "") for i in range(count)]
        for other in others:
            trust(hub, other)
            trust(other, hub, reachable=False)
        return hub, others, [(hub, count)]
    relays = [new_node(root, f"r{i}", "relay = true\n") for i in range(math.ceil(count / 10))]
    leaves = [new_node(root, f"l{i}", "") for i in range(count - len(relays))]
    shape = [(hub, len(relays))]
    for j, relay in enumerate(relays):
        trust(hub, relay)
        trust(relay, hub, reachable=False)
        mine = leaves[j::len(relays)]
        for leaf in mine:
            trust(relay, leaf)
            trust(leaf, relay, reachable=False)
            trust(leaf, hub, reachable=False)  # trusts the hub's queries, reached via a relay
        shape.append((relay, len(mine) + 1))
    return hub, relays + leaves, shape


def measure(count, relayed):
    root = Path(tempfile.mkdtemp(prefix=f"caro-bench-query-{count}-"))
    hub, others, shape = build(root, count, relayed)
    everyone = [hub, *others]
    try:
        t0 = time.perf_counter()
        daemons(everyone, "start")
        started = time.perf_counter() - t0
        ready = wait(lambda: all(connected(h) >= n for h, n in shape), 180)
        inside, wall, answered = [], [], []
        for _ in range(RUNS):
            t1 = time.perf_counter()
            out = subprocess.run([CARO, "query", "tool-usage", "--json", "--timeout", "20"],
                                 env=dict(os.environ, CARO_HOME=str(hub.home)),
                                 capture_output=True, text=True, timeout=120)
            wall.append((time.perf_counter() - t1) * 1000)
            result = json.loads(out.stdout)
            inside.append(result["elapsed_ms"])
            answered.append(len(result["contributors"]) - 1)
        inside, wall = inside[1:], wall[1:]  # the first query warms caches up
        pids = [json.loads((h.home / "daemon.json").read_text())["pid"] for h in everyone]
        rss = [rss_kb(pid) / 1024 for pid in pids]
        return {"nodes": count, "mode": "relayed" if relayed else "direct",
                "median": statistics.median(inside), "max": max(inside),
                "wall": statistics.median(wall), "answered": min(answered),
                "hub_rss": rss[0], "node_rss": statistics.mean(rss[1:]), "start_s": started,
                "ready": ready}
    finally:
        daemons(everyone, "stop")


def main():
    counts = [int(a) for a in sys.argv[1:]] or [10, 50, 100]
    print(f"{'nodes':>5}  {'mode':8} {'median':>8} {'max':>8} {'CLI wall':>9} {'answered':>9}"
          f"  {'hub RSS':>8} {'node RSS':>9}  start")
    rows = []
    for count in counts:
        for relayed in (False, True):
            row = measure(count, relayed)
            rows.append(row)
            print(f"{row['nodes']:5d}  {row['mode']:8} {row['median']:6.1f}ms {row['max']:6.1f}ms "
                  f"{row['wall']:7.0f}ms {row['answered']:5d}/{count:<3d} {row['hub_rss']:6.1f}MB "
                  f"{row['node_rss']:7.1f}MB  {row['start_s']:.0f}s"
                  + ("" if row["ready"] else " (not all connected!)"), flush=True)
    for mode in ("direct", "relayed"):
        points = [(r["nodes"], r["median"]) for r in rows if r["mode"] == mode]
        if len(points) > 1:
            (n0, t0), (n1, t1) = points[0], points[-1]
            print(f"{mode}: {t0:.1f} ms at {n0} nodes -> {t1:.1f} ms at {n1} nodes: "
                  f"{(t1 - t0) / (n1 - n0):.2f} ms per added node "
                  f"(x{t1 / t0:.1f} time for x{n1 / n0:.0f} nodes)")


if __name__ == "__main__":
    main()
