"""``caro peers list|add|pending|trust|revoke``: who this node talks to, and how far it trusts them."""

import sys
import time

import click

from caro_core import hookimpl


def _describe(node, peer, connected):
    from caro_core.trust import decide

    facts = peer.to_json(connected=peer.node_id in connected)
    facts["trust"] = decide(node, peer).label
    return facts


def _changed(node, peer_id, level, source, details):
    from caro_core.daemon import notify

    node.audit.append("TrustChanged", peer=peer_id, details=details)
    node.pm.hook.caro_trust_changed(node=node, node_id=peer_id, level=level, source=source)
    notify(node.home)


def _decide(node, node_id, level, source="cli"):
    from caro_core import peers

    peer = peers.get(node.store, node_id) or peers.peer_from_node_id(node_id, source=source)
    before = peer.trust.label if peer.decided else "undecided"
    peer.trust, peer.decided, peer.pending = level, True, False
    peers.save(node.store, peer)
    _changed(node, node_id, level, source, f"{before} -> {level.label} ({peer.fingerprint})")
    return peer


def _fmt_time(t):
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "never"


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node
    from caro_core.output import echo_json, echo_table
    from caro_core.trust import LABELS

    @cli.group()
    def peers():
        """Peers of this node and their trust."""

    @peers.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def list_(node, as_json):
        """Every known peer: trust, source, whether it is connected, when last seen."""
        from caro_core import peers as peer_store
        from caro_core.runtime import read_state

        connected = set(read_state(node.home).get("mesh_connected") or [])
        rows = [_describe(node, p, connected) for p in peer_store.known_peers(node.store, node.home)]
        if as_json:
            echo_json(rows)
            return
        if not rows:
            click.echo("no peers (add one with: caro peers add HOST:PORT --id NODE_ID)")
            return
        echo_table([(r["fingerprint"], r["address"] or "-", r["trust"] + (" (pending)" if r["pending"] else ""),
                     r["source"], "yes" if r["connected"] else "no", _fmt_time(r["last_seen"]))
                    for r in rows], ["fingerprint", "address", "trust", "source", "connected",
                                     "last seen"])

    @peers.command("add")
    @click.argument("address")
    @click.option("--id", "node_id", required=True, help="The peer's node id (caro:ed25519:…).")
    @click.option("--trust", "level", default="peer", show_default=True,
                  type=click.Choice(LABELS + ("auto",), case_sensitive=False),
                  help="auto: record only the address; the organisation CA or TOFU decides.")
    @pass_node
    def add(node, address, node_id, level):
        """Add a static peer to peers.toml; the nodes pin each other's certificates."""
        from caro_core import peers
        from caro_core.errors import CaroError
        from caro_core.trust import TrustLevel

        if ":" not in address.rstrip("]").rsplit("]", 1)[-1]:
            raise CaroError(f"bad address {address!r}: expected HOST:PORT")
        host, port = peers.parse_address(address)
        peer = peers.peer_from_node_id(node_id)
        if node_id == node.identity.node_id:
            raise CaroError("that is this node's own id")
        if any(p.node_id == node_id for p in peers.read_static(node.home)):
            raise CaroError(f"{peer.fingerprint} is already in {node.home / peers.PEERS_FILE}")
        trust = None if level.lower() == peers.AUTO else TrustLevel.parse(level)
        node.ensure_home()
        peers.append_static(node.home, str(peers.PeerAddress(host, port)), node_id, trust)
        if trust is None:  # decides nothing: the dial loop reads peers.toml by itself
            click.echo(f"added {peer.fingerprint} at {address}; its trust comes from the "
                       f"organisation CA or TOFU")
            return
        _changed(node, node_id, trust, "static", f"static peer {peer.fingerprint} at {address} "
                                                 f"({trust.label})")
        click.echo(f"added {peer.fingerprint} at {address} as {trust.label}")

    @peers.command("pending")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def pending(node, as_json):
        """Nodes that introduced themselves and wait for a trust decision (TOFU)."""
        from caro_core import peers as peer_store

        rows = [p.to_json() | {"remote_address": p.remote_address, "first_seen": p.first_seen}
                for p in peer_store.all_peers(node.store) if p.pending]
        if as_json:
            echo_json(rows)
        elif not rows:
            click.echo("no pending peers")
        else:
            echo_table([(r["fingerprint"], r["remote_address"] or "-", _fmt_time(r["first_seen"]),
                         r["node_id"]) for r in rows],
                       ["fingerprint", "from", "first seen", "node id"])

    @peers.command("trust")
    @click.argument("node_id", required=False)
    @click.argument("level", required=False, type=click.Choice(LABELS, case_sensitive=False))
    @pass_node
    def trust(node, node_id, level):
        """Set a peer's trust; without arguments, decide each pending peer interactively."""
        from caro_core import peers as peer_store
        from caro_core.errors import CaroError
        from caro_core.trust import TrustLevel

        if node_id is None:
            if not sys.stdin.isatty():
                raise CaroError("give NODE_ID LEVEL (interactive review needs a terminal)")
            waiting = [p for p in peer_store.all_peers(node.store) if p.pending]
            if not waiting:
                click.echo("no pending peers")
            for p in waiting:
                if click.confirm(f"New peer {p.fingerprint} ({p.node_id}) from "
                                 f"{p.remote_address or 'unknown address'}. Trust?", default=False):
                    chosen = click.prompt("Trust level", default="peer",
                                          type=click.Choice(LABELS[1:], case_sensitive=False))
                    _decide(node, p.node_id, TrustLevel.parse(chosen))
                    click.echo(f"{p.fingerprint} trusted as {chosen}")
                else:
                    _decide(node, p.node_id, TrustLevel.UNTRUSTED)
                    click.echo(f"{p.fingerprint} refused")
            return
        if level is None:
            raise CaroError("give the trust level: " + ", ".join(LABELS))
        node_id = peer_store.find_known(node.store, node.home, node_id).node_id
        peer = _decide(node, node_id, TrustLevel.parse(level))
        click.echo(f"{peer.fingerprint} is now trusted as {peer.trust.label}")

    @peers.command("revoke")
    @click.argument("node_id")
    @pass_node
    def revoke(node, node_id):
        """Drop a peer's trust; a running daemon closes its connection at once."""
        from caro_core.peers import find_known
        from caro_core.trust import TrustLevel

        node_id = find_known(node.store, node.home, node_id).node_id
        peer = _decide(node, node_id, TrustLevel.UNTRUSTED)
        click.echo(f"{peer.fingerprint} revoked")
