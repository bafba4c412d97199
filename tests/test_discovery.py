"""Discovery between real node processes on loopback: mDNS, a subnet scan, DNS-SD from a DNS
server the test runs, and Scenario 6 (static peers only: not one mDNS or DNS packet, watched
with strace).  Discovery only proposes addresses: every newcomer waits for a trust decision."""

import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from caro_core.errors import ConfigError
from caro_core.node import Node
from caro_core.peers import PeerAddress
from caro_plugins import discovery_dnssd, discovery_mdns, discovery_subnet
from conftest import CARO
from meshnodes import MeshNode, free_port, wait_for

pytestmark = pytest.mark.slow

STRACE = "/usr/bin/strace"
MDNS = '[discovery]\nmethods = ["mdns"]\nmdns_interfaces = ["127.0.0.1"]\n'


def pending(node):
    return {p["node_id"]: p for p in json.loads(node.caro("peers", "pending", "--json").stdout)}


def load(home, config):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(config)
    return Node.load(home, environ={})


def assert_one_line_error(call, *fragments):
    with pytest.raises(ConfigError) as refused:
        call()
    message = str(refused.value)
    assert "\n" not in message and "[discovery]" in message, message
    for fragment in fragments:
        assert fragment in message, message


# -- mDNS --------------------------------------------------------------------------------------

def test_mdns_nodes_find_each_other_and_connect_once_a_person_trusts_them(nodes):
    a, b = nodes("a", MDNS), nodes("b", MDNS)
    a.start()
    b.start()
    # each finds the other's announcement, introduces itself and is held pending (TOFU)
    assert wait_for(lambda: b.node_id in pending(a) and a.node_id in pending(b), timeout=30), \
        (a.peers(), b.peers())
    newcomer = pending(a)[b.node_id]
    assert newcomer["trust"] == "untrusted" and newcomer["pending"] is True
    assert "127.0.0.1" in (newcomer["remote_address"], (newcomer["address"] or "").split(":")[0])
    assert newcomer["source"] in ("tofu", "discovery")
    assert a.audited("PeerIntroduced", b) or b.audited("PeerIntroduced", a)
    assert not a.connected_to(b) and not b.connected_to(a)
    a.caro("peers", "trust", b.fingerprint, "peer")
    b.caro("peers", "trust", a.fingerprint, "peer")
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a), timeout=30)
    log = (a.home / "caro.log").read_text()
    assert f"caro-{a.fingerprint}._caro._tcp.local." in log  # announced under its fingerprint


def test_an_mdns_service_offers_its_addresses_with_the_announced_node_id(tmp_path):
    from zeroconf import ServiceInfo

    other = MeshNode(tmp_path, "other")

    def service(props, name="x"):
        return ServiceInfo(discovery_mdns.SERVICE_TYPE, f"{name}.{discovery_mdns.SERVICE_TYPE}",
                           port=4242, parsed_addresses=["127.0.0.1"], properties=props)

    txt = discovery_mdns.txt_record(other.node_id, other.fingerprint, 1)
    assert discovery_mdns.peer_from_service(service(txt), "caro:ed25519:me", 1) == [
        PeerAddress("127.0.0.1", 4242, other.node_id, "mdns")]
    assert discovery_mdns.peer_from_service(service(txt), other.node_id, 1) == []  # itself
    assert discovery_mdns.peer_from_service(service(txt), "caro:ed25519:me", 2) == []
    assert discovery_mdns.peer_from_service(service({"id": "caro:ed25519:nope"}),
                                            "caro:ed25519:me", 1) == []


def test_mdns_interfaces_must_be_ipv4_addresses(tmp_path):
    node = load(tmp_path / "h", '[discovery]\nmethods = ["mdns"]\nmdns_interfaces = ["eth0"]\n')
    assert_one_line_error(lambda: discovery_mdns.interfaces(node), "mdns_interfaces", "'eth0'")


# -- subnet scan --------------------------------------------------------------------------------

def subnet_config(port, cidrs='["127.0.0.0/29"]', extra=""):
    return (f'[discovery]\nmethods = ["subnet"]\nsubnet_cidrs = {cidrs}\nsubnet_port = {port}\n'
            f'subnet_interval_s = 1.0\n{extra}')


