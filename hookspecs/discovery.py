"""Discovery hooks: finding peer addresses and announcing this node.

Discovery only proposes addresses; trust still decides who may connect.
"""

from . import hookspec


@hookspec
def caro_discovery_peers(node, methods):
    """Propose peer addresses found by this discovery method.

    Called by the mesh when it (re)connects and periodically while it runs.

    :param node: the :class:`caro_core.node.Node`.
    :param methods: the method names enabled in ``[discovery] methods``; a
        plugin whose method is not listed returns an empty list and sends nothing.
    :returns: a list of :class:`caro_core.peers.PeerAddress` (host, port,
        optional node id, the method that found it).

    Collect-all.

    Example::

        @hookimpl
        def caro_discovery_peers(node, methods):
            if "hosts-file" not in methods:
                return []
            return [PeerAddress(host, 9238, None, "hosts-file") for host in read_hosts()]
    """


@hookspec
def caro_discovery_announce(node, methods, listen):
    """Announce this node so others can discover it.

    Called when the mesh listener is up; announcing stops at
    ``caro_lifecycle_stop``.

    :param node: the :class:`caro_core.node.Node`.
    :param methods: the enabled method names (announce only when yours is listed).
    :param listen: the ``(host, port)`` the mesh listener is bound to.
    :returns: nothing.

    Example::

        @hookimpl
        def caro_discovery_announce(node, methods, listen):
            if "hosts-file" in methods:
                write_own_entry(node.identity.node_id, *listen)
    """
