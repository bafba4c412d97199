"""Real Caro nodes for mesh tests: separate homes, daemons on loopback ports, bounded waits."""

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

from caro_core import tls, wire
from caro_core.identity import load
from caro_core.wire import MessageType
from polling import wait_for

CARO = str(Path(sys.executable).with_name("caro"))


#: the kernel's ephemeral range starts here: outgoing connections take their local ports from it
_EPHEMERAL_LOW = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
#: listen ports are handed out below that range, from a random start, each once per session
_PORT_SPAN = 8000
_next_port = itertools.count(random.randrange(_PORT_SPAN))


def free_port():
    """A loopback port free now and outside the ephemeral range: a port from that range could
    be taken as the local port of some outgoing connection before the node meant to listen on
    it binds it (that node would then run without its mesh listener)."""
    for _ in range(_PORT_SPAN):
        port = _EPHEMERAL_LOW - _PORT_SPAN + next(_next_port) % _PORT_SPAN
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


class MeshNode:
    """One node: its own CARO_HOME, a fixed mesh port, a daemon started on demand."""

    def __init__(self, root, name, config=""):
        self.name = name
        #: extra environment for every ``caro`` this node runs (its daemon included)
        self.env = {}
        self.home = root / name
        self.home.mkdir(mode=0o700)
        self.port = free_port()
        (self.home / "config.toml").write_text(
            f'[mesh]\nlisten = "127.0.0.1:{self.port}"\nping_interval_s = 1.0\nmax_backoff_s = 2.0\n'
            f'[dashboard]\nenabled = false\n{config}')
        self.node_id = json.loads(self.caro("identity", "show", "--json").stdout)["node_id"]
        self.fingerprint = json.loads(self.caro("identity", "show", "--json").stdout)["fingerprint"]
        self.address = f"127.0.0.1:{self.port}"

    def caro(self, *args, check=True, timeout=60):
        env = dict(os.environ, CARO_HOME=str(self.home), **self.env)
        result = subprocess.run([CARO, *args], capture_output=True, text=True, env=env,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"caro {' '.join(args)} on {self.name} failed "
                                 f"({result.returncode}): {result.stderr}")
        return result

    def add_peer(self, other, trust="peer"):
        self.caro("peers", "add", other.address, "--id", other.node_id, "--trust", trust)

    def start(self):
        self.caro("daemon", "start")

    def stop(self):
        self.caro("daemon", "stop", check=False)

    def pid(self):
        return self.status()["pid"]

    def status(self):
        return json.loads(self.caro("daemon", "status", "--json", check=False).stdout)

    def peers(self):
        return {p["node_id"]: p for p in json.loads(self.caro("peers", "list", "--json").stdout)}

    def connected_to(self, other):
        peer = self.peers().get(other.node_id)
        return bool(peer and peer["connected"])

    def audit(self):
        return json.loads(self.caro("audit", "export", "--format", "json").stdout)

    def audited(self, event_type, peer=None):
        return [e for e in self.audit() if e["event_type"] == event_type
                and (peer is None or e["peer"] == peer.node_id)]

    def kill(self):
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: self.status()["running"] is False, timeout=10)


def stop_all(nodes):
    for n in nodes:
        try:
            n.stop()
        except Exception:
            pid = n.status().get("pid")
            if pid:
                os.kill(pid, signal.SIGKILL)


def session_as(node, target):
    """Open an authenticated session to ``target`` with ``node``'s keys, done by hand."""
    identity = load(node.home)
    ctx = tls.client_context((identity.cert_path, identity.key_path),
                             [(target.home / "identity.crt").read_text()])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", target.port), timeout=10))
    reader = wire.FrameReader(sock)
    hello = reader.read()
    assert hello.msg_type is MessageType.HELLO
    body = {"identity": {"node_id": identity.node_id}, "versions": [1]}
    sock.sendall(wire.encode(identity, MessageType.HELLO, body, 1))
    assert reader.read().msg_type is MessageType.HELLO_ACK
    return identity, sock, reader