def test_a_subnet_scan_finds_a_node_that_connects_once_trusted_and_never_itself(nodes):
    b = nodes("b")
    a = nodes("a", subnet_config(b.port))
    with open(b.home / "config.toml", "a") as f:  # b scans its own port: it must skip itself
        f.write(subnet_config(b.port))
    b.start()
    a.start()
    assert wait_for(lambda: b.node_id in pending(a) and a.node_id in pending(b), timeout=30), \
        (a.peers(), b.peers())
    assert pending(a)[b.node_id]["address"] == b.address  # proposed without an id: learned
    assert "subnet scan: 127.0.0.1 answers on port" in (a.home / "caro.log").read_text()
    a.caro("peers", "trust", b.fingerprint, "peer")
    b.caro("peers", "trust", a.fingerprint, "peer")
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a), timeout=30)
    time.sleep(3)  # more scans and dial rounds: the found address is the connected peer
    assert len(a.audited("PeerConnected", b)) == 1, \
        "the mesh dials a connected peer again when a scan proposes its address without an id"
    assert b.node_id not in b.peers() and not b.audited("PeerIntroduced", b)


def test_a_too_large_subnet_is_a_one_line_config_error(tmp_path, nodes):
    home = tmp_path / "h"
    node = load(home, subnet_config(9238, '["10.0.0.0/8"]'))
    assert_one_line_error(lambda: discovery_subnet.scan_hosts(node), "10.0.0.0/8",
                          "16777216 addresses", "subnet_max_hosts (1024)")
    node = load(home, subnet_config(9238, '["10.0.0.0/23"]', "subnet_max_hosts = 500\n"))
    assert_one_line_error(lambda: discovery_subnet.scan_hosts(node), "10.0.0.0/23 holds 512",
                          "subnet_max_hosts (500)")
    node = load(home, subnet_config(9238, '["10.0.0.0/23", "10.0.2.0/23"]',
                                    "subnet_max_hosts = 1000\n"))
    assert_one_line_error(lambda: discovery_subnet.scan_hosts(node), "1024 addresses in all",
                          "subnet_max_hosts (1000)")
    for cidrs, fragment in (('["10.0.0.300/24"]', "'10.0.0.300/24'"), ("[]", "subnet_cidrs")):
        node = load(home, subnet_config(9238, cidrs))
        assert_one_line_error(lambda: discovery_subnet.scan_hosts(node), fragment)
    node = load(home, subnet_config(9238, extra="subnet_rate = 0\n"))
    assert_one_line_error(lambda: discovery_subnet.scan_hosts(node), "subnet_rate")
    node = load(home, subnet_config(9238, '["127.0.0.0/29", "127.0.0.4/30"]'))
    assert discovery_subnet.scan_hosts(node) == [f"127.0.0.{i}" for i in range(1, 7)]
    # the daemon says so in one line and runs without the scan
    a = nodes("a", subnet_config(9238, '["10.0.0.0/8"]'))
    a.start()
    warnings = [line for line in (a.home / "daemon.err").read_text().splitlines()
                if line.startswith("caro: warning:")]
    assert len(warnings) == 1 and "plugin 'discovery_subnet' failed to start" in warnings[0] \
        and "10.0.0.0/8 holds 16777216 addresses" in warnings[0], warnings
    assert a.status()["running"]


def test_a_probe_keeps_to_its_rate_and_reports_only_hosts_that_accept():
    port = free_port()
    listeners = []
    for host in ("127.0.0.1", "127.0.0.3", "127.0.0.6"):
        s = socket.socket()
        s.bind((host, port))
        s.listen()
        listeners.append(s)
    answered = []
    hosts = [f"127.0.0.{i}" for i in range(1, 7)]
    started = time.monotonic()
    try:
        discovery_subnet.probe(hosts, port, rate=10.0, timeout=2.0, stopping=threading.Event(),
                               answered=answered.append)
    finally:
        for s in listeners:
            s.close()
    elapsed = time.monotonic() - started
    assert sorted(answered) == ["127.0.0.1", "127.0.0.3", "127.0.0.6"]
    assert elapsed >= 5 / 10.0  # six connects at 10 per second: the last starts 0.5 s in


