"""Subnet scan: propose every host of ``[discovery] subnet_cidrs`` that accepts a TCP connection
on the mesh port.

Off unless ``"subnet"`` is in ``[discovery] methods``.  The scan is bounded
(``subnet_max_hosts`` addresses in all, checked when the daemon starts) and
rate-limited (``subnet_rate`` connection attempts per second); each probe is a
plain TCP connect, closed at once, with a ``subnet_timeout_s`` timeout.  It
runs in its own thread, started the first time the mesh asks for addresses,
and repeats every ``subnet_interval_s``; the mesh is always handed the last
results at once.  A host that answers is proposed without a node id: the
mesh's introduction learns its key, and trust decides.
"""

import errno
import ipaddress
import logging
import selectors
import socket
import threading
import time

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError

log = logging.getLogger("caro.discovery")

METHOD = "subnet"
#: the longest a scan waits before looking at its stop flag again
_TICK_S = 0.2


@hookimpl
def caro_config_schema():
    """Declare the subnet scan's keys of the shared ``[discovery]`` section."""
    return {"discovery": {
        "subnet_cidrs": Setting(list, [], "networks to scan, such as \"10.1.2.0/24\"", item=str),
        "subnet_port": Setting(int, 9238, "the port probed on every host (the mesh port)"),
        "subnet_max_hosts": Setting(int, 1024, "addresses scanned at most, over all subnet_cidrs"),
        "subnet_rate": Setting(float, 20.0, "connection attempts per second at most"),
        "subnet_timeout_s": Setting(float, 0.5, "a host that has not accepted by then is skipped"),
        "subnet_interval_s": Setting(float, 300.0, "pause between two scans"),
    }}


def scan_hosts(node):
    """The addresses to probe, from ``[discovery] subnet_cidrs``; ConfigError when a setting is
    unusable or the networks hold more than ``subnet_max_hosts`` addresses."""
    settings = node.config["discovery"]
    where = f"{node.config_path}: [discovery]"
    limit = settings["subnet_max_hosts"]
    if not 1 <= settings["subnet_port"] <= 65535:
        raise ConfigError(f"{where} subnet_port: expected a port 1 to 65535, "
                          f"got {settings['subnet_port']}")
    for key in ("subnet_rate", "subnet_timeout_s"):
        if not settings[key] > 0:
            raise ConfigError(f"{where} {key}: expected a number above 0, got {settings[key]}")
    if settings["subnet_interval_s"] < 1:
        raise ConfigError(f"{where} subnet_interval_s: expected 1 or more seconds, "
                          f"got {settings['subnet_interval_s']}")
    if not settings["subnet_cidrs"]:
        raise ConfigError(f"{where} subnet_cidrs: the \"subnet\" method needs the networks to "
                          "scan, such as [\"10.1.2.0/24\"]")
    networks, total = [], 0
    for text in settings["subnet_cidrs"]:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{where} subnet_cidrs: {text!r} is not a network such as "
                              "\"10.1.2.0/24\"") from None
        if network.num_addresses > limit:
            raise ConfigError(f"{where} subnet_cidrs: {text} holds {network.num_addresses} "
                              f"addresses, more than subnet_max_hosts ({limit}); scan smaller "
                              "networks or raise subnet_max_hosts")
        total += network.num_addresses
        networks.append(network)
    if total > limit:
        raise ConfigError(f"{where} subnet_cidrs: {total} addresses in all, more than "
                          f"subnet_max_hosts ({limit}); scan fewer networks or raise "
                          "subnet_max_hosts")
    return list(dict.fromkeys(str(host) for network in networks for host in network.hosts()))


def probe(hosts, port, rate, timeout, stopping, answered):
    """Try a TCP connection to ``port`` on each of ``hosts``, starting at most ``rate`` per
    second, and call ``answered(host)`` for each that accepts within ``timeout`` seconds.

    Connections overlap (a silent host costs no more than its timeout) and are
    closed as soon as they are established; nothing is sent.  Returns when every
    host has answered or timed out, or soon after ``stopping`` is set.
    """
    pending = iter(hosts)
    exhausted = False
    next_start = time.monotonic()
    with selectors.DefaultSelector() as selector:
        try:
            while not stopping.is_set() and not (exhausted and not selector.get_map()):
                now = time.monotonic()
                if not exhausted and now >= next_start:
                    host = next(pending, None)
                    if host is None:
                        exhausted = True
                    else:
                        _start(selector, host, port, now + timeout)
                        next_start = now + 1.0 / rate
                deadlines = [key.data[1] for key in selector.get_map().values()]
                if not exhausted:
                    deadlines.append(next_start)
                wait = min([_TICK_S] + [max(0.0, d - now) for d in deadlines])
                if selector.get_map():
                    events = selector.select(wait)
                else:
                    stopping.wait(wait)
                    events = []
                for key, _ in events:
                    selector.unregister(key.fileobj)
                    if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        answered(key.data[0])
                    key.fileobj.close()
                now = time.monotonic()
                for key in list(selector.get_map().values()):
                    if key.data[1] <= now:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()


def _start(selector, host, port, deadline):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    code = sock.connect_ex((host, port))
    if code in (0, errno.EINPROGRESS):
        selector.register(sock, selectors.EVENT_WRITE, (host, deadline))
    else:  # refused or unreachable at once
        sock.close()


def _is_own(host, bound):
    """Whether ``host`` on the mesh port reaches this node's own listener ``bound``."""
    bound_host = bound[0]
    if not ipaddress.ip_address(bound_host).is_unspecified:
        return host == bound_host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, 0))  # only an address of this machine can be bound; nothing is sent
            return True
        except OSError:
            return False


class SubnetScanner:
    """The scan of one daemon: a thread started on the first request, and its last results."""

    def __init__(self, hosts, settings):
        self.hosts = hosts
        self.port = settings["subnet_port"]
        self.rate = settings["subnet_rate"]
        self.timeout = settings["subnet_timeout_s"]
        self.interval = settings["subnet_interval_s"]
        self.found = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="caro-discovery-subnet", daemon=True)

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            seen = []

            def answered(host):
                seen.append(host)
                if host not in self.found:
                    log.info("subnet scan: %s answers on port %d", host, self.port)
                    self.found = self.found + [host]

            probe(self.hosts, self.port, self.rate, self.timeout, self.stopping, answered)
            if self.stopping.is_set():
                return
            self.found = seen  # hosts that stopped answering drop out
            log.info("subnet scan of %d addresses took %.1f s: %d answered", len(self.hosts),
                     time.monotonic() - started, len(seen))
            self.stopping.wait(self.interval)

    @hookimpl
    def caro_discovery_peers(self, node, methods):
        if METHOD not in methods:
            return []
        from caro_core.peers import PeerAddress

        if self.thread.ident is None and not self.stopping.is_set():
            self.thread.start()
        bound = node.mesh.bound if node.mesh is not None else None
        return [PeerAddress(host, self.port, None, METHOD) for host in self.found
                if not (bound and bound[1] == self.port and _is_own(host, bound))]

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stopping.set()
        if self.thread.ident is not None:
            self.thread.join(timeout=5)


@hookimpl
def caro_lifecycle_start(node):
    if METHOD not in node.config["discovery"]["methods"]:
        return
    hosts = scan_hosts(node)
    node.pm.register(SubnetScanner(hosts, node.config["discovery"]),
                     name="discovery_subnet.scanner")
    log.info("subnet scan of %d addresses enabled", len(hosts))
