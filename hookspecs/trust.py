"""Trust hooks: deciding and recording trust in peer identities.

Backends: static (config), tofu (ask once, remember), ca (org root signs node
certificates).  Trust levels are :class:`caro_core.trust.TrustLevel`
(Untrusted, ShareTo, QueryFrom, Peer, Supervisor).
"""

from . import hookspec


@hookspec(firstresult=True)
def caro_trust_decide(node, peer):
    """Decide how far a peer identity is trusted.

    Called on every mesh connection after the TLS handshake and the signed
    ``Hello``, and by ``caro policy check``.

    :param node: the :class:`caro_core.node.Node`.
    :param peer: a :class:`caro_core.peers.PeerInfo` (node id, fingerprint,
        certificate, remote address).
    :returns: a :class:`caro_core.trust.TrustLevel`, or None when this backend
        has no opinion.  No answer at all means Untrusted.

    firstresult: a revocation backend runs first, fallbacks are ``trylast``.

    Example::

        @hookimpl
        def caro_trust_decide(node, peer):
            if peer.fingerprint in BLOCKLIST:
                return TrustLevel.UNTRUSTED
    """


@hookspec
def caro_trust_anchors(node):
    """Certificates the TLS context must trust.

    Called whenever the mesh builds its TLS context (start-up, after a trust
    change or revocation).

    :param node: the :class:`caro_core.node.Node`.
    :returns: a list of PEM-encoded certificates (pinned peers, an org CA).

    Collect-all.

    Example::

        @hookimpl
        def caro_trust_anchors(node):
            return [ORG_ROOT_PEM]
    """


@hookspec
def caro_trust_changed(node, node_id, level, source):
    """React to a trust change (approval, revocation, re-pin after rotation).

    Called after the change is recorded and audited.  The mesh drops a live
    connection whose trust fell to Untrusted.

    :param node: the :class:`caro_core.node.Node`.
    :param node_id: the peer's ``caro:ed25519:…`` id.
    :param level: the new :class:`caro_core.trust.TrustLevel`.
    :param source: which backend or command made the change (``static``,
        ``tofu``, ``ca``, ``cli``).
    :returns: nothing.

    Example::

        @hookimpl
        def caro_trust_changed(node, node_id, level, source):
            notify_admin(f"{node_id} is now {level.name} ({source})")
    """