# -- DNS-SD -------------------------------------------------------------------------------------

class DnsServer:
    """A tiny authoritative UDP DNS server on 127.0.0.1 answering from ``zone``
    (``{name: [(type, rdata text)]}``); it counts the questions it gets."""

    def __init__(self, zone):
        import dns.name

        self.zone = {dns.name.from_text(name): records for name, records in zone.items()}
        self.questions = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        while not self.stopping.is_set():
            try:
                data, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            self.questions.append((question.name.to_text(),
                                   dns.rdatatype.to_text(question.rdtype)))
            response = dns.message.make_response(query)
            records = self.zone.get(question.name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            wanted = [text for rdtype, text in records or []
                      if rdtype == dns.rdatatype.to_text(question.rdtype)]
            if wanted:
                response.answer.append(dns.rrset.from_text_list(
                    question.name, 60, "IN", question.rdtype, wanted))
            self.sock.sendto(response.to_wire(), client)

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def dns_server():
    servers = []

    def make(zone):
        servers.append(DnsServer(zone))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def published(*nodes_and_ids, domain="caro.test."):
    """A zone publishing each ``(instance, host address, port, TXT id or None)``."""
    service = f"_caro._tcp.{domain}"
    zone = {service: [("PTR", f"{name}.{service}") for name, *_ in nodes_and_ids]}
    for name, address, port, node_id in nodes_and_ids:
        zone[f"{name}.{service}"] = [("SRV", f"0 0 {port} {name}.{domain}")] + (
            [("TXT", f'"id={node_id}" "proto=1"')] if node_id else [])
        zone[f"{name}.{domain}"] = [("A", address)]
    return zone


def dnssd_config(server, domain="caro.test", extra=""):
    return (f'[discovery]\nmethods = ["dns-sd"]\ndns_servers = ["127.0.0.1:{server.port}"]\n'
            f'dns_domain = "{domain}"\n{extra}')


def test_dns_sd_lookup_follows_ptr_srv_txt_and_the_hosts(tmp_path, dns_server):
    other = MeshNode(tmp_path, "other")
    zone = published(("alice", "127.0.0.5", 9300, other.node_id),
                     ("bob", "127.0.0.6", 9301, None),
                     ("mallory", "127.0.0.7", 9302, "caro:ed25519:not-a-key"))
    zone["gone._caro._tcp.caro.test."] = [("TXT", '"id=x"')]  # no SRV: skipped
    zone["_caro._tcp.caro.test."].append(("PTR", "gone._caro._tcp.caro.test."))
    server = dns_server(zone)
    resolver, domains = discovery_dnssd.make_resolver(load(tmp_path / "h", dnssd_config(server)))
    assert [d.to_text() for d in domains] == ["caro.test."]
    assert discovery_dnssd.lookup(resolver, domains[0]) == [
        PeerAddress("127.0.0.5", 9300, other.node_id, "dns-sd"),
        PeerAddress("127.0.0.6", 9301, None, "dns-sd"),
        PeerAddress("127.0.0.7", 9302, None, "dns-sd"),  # a malformed id is no id
    ]
    assert ("_caro._tcp.caro.test.", "PTR") in server.questions
    # a domain without records is no peers
    resolver, domains = discovery_dnssd.make_resolver(
        load(tmp_path / "h", dnssd_config(server, domain="elsewhere.test")))
    assert discovery_dnssd.lookup(resolver, domains[0]) == []


def test_dns_sd_keeps_its_last_answers_while_the_dns_is_down(tmp_path, dns_server):
    server = dns_server(published(("alice", "127.0.0.5", 9300, None)))
    resolver, domains = discovery_dnssd.make_resolver(load(tmp_path / "h", dnssd_config(server)))
    resolver.lifetime = 0.5
    lookup = discovery_dnssd.DnsSdLookup(resolver, domains, 300)
    lookup.refresh()
    assert lookup.found == [PeerAddress("127.0.0.5", 9300, None, "dns-sd")]
    server.close()
    lookup.refresh()
    assert lookup.found == [PeerAddress("127.0.0.5", 9300, None, "dns-sd")]


def test_dns_sd_settings_are_checked_in_one_line(tmp_path):
    home = tmp_path / "h"
    node = load(home, '[discovery]\nmethods = ["dns-sd"]\ndns_servers = ["dns.corp:53"]\n'
                      'dns_domain = "corp"\n')
    assert_one_line_error(lambda: discovery_dnssd.make_resolver(node), "dns_servers",
                          "'dns.corp:53'")
    node = load(home, '[discovery]\nmethods = ["dns-sd"]\ndns_servers = ["10.0.0.1"]\n'
                      'dns_domain = "a..b"\n')
    assert_one_line_error(lambda: discovery_dnssd.make_resolver(node), "dns_domain")


def test_dns_sd_proposes_the_published_node(nodes, dns_server):
    b = nodes("b")
    server = dns_server(published(("b", "127.0.0.1", b.port, b.node_id)))
    a = nodes("a", dnssd_config(server))
    b.start()
    a.start()
    assert wait_for(lambda: b.node_id in pending(a) and a.node_id in pending(b), timeout=30), \
        (a.peers(), b.peers())
    assert pending(a)[b.node_id]["address"] == b.address
    a.caro("peers", "trust", b.fingerprint, "peer")
    b.caro("peers", "trust", a.fingerprint, "peer")
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a), timeout=30)


