"""Known peers: what this node has learned about other nodes, and the static peer list.

``peers.toml`` in the home is the static configuration (FR-203): one
``[[peer]]`` table per peer with ``address`` (``host:port``), ``id`` (the node
id) and ``trust``; ``caro peers add`` appends to it and people may edit it.
``trust = "auto"`` (:data:`AUTO`) makes an entry an address only: the static
backend then has no opinion, and the organisation CA or TOFU decides.

The ``peers`` table holds what the node learned: each peer's pinned
certificate (PEM), its trust level and where that came from (``static``,
``tofu``, ``ca``, ``discovery``, ``cli``), whether a TOFU decision is pending,
and when and from where it was last seen.
"""

import ipaddress
import time
import tomllib
from dataclasses import dataclass, replace

from .errors import ConfigError
from .store import Migration
from .trust import TrustLevel

PEERS_FILE = "peers.toml"
#: the ``trust`` of a peers.toml entry that gives the address and decides nothing
AUTO = "auto"
SOURCES = ("static", "tofu", "ca", "discovery", "cli", "subnet")

MIGRATIONS = [
    Migration("core.peers-001-peers", """
        CREATE TABLE peers (
            node_id TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            address TEXT,
            trust INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            certificate TEXT,
            pending INTEGER NOT NULL DEFAULT 0,
            decided INTEGER NOT NULL DEFAULT 0,
            first_seen REAL NOT NULL,
            last_seen REAL,
            remote_address TEXT
        );
    """),
]


@dataclass(frozen=True)
class PeerAddress:
    """An address where a peer may listen, as a discovery method proposes it."""

    host: str
    port: int
    node_id: str | None = None
    method: str = "static"

    def __str__(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass
class PeerInfo:
    """One peer as this node knows it."""

    node_id: str
    fingerprint: str
    address: str | None = None
    #: None only for a peers.toml entry with ``trust = "auto"``
    trust: TrustLevel | None = TrustLevel.UNTRUSTED
    source: str = "cli"
    certificate: str | None = None
    pending: bool = False
    #: a person decided this peer's trust (``caro peers trust|revoke``): beats every backend
    decided: bool = False
    first_seen: float | None = None
    last_seen: float | None = None
    #: the ``host`` a live connection comes from (for subnet trust)
    remote_address: str | None = None

    def to_json(self, connected=False):
        return {"node_id": self.node_id, "fingerprint": self.fingerprint, "address": self.address,
                "trust": self.trust.label if self.trust is not None else AUTO,
                "connected": connected,
                "last_seen": self.last_seen, "source": self.source, "pending": self.pending}


def parse_address(text, default_port=9238):
    """``host:port`` / ``[v6]:port`` / ``host`` → ``(host, port)``; ConfigError when malformed."""
    text = str(text).strip()
    host, _, port = text.rpartition(":") if not text.endswith("]") else (text, "", "")
    if not host:
        host, port = text, ""
    host = host.strip("[]")
    try:
        port = int(port) if port else default_port
    except ValueError:
        raise ConfigError(f"bad address {text!r}: the port must be a number") from None
    if not host or not 0 <= port <= 65535:
        raise ConfigError(f"bad address {text!r}: expected HOST:PORT")
    return host, port


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def peer_from_node_id(node_id, **fields):
    """A :class:`PeerInfo` for ``node_id``; IdentityError when it is not a node id."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from .identity import fingerprint_for, public_key_from_node_id

    key = public_key_from_node_id(node_id)  # validates

    return PeerInfo(node_id, fingerprint_for(key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
                    **fields)


_COLUMNS = ("node_id", "fingerprint", "address", "trust", "source", "certificate", "pending",
            "decided", "first_seen", "last_seen", "remote_address")


def _row_to_peer(row):
    values = dict(zip(_COLUMNS, row))
    values["trust"] = TrustLevel(values["trust"])
    values["pending"] = bool(values["pending"])
    values["decided"] = bool(values["decided"])
    return PeerInfo(**values)


def get(store, node_id):
    row = store.query_one(f"SELECT {', '.join(_COLUMNS)} FROM peers WHERE node_id = ?", (node_id,))
    return _row_to_peer(row) if row else None


def all_peers(store):
    return [_row_to_peer(r) for r in
            store.query(f"SELECT {', '.join(_COLUMNS)} FROM peers ORDER BY first_seen, node_id")]


def save(store, peer):
    """Insert or replace ``peer``'s row."""
    peer.first_seen = peer.first_seen or time.time()
    store.execute(f"INSERT OR REPLACE INTO peers ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                  (peer.node_id, peer.fingerprint, peer.address, int(peer.trust), peer.source,
                   peer.certificate, int(peer.pending), int(peer.decided), peer.first_seen, peer.last_seen,
                   peer.remote_address))


