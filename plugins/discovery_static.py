"""Static discovery: the addresses of the peers listed in ``peers.toml``.

The default method; it reads a file and sends nothing (Scenario 6: with only
static peers configured, no mDNS or DNS packet ever leaves the node).
"""

from caro_core import hookimpl
from caro_core.config import Setting

METHODS = ("static", "mdns", "subnet", "dns-sd")


@hookimpl
def caro_config_schema():
    """Declare the ``[discovery]`` section (shared by every discovery plugin)."""
    return {"discovery": {
        "methods": Setting(list, ["static"], "discovery methods to run", item=str, choices=METHODS),
    }}


@hookimpl
def caro_discovery_peers(node, methods):
    if "static" not in methods:
        return []
    from caro_core.peers import PeerAddress, parse_address, read_static

    found = []
    for peer in read_static(node.home):
        if peer.address:
            host, port = parse_address(peer.address)
            found.append(PeerAddress(host, port, peer.node_id, "static"))
    return found
