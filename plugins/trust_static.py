"""Static trust (FR-203): the peers listed in ``$CARO_HOME/peers.toml`` at their trust level.

``caro peers add HOST:PORT --id NODE_ID [--trust LEVEL]`` appends an entry;
the two nodes then exchange and pin each other's certificates themselves
(the introduction step of :mod:`caro_core.mesh`).  A person's configuration of
one node beats every rule about many, so this backend answers first
(``tryfirst``); an entry with ``trust = "auto"`` gives only the address and
leaves the decision to the other backends (an organisation CA, TOFU).
"""

from caro_core import hookimpl


@hookimpl(tryfirst=True)
def caro_trust_decide(node, peer):
    from caro_core.peers import read_static

    for entry in read_static(node.home):
        if entry.node_id == peer.node_id:
            return entry.trust
    return None
