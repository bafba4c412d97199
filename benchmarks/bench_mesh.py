"""Mesh figures (issue 5): handshake time, signed messages per second on one connection,
memory per connected peer, and the time for a summary to reach 10 peers.

Handshakes and message rates are measured in process between two meshes on
loopback; memory and summary spread with real daemons (one hub, N spokes).
Prints figures, asserts nothing.
    .venv/bin/python benchmarks/bench_mesh.py [peers=10]
"""

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from caro_core import peers
from caro_core.mesh import Mesh
from caro_core.node import Node
from caro_core.trust import TrustLevel
from caro_core.wire import MessageType

CARO = str(Path(sys.executable).with_name("caro"))
CONFIG = ('[mesh]\nlisten = "127.0.0.1:{port}"\nping_interval_s = 5.0\nmax_backoff_s = 2.0\n'
          '[dashboard]\nenabled = false\n[procmon]\nenabled = false\n[summary]\nenabled = false\n')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_home(root, name):
    home = root / name
    home.mkdir(mode=0o700)
    port = free_port()
    (home / "config.toml").write_text(CONFIG.format(port=port))
    return home, port


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def in_process(root):
    """Handshake time and message rate between two in-process meshes."""
    a_home, a_port = make_home(root, "a")
    b_home, b_port = make_home(root, "b")
    a, b = Node.load(a_home, environ={}), Node.load(b_home, environ={})
    peers.append_static(a_home, f"127.0.0.1:{b_port}", b.identity.node_id, TrustLevel.PEER)
    peers.append_static(b_home, f"127.0.0.1:{a_port}", a.identity.node_id, TrustLevel.PEER)
    ma = Mesh(a, f"127.0.0.1:{a_port}", dial_interval_s=3600)
    mb = Mesh(b, f"127.0.0.1:{b_port}", dial_interval_s=3600)
    ma.start()
    mb.start()
    address = peers.PeerAddress("127.0.0.1", b_port, b.identity.node_id)
    ma.connect(address).close("warm-up")  # the first connection introduces and pins
    wait(lambda: not mb.connected(), 5)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        session = ma._open_session(address)
        times.append((time.perf_counter() - t0) * 1000)
        session.close("measured")
        wait(lambda: not mb.connected(), 5)
    print(f"handshake (TCP + TLS 1.3 mutual auth + signed Hello/HelloAck), 30 runs: "
          f"median {statistics.median(times):.2f} ms, p95 "
          f"{sorted(times)[int(len(times) * 0.95) - 1]:.2f} ms")

    session = ma._open_session(address)
    count, received = 5000, threading.Semaphore(0)
    ma.handlers[MessageType.PONG] = lambda s, body: received.release()
    t0 = time.perf_counter()
    for i in range(count):
        session.send(MessageType.PING, {"ping_id": i, "ts": time.time()})
    for _ in range(count):
        received.acquire(timeout=30)
    elapsed = time.perf_counter() - t0
    rate = 2 * count / elapsed
    print(f"signed messages on one connection: {count} pings + {count} pongs in "
          f"{elapsed:.2f} s = {rate:,.0f} messages/s (each signed and verified)")
    for m in (ma, mb):
        m.stop()
    for n in (a, b):
        n.close()


def caro(home, *args):
    return subprocess.run([CARO, *args], env=dict(os.environ, CARO_HOME=str(home)),
                          capture_output=True, text=True, check=True, timeout=60)


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def daemons(root, spokes):
    """Memory per connected peer and summary spread, with real daemons."""
    hub_home, hub_port = make_home(root, "hub")  # (names differ from in_process's a and b)
    hub_id = json.loads(caro(hub_home, "identity", "show", "--json").stdout)["node_id"]
    caro(hub_home, "daemon", "start")
    hub_pid = json.loads(caro(hub_home, "daemon", "status", "--json").stdout)["pid"]
    time.sleep(2)
    rss_alone = rss_kb(hub_pid)
    homes = []
    try:
        for i in range(spokes):
            home, port = make_home(root, f"spoke{i}")
            node_id = json.loads(caro(home, "identity", "show", "--json").stdout)["node_id"]
            caro(home, "peers", "add", f"127.0.0.1:{hub_port}", "--id", hub_id)
            caro(hub_home, "peers", "add", f"127.0.0.1:{port}", "--id", node_id)
            caro(home, "daemon", "start")
            homes.append(home)
        connected = wait(lambda: _connected(hub_home) == spokes, 60)
        time.sleep(3)
        rss_all = rss_kb(hub_pid)
        print(f"hub RSS: {rss_alone / 1024:.1f} MB alone, {rss_all / 1024:.1f} MB with {spokes} "
              f"peers connected{'' if connected else ' (not all connected!)'} -> "
              f"{(rss_all - rss_alone) / spokes:.0f} kB per connected peer")

        written = json.loads(caro(hub_home, "summary", "generate", "--json").stdout)
        t0 = time.perf_counter()
        arrived = {}
        deadline = time.monotonic() + 60
        while len(arrived) < spokes and time.monotonic() < deadline:
            for home in homes:
                if home not in arrived and _has_summary(home, written["id"]):
                    arrived[home] = (time.perf_counter() - t0) * 1000
            time.sleep(0.01)
        if arrived:
            print(f"summary spread to {len(arrived)}/{spokes} peers: last arrived after "
                  f"{max(arrived.values()):.0f} ms, median {statistics.median(arrived.values()):.0f}"
                  f" ms (from 'caro summary generate' returning)")
    finally:
        for home in [hub_home] + homes:
            subprocess.run([CARO, "daemon", "stop"], env=dict(os.environ, CARO_HOME=str(home)),
                           capture_output=True, timeout=60)


def _connected(home):
    state = json.loads((home / "daemon.json").read_text()) if (home / "daemon.json").exists() \
        else {}
    return len(state.get("mesh_connected") or [])


def _has_summary(home, summary_id):
    try:
        with sqlite3.connect(f"file:{home / 'caro.db'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT 1 FROM summaries WHERE id = ?", (summary_id,)).fetchone()
    except sqlite3.Error:
        return False


def main():
    spokes = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    root = Path(tempfile.mkdtemp(prefix="caro-bench-mesh-"))
    in_process(root)
    daemons(root, spokes)


if __name__ == "__main__":
    main()
