"""Trust levels (FR-701) and what each one allows.

A level is decided per peer by the trust backends (hook ``caro_trust_decide``):
static configuration, trust on first use, an organisation CA, subnets.
"""

import enum

from .errors import CaroError


class TrustLevel(enum.IntEnum):
    """How far a peer is trusted; higher is not always "more" (see the predicates)."""

    UNTRUSTED = 0
    #: we push our summaries to it; it may not query us
    SHARE_TO = 1
    #: it may query us; we push nothing
    QUERY_FROM = 2
    #: both directions
    PEER = 3
    #: may query us, sees Level-2 aggregates only and never one node's summary (FR-705)
    SUPERVISOR = 4

    @property
    def label(self):
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text):
        """``peer``, ``share-to``, ``Supervisor``… → a level; CaroError otherwise."""
        key = str(text).strip().upper().replace("-", "_")
        if key not in cls.__members__:
            names = ", ".join(level.label for level in cls)
            raise CaroError(f"unknown trust level {text!r} (one of {names})")
        return cls[key]

    @property
    def connects(self):
        return self is not TrustLevel.UNTRUSTED

    @property
    def receives_summaries(self):
        return self in (TrustLevel.SHARE_TO, TrustLevel.PEER)

    @property
    def may_query(self):
        return self in (TrustLevel.QUERY_FROM, TrustLevel.PEER, TrustLevel.SUPERVISOR)


LABELS = tuple(level.label for level in TrustLevel)


def decide(node, peer):
    """The trust level of ``peer`` (a :class:`caro_core.peers.PeerInfo`).

    A key rotated away whose grace period is over is Untrusted; then a person's
    decision recorded by ``caro peers trust|revoke`` wins; otherwise the first
    backend with an opinion (hook ``caro_trust_decide``); no opinion at all is
    Untrusted (FR-205).
    """
    from . import peers
    from .rotation import retired

    if retired(node.store, peer.node_id):
        return TrustLevel.UNTRUSTED

    known = peers.get(node.store, peer.node_id)
    if known is not None and known.decided:
        return known.trust
    level = node.pm.hook.caro_trust_decide(node=node, peer=peer)
    return TrustLevel(level) if level is not None else TrustLevel.UNTRUSTED