# -- Scenario 6 ---------------------------------------------------------------------------------

#: a packet to a DNS or mDNS port, or to the mDNS multicast group, in strace's output
DNS_TRAFFIC = re.compile(r"\b(sendto|sendmsg|sendmmsg|connect)\(.*(htons\((53|5353)\)|"
                         r"224\.0\.0\.251|ff02::fb)")


@pytest.mark.parametrize("discovery, sends_mdns", [
    ("", False),  # the default: static peers only
    ('[discovery]\nmethods = ["static", "mdns"]\nmdns_interfaces = ["127.0.0.1"]\n', True),
], ids=["static-only", "control-with-mdns"])
def test_scenario_6_static_peers_only_sends_no_mdns_or_dns_packet(nodes, tmp_path, discovery,
                                                                   sends_mdns):
    p = nodes("p")
    s = nodes("s")
    # the whole daemon, dashboard included
    (s.home / "config.toml").write_text(
        f'[mesh]\nlisten = "127.0.0.1:{s.port}"\nping_interval_s = 1.0\nmax_backoff_s = 2.0\n'
        f'[dashboard]\nlisten = "127.0.0.1:0"\n{discovery}')
    s.add_peer(p)
    p.add_peer(s)
    p.start()
    trace = tmp_path / "strace.txt"
    env = dict(os.environ, CARO_HOME=str(s.home))
    traced = subprocess.Popen([STRACE, "-f", "-qq", "-e", "trace=network", "-o", str(trace),
                               CARO, "daemon", "run"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        connected = wait_for(lambda: traced.poll() is not None or s.connected_to(p), timeout=30)
        if traced.poll() is not None:
            error = traced.stderr.read().decode(errors="replace").strip()
            pytest.fail(f"strace could not run the daemon (is ptrace permitted here?): {error}")
        assert connected, s.peers()
        time.sleep(3)  # a few dial rounds and keep-alives while connected
    finally:
        if traced.poll() is None:
            s.stop()
        try:
            traced.wait(timeout=15)
        except subprocess.TimeoutExpired:
            traced.kill()
            traced.wait(timeout=5)
    lines = trace.read_text().splitlines()
    # the trace is real: it shows the mesh listener and the session with the static peer
    # (dialled by whichever node came first)
    assert any("bind(" in line and f"htons({s.port})" in line for line in lines), lines[:20]
    assert any("accept4(" in line or ("connect(" in line and f"htons({p.port})" in line)
               for line in lines), lines[:20]
    offending = [line for line in lines if DNS_TRAFFIC.search(line)]
    if sends_mdns:  # the control: the same watch does see mDNS once it is enabled
        assert any("224.0.0.251" in line for line in offending), offending
    else:
        assert not offending, offending