def touch(store, node_id, remote_address):
    store.execute("UPDATE peers SET last_seen = ?, remote_address = ? WHERE node_id = ?",
                  (time.time(), remote_address, node_id))


def anchors(store):
    """The pinned certificates of every peer not pending and not refused by a person.

    A pinned peer's row keeps trust 0 unless a person decided (the backends
    decide afresh on each connection), so ``trust > 0`` alone would drop every
    static peer's certificate whenever the contexts are rebuilt.
    """
    return [pem for (pem,) in store.query(
        "SELECT certificate FROM peers WHERE certificate IS NOT NULL AND pending = 0 "
        "AND NOT (decided = 1 AND trust = 0)")]


def known_peers(store, home):
    """Every peer a node knows: those in its store, then ``peers.toml`` entries not met yet."""
    known = {p.node_id: p for p in all_peers(store)}
    for entry in read_static(home):
        stored = known.get(entry.node_id)
        if stored is None:
            known[entry.node_id] = entry
        else:
            stored.address = stored.address or entry.address
            if stored.source in ("tofu", "discovery") and not stored.decided:
                stored.source = "static"
    return list(known.values())


def find_known(store, home, text):
    """The :class:`PeerInfo` a person means by ``text``: a node id (known or not), or the
    fingerprint prefix of exactly one known peer; CaroError otherwise."""
    from .errors import CaroError

    if text.startswith("caro:"):
        return get(store, text) or peer_from_node_id(text)
    matches = [p for p in known_peers(store, home) if p.fingerprint.startswith(text.lower())]
    if len(matches) != 1:
        raise CaroError(f"no single known peer with fingerprint {text!r} (give the node id)"
                        if not matches else f"fingerprint prefix {text!r} is ambiguous")
    return matches[0]


# -- peers.toml ---------------------------------------------------------------------------


#: peers.toml path -> (its stat signature, the entries parsed from it)
_STATIC_CACHE = {}


def read_static(home):
    """The ``[[peer]]`` entries of ``peers.toml`` as :class:`PeerInfo` (source ``static``).

    Every trust decision asks for them, so the file is parsed (each entry's key
    decoded) once per version of it; callers get their own copies to change.
    """
    path = home / PEERS_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return []
    signature = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _STATIC_CACHE.get(path)
    if cached is None or cached[0] != signature:
        cached = (signature, _parse_static(path))
        _STATIC_CACHE[path] = cached
    return [replace(peer) for peer in cached[1]]


def _parse_static(path):
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: syntax error: {e}") from None
    unknown = set(raw) - {"peer"}
    if unknown:
        raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} (only [[peer]] tables)")
    entries = raw.get("peer", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'peer' must be [[peer]] tables")
    peers = []
    for n, entry in enumerate(entries, 1):
        where = f"{path}: peer #{n}"
        if not isinstance(entry, dict) or set(entry) - {"address", "id", "trust", "name"}:
            extra = sorted(set(entry) - {"address", "id", "trust", "name"}) if isinstance(entry, dict) else []
            raise ConfigError(f"{where}: unknown key {extra[0]!r}" if extra else f"{where}: not a table")
        if not isinstance(entry.get("id"), str):
            raise ConfigError(f"{where}: 'id' (the peer's node id) is required")
        try:
            parse_address(entry.get("address", ""))
            trust = entry.get("trust", "peer")
            peer = peer_from_node_id(entry["id"], address=entry.get("address"), source="static",
                                     trust=None if trust == AUTO else TrustLevel.parse(trust))
        except Exception as e:  # IdentityError, ConfigError, CaroError: one line each
            raise ConfigError(f"{where}: {e}") from None
        peers.append(peer)
    return peers


def append_static(home, address, node_id, trust):
    """Append one ``[[peer]]`` table to ``peers.toml`` (created when missing); ``trust``
    None writes ``trust = "auto"``."""
    path = home / PEERS_FILE
    label = trust.label if trust is not None else AUTO
    block = (f'\n[[peer]]\naddress = "{address}"\nid = "{node_id}"\ntrust = "{label}"\n')
    with open(path, "a") as f:
        f.write(block)
