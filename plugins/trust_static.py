"""Static trust (FR-203): the peers listed in ``$CARO_HOME/peers.toml`` at their trust level.

``caro peers add HOST:PORT --id NODE_ID [--trust LEVEL]`` appends an entry;
the two nodes then exchange and pin each other's certificates themselves
(the introduction step of :mod:`caro_core.mesh`).
"""

from caro_core import hookimpl


@hookimpl
def caro_trust_decide(node, peer):
    from caro_core.peers import read_static

    for entry in read_static(node.home):
        if entry.node_id == peer.node_id:
            return entry.trust
    return None
