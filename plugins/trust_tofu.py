"""Trust on first use: an unknown node that proved its key is held as *pending*.

The mesh's introduction step hands this backend a peer with the certificate
it proved to hold.  A node no backend knows is recorded as pending (at most
``[trust] max_pending`` at a time) and stays untrusted until a person runs
``caro peers trust NODE_ID LEVEL`` (or answers "Trust? [y/N]"), which pins its
certificate.  This backend runs last: static configuration, a CA or a subnet
rule decide first.
"""

import time

from caro_core import hookimpl
from caro_core.config import Setting


@hookimpl
def caro_config_schema():
    """Declare the ``[trust]`` section."""
    return {"trust": {
        "tofu": Setting(bool, True, "hold unknown nodes that prove their key as pending "
                                    "for a person to approve"),
        "max_pending": Setting(int, 100, "pending nodes kept at most; more are refused"),
    }}


@hookimpl(trylast=True)
def caro_trust_decide(node, peer):
    from caro_core import peers

    if not node.config["trust"]["tofu"] or not peer.certificate:
        return None
    if peers.get(node.store, peer.node_id) is not None:
        return None  # known: pending, or decided elsewhere
    (pending,) = node.store.query_one("SELECT count(*) FROM peers WHERE pending = 1")
    if pending >= node.config["trust"]["max_pending"]:
        return None
    peer.pending = True
    peer.source = "tofu"
    peer.first_seen = time.time()
    peers.save(node.store, peer)
    node.audit.append("TrustChanged", peer=peer.node_id,
                      details=f"pending: new node {peer.fingerprint} from "
                              f"{peer.remote_address or 'unknown address'}")
    return None
