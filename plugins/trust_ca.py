"""Organisation CA trust: a peer whose certificate chains to the installed root is trusted.

``caro ca install CERT --root ROOT.crt`` puts the organisation root in the
home (:mod:`caro_core.ca`).  The root is then an anchor of both TLS contexts,
so peers presenting a certificate it issued pass the handshake without being
pinned, and a peer whose certificate passes
:func:`caro_core.ca.check_node_certificate` for its own node id is trusted at
``[trust] ca_level``.  Any other peer is left to the other backends.
"""

import logging

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.trust import LABELS

log = logging.getLogger("caro.trust")


@hookimpl
def caro_config_schema():
    """Declare ``[trust] ca_level`` (the section is shared with the other trust backends)."""
    return {"trust": {
        "ca_level": Setting(str, "peer", "trust level of a node whose certificate the installed "
                                         "organisation root issued (caro ca install)",
                            choices=LABELS[1:]),
    }}


def _root(node):
    from caro_core.ca import CAError, installed_root

    try:
        return installed_root(node.home)
    except CAError as e:
        log.warning("organisation root ignored: %s", e)
        return None


@hookimpl
def caro_trust_anchors(node):
    from caro_core.ca import to_pem

    root = _root(node)
    return [to_pem(root)] if root is not None else []


@hookimpl
def caro_trust_decide(node, peer):
    if not peer.certificate:
        return None
    root = _root(node)
    if root is None:
        return None
    from cryptography import x509

    from caro_core.ca import CAError, check_node_certificate
    from caro_core.trust import TrustLevel

    try:
        check_node_certificate(x509.load_pem_x509_certificate(peer.certificate.encode()), root,
                               peer.node_id)
    except (CAError, ValueError) as e:
        log.debug("%s is not vouched for by the organisation root: %s", peer.fingerprint, e)
        return None
    peer.source = "ca"
    return TrustLevel.parse(node.config["trust"]["ca_level"])
