"""mDNS discovery (python-zeroconf): announce this node as ``_caro._tcp.local.`` and browse for others.

Off unless ``"mdns"`` is in ``[discovery] methods``: until then zeroconf is
not even imported and no multicast packet is sent.  When on, the daemon
announces one service per node, named after its fingerprint, with the mesh
port, the listen address and a TXT record carrying ``id`` (the node id),
``fp`` (the fingerprint) and ``proto`` (the wire protocol version), on the
IPv4 interfaces ``[discovery] mdns_interfaces`` lists (all by default).  What
the browser finds is proposed to the mesh with the announced node id, which
the mesh checks against the key the peer proves; trust still decides.
"""

import ipaddress
import logging
import threading

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError

log = logging.getLogger("caro.discovery")

METHOD = "mdns"
SERVICE_TYPE = "_caro._tcp.local."
#: how long one resolution of a found service may wait for its records
RESOLVE_TIMEOUT_MS = 3000


@hookimpl
def caro_config_schema():
    """Declare the mDNS keys of the shared ``[discovery]`` section."""
    return {"discovery": {
        "mdns_interfaces": Setting(list, [], "IPv4 addresses of the interfaces mDNS uses "
                                             "(empty: all)", item=str),
    }}


def interfaces(node):
    """``[discovery] mdns_interfaces`` as IPv4 address strings; ConfigError when one is not."""
    chosen = []
    for text in node.config["discovery"]["mdns_interfaces"]:
        try:
            chosen.append(str(ipaddress.IPv4Address(text.strip())))
        except ValueError:
            raise ConfigError(f"{node.config_path}: [discovery] mdns_interfaces: {text!r} is not "
                              "an IPv4 address (list the addresses of the interfaces to use, "
                              "such as \"192.168.1.20\")") from None
    return chosen


def txt_record(node_id, fingerprint, protocol_version):
    """The TXT properties a node announces."""
    return {"id": node_id, "fp": fingerprint, "proto": str(protocol_version)}


def peer_from_service(info, own_id, protocol_version):
    """The :class:`caro_core.peers.PeerAddress` es a resolved service offers (none when it is
    this node, speaks another protocol version or names no valid node id)."""
    from caro_core.errors import IdentityError
    from caro_core.identity import public_key_from_node_id
    from caro_core.peers import PeerAddress

    props = info.decoded_properties
    node_id = props.get("id")
    versions = (props.get("proto") or str(protocol_version)).split(",")
    if node_id == own_id or str(protocol_version) not in versions or not info.port:
        return []
    try:
        public_key_from_node_id(node_id)
    except IdentityError as e:
        log.warning("mDNS service %s ignored: %s", info.name, e)
        return []
    return [PeerAddress(host, info.port, node_id, METHOD) for host in info.parsed_addresses()]


class MdnsService:
    """This daemon's zeroconf instance: its announcement and what its browser found."""

    def __init__(self, interfaces):
        self.interfaces = interfaces
        self.found = {}  # service name -> [PeerAddress]
        self.zeroconf = None
        self.browser = None
        self.own_id = None
        self.stopping = threading.Event()
        self.thread = None

    @hookimpl
    def caro_discovery_announce(self, node, methods, listen):
        if METHOD not in methods:
            return
        # registering probes the network for about two seconds: never hold up the daemon
        self.thread = threading.Thread(target=self._start, args=(node, listen), daemon=True,
                                       name="caro-discovery-mdns")
        self.thread.start()

    def _start(self, node, listen):
        from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceInfo, Zeroconf

        from caro_core.wire import VERSION

        try:
            self.zeroconf = Zeroconf(interfaces=self.interfaces or InterfaceChoice.All,
                                     ip_version=IPVersion.V4Only)
            if self.stopping.is_set():
                return
            identity = node.identity
            self.own_id = identity.node_id
            addresses = self._addresses(listen[0])
            if not addresses:
                raise OSError("no IPv4 address to announce: set [discovery] mdns_interfaces")
            info = ServiceInfo(SERVICE_TYPE, f"caro-{identity.fingerprint}.{SERVICE_TYPE}",
                               port=listen[1], server=f"caro-{identity.fingerprint}.local.",
                               parsed_addresses=addresses,
                               properties=txt_record(identity.node_id, identity.fingerprint,
                                                     VERSION))
            self.browser = ServiceBrowser(self.zeroconf, SERVICE_TYPE, handlers=[self._changed])
            self.zeroconf.register_service(info, allow_name_change=True)
            log.info("mDNS: announcing %s at %s port %d", info.name, ", ".join(addresses),
                     listen[1])
        except Exception as e:  # no usable interface, port 5353 refused…: the mesh carries on
            log.error("mDNS discovery is off: %s", e)
            if self.zeroconf is not None:
                self.zeroconf.close()
            self.zeroconf = self.browser = None

    def _addresses(self, host):
        """The addresses to announce: the mesh's listen address, or the mDNS interfaces' when
        it listens on all of them."""
        if not ipaddress.ip_address(host).is_unspecified:
            if ipaddress.ip_address(host).is_loopback and not all(
                    ipaddress.ip_address(a).is_loopback for a in self.interfaces or ["0.0.0.0"]):
                log.warning("mDNS announces %s, which other machines cannot reach: set [mesh] "
                            "listen to an internal address", host)
            return [host]
        if self.interfaces:
            return list(self.interfaces)
        import ifaddr  # zeroconf's own interface lister

        return [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
                if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback]

    def _changed(self, zeroconf, service_type, name, state_change):
        """The browser's handler (in the browser's thread): resolve what was added or updated."""
        from zeroconf import ServiceStateChange

        from caro_core.wire import VERSION

        if state_change is ServiceStateChange.Removed:
            if self.found.pop(name, None):
                log.info("mDNS: %s left", name)
            return
        info = zeroconf.get_service_info(SERVICE_TYPE, name, timeout=RESOLVE_TIMEOUT_MS)
        if info is None:
            return
        found = peer_from_service(info, self.own_id, VERSION)
        if found and found != self.found.get(name):
            log.info("mDNS: %s offers %s", name, ", ".join(map(str, found)))
        if found:
            self.found[name] = found

    @hookimpl
    def caro_discovery_peers(self, node, methods):
        if METHOD not in methods:
            return []
        return [address for batch in list(self.found.values()) for address in batch]

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.browser is not None:
            self.browser.cancel()
        if self.zeroconf is not None:
            self.zeroconf.close()  # says goodbye: peers drop our service at once


@hookimpl
def caro_lifecycle_start(node):
    """Check the mDNS settings and get ready to announce once the mesh listens.

    Registered here, before the mesh starts (plugins registered later are
    called first), so the service hears ``caro_discovery_announce``.
    """
    if METHOD not in node.config["discovery"]["methods"]:
        return
    node.pm.register(MdnsService(interfaces(node)), name="discovery_mdns.service")
