"""Subnet trust (FR-703): a peer connecting from a configured network gets that network's level.

Follows the ADR's trust domains::

    [trust.domains]
    engineering = { subnet = "10.0.1.0/24", role = "peer" }
    security = { subnet = "10.0.2.0/24", role = "supervisor" }
    contractors = { subnet = "10.0.3.0/24", role = "untrusted" }

The address is the one the live connection comes from (``peer.remote_address``,
set by :mod:`caro_core.mesh`); the most specific matching network wins.  Host
names never match (nothing is resolved) and an address outside every domain
leaves the decision to the other backends.  A person's decision and the static
list speak of one node and win; this backend answers before the organisation
CA and TOFU, so an ``untrusted`` domain keeps its nodes out even when they hold
an organisation certificate, and they are not even held pending.
"""

import ipaddress

from caro_core import hookimpl
from caro_core.config import Setting


@hookimpl
def caro_config_schema():
    """Declare ``[trust] domains`` (the section is shared with the other trust backends)."""
    return {"trust": {
        "domains": Setting(dict, {}, "name -> { subnet = \"CIDR\", role = \"LEVEL\" }: nodes "
                                     "connecting from the subnet are trusted at that level"),
    }}


def domains(node):
    """The configured domains as ``(network, level, name)``, most specific first.

    ConfigError in one line naming the domain when one is malformed.
    """
    from caro_core.errors import CaroError, ConfigError
    from caro_core.trust import TrustLevel

    result = []
    for name, domain in node.config["trust"]["domains"].items():
        where = f"{node.config_path}: [trust.domains] {name}"
        if not isinstance(domain, dict) or set(domain) != {"subnet", "role"}:
            raise ConfigError(f"{where}: expected {{ subnet = \"CIDR\", role = \"LEVEL\" }}")
        subnet, role = domain["subnet"], domain["role"]
        try:
            if not isinstance(subnet, str):
                raise ValueError("not a string")
            network = ipaddress.ip_network(subnet)
        except ValueError as e:
            raise ConfigError(f"{where}: subnet {subnet!r} is not a network such as "
                              f"\"10.0.1.0/24\" ({e})") from None
        try:
            level = TrustLevel.parse(role)
        except CaroError as e:
            raise ConfigError(f"{where}: {e}") from None
        result.append((network, level, name))
    return sorted(result, key=lambda d: d[0].prefixlen, reverse=True)


def _address(text):
    """The IP address in ``text`` (IPv4-mapped IPv6 as IPv4), or None for a host name."""
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    return (address.ipv4_mapped or address) if address.version == 6 else address


@hookimpl
def caro_trust_decide(node, peer):
    if not peer.remote_address or not node.config["trust"]["domains"]:
        return None
    address = _address(peer.remote_address)
    if address is None:
        return None
    for network, level, _ in domains(node):
        if address.version == network.version and address in network:
            peer.source = "subnet"
            return level
    return None


@hookimpl
def caro_lifecycle_start(node):
    """Report malformed domains when the daemon starts."""
    domains(node)
