"""DNS-SD discovery: peers published in the organisation's own DNS (RFC 6763 records, unicast).

Off unless ``"dns-sd"`` is in ``[discovery] methods``: until then no DNS query
is made.  When on, the daemon asks ``[discovery] dns_servers`` (the system
resolver's by default) for the PTR records of ``_caro._tcp.<dns_domain>``
(the system resolver's search domains by default); each instance they name
gives SRV records (host and port) and a TXT record whose ``id=`` is the
node id the mesh will expect at that address.  Hosts are resolved through
the same servers.  Lookups run in their own thread every ``dns_interval_s``;
the mesh is handed the last answers at once, and a failed lookup keeps them.
Nothing is announced: the records are the DNS administrator's.
"""

import ipaddress
import logging
import threading

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError

log = logging.getLogger("caro.discovery")

METHOD = "dns-sd"
SERVICE = "_caro._tcp"
#: seconds one DNS question may take in all, retries included
LIFETIME_S = 5.0


@hookimpl
def caro_config_schema():
    """Declare the DNS-SD keys of the shared ``[discovery]`` section."""
    return {"discovery": {
        "dns_domain": Setting(str, "", "domain holding the _caro._tcp records (empty: the "
                                       "system resolver's search domains)"),
        "dns_servers": Setting(list, [], "DNS servers as \"IP\" or \"IP:PORT\" (empty: the "
                                         "system resolver's)", item=str),
        "dns_interval_s": Setting(float, 300.0, "pause between two lookups"),
    }}


def make_resolver(node):
    """``(resolver, domains)`` from the ``[discovery]`` settings; ConfigError when unusable.

    Reads ``/etc/resolv.conf`` when a default is needed; sends nothing.
    """
    import dns.exception
    import dns.name
    import dns.nameserver
    import dns.resolver

    from caro_core.peers import parse_address

    settings = node.config["discovery"]
    where = f"{node.config_path}: [discovery]"
    if settings["dns_interval_s"] < 1:
        raise ConfigError(f"{where} dns_interval_s: expected 1 or more seconds, "
                          f"got {settings['dns_interval_s']}")
    servers = []
    for text in settings["dns_servers"]:
        try:
            host, port = parse_address(text, default_port=53)
            servers.append(dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(host)), port))
        except (ConfigError, ValueError):
            raise ConfigError(f"{where} dns_servers: {text!r} is not \"IP\" or \"IP:PORT\" "
                              "(such as \"10.0.0.53\" or \"[fd00::53]:5353\")") from None
    system = None
    if not servers or not settings["dns_domain"]:
        try:
            system = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise ConfigError(f"{where}: the system has no DNS resolver configuration; set "
                              "dns_servers and dns_domain") from None
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = servers or system.nameservers
    resolver.lifetime = LIFETIME_S
    if settings["dns_domain"]:
        try:
            domains = [dns.name.from_text(settings["dns_domain"].strip())]
        except dns.exception.DNSException as e:
            raise ConfigError(f"{where} dns_domain: {settings['dns_domain']!r} is not a domain "
                              f"name: {e}") from None
    else:
        domains = [d for d in (system.search or [system.domain]) if d != dns.name.root]
        if not domains:
            raise ConfigError(f"{where} dns_domain: the system resolver has no search domain; "
                              "set the domain that holds the _caro._tcp records")
    return resolver, domains


def lookup(resolver, domain):
    """The :class:`caro_core.peers.PeerAddress` es the DNS publishes under ``domain``.

    A missing ``_caro._tcp`` name is no peers; a server that does not answer
    raises ``dns.exception.DNSException``.
    """
    import dns.name
    import dns.resolver

    from caro_core.peers import PeerAddress

    try:
        instances = sorted(ptr.target for ptr in resolver.resolve(
            dns.name.from_text(SERVICE, origin=domain), "PTR", search=False))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    found = []
    for instance in instances:
        node_id = _node_id(resolver, instance)
        try:
            services = resolver.resolve(instance, "SRV", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            log.warning("DNS-SD: %s has no SRV record", instance)
            continue
        for srv in sorted(services, key=lambda r: (r.priority, -r.weight)):
            if srv.target == dns.name.root:
                continue  # "no service here"
            found += [PeerAddress(host, srv.port, node_id, METHOD)
                      for host in _addresses(resolver, srv.target)]
    return found


def _node_id(resolver, instance):
    """The node id in ``instance``'s TXT record, or None (then the introduction learns it)."""
    import dns.resolver

    from caro_core.errors import IdentityError
    from caro_core.identity import public_key_from_node_id

    try:
        records = resolver.resolve(instance, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    for record in records:
        for item in record.strings:
            key, _, value = item.decode("utf-8", "replace").partition("=")
            if key.lower() == "id":
                try:
                    public_key_from_node_id(value)
                    return value
                except IdentityError as e:
                    log.warning("DNS-SD: %s: TXT id ignored: %s", instance, e)
    return None


def _addresses(resolver, target):
    import dns.resolver

    hosts = []
    for rdtype in ("A", "AAAA"):
        try:
            hosts += [r.address for r in resolver.resolve(target, rdtype, search=False)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            pass
    if not hosts:
        log.warning("DNS-SD: %s has no address", target)
    return hosts


class DnsSdLookup:
    """The lookups of one daemon: a thread started on the first request, and its last answers."""

    def __init__(self, resolver, domains, interval):
        self.resolver = resolver
        self.domains = domains
        self.interval = interval
        self.found = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="caro-discovery-dnssd", daemon=True)

    def refresh(self):
        """Look every domain up once; keep the last answers when the DNS does not answer."""
        import dns.exception

        found = []
        for domain in self.domains:
            try:
                found += lookup(self.resolver, domain)
            except dns.exception.DNSException as e:
                log.warning("DNS-SD lookup in %s failed (the last answers stay): %s", domain, e)
                return
        if found != self.found:
            log.info("DNS-SD: %s", ", ".join(map(str, found)) or "no peers published")
        self.found = found

    def run(self):
        while not self.stopping.is_set():
            try:
                self.refresh()
            except Exception:  # a malformed answer must not end discovery for good
                log.exception("DNS-SD lookup failed")
            self.stopping.wait(self.interval)

    @hookimpl
    def caro_discovery_peers(self, node, methods):
        if METHOD not in methods:
            return []
        if self.thread.ident is None and not self.stopping.is_set():
            self.thread.start()
        return list(self.found)

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stopping.set()
        if self.thread.ident is not None:
            self.thread.join(timeout=LIFETIME_S * 2)


@hookimpl
def caro_lifecycle_start(node):
    settings = node.config["discovery"]
    if METHOD not in settings["methods"]:
        return
    resolver, domains = make_resolver(node)
    node.pm.register(DnsSdLookup(resolver, domains, settings["dns_interval_s"]),
                     name="discovery_dnssd.lookup")
    log.info("DNS-SD discovery in %s", ", ".join(d.to_text() for d in domains))
