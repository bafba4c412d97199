"""Key rotation (FR-104): a new node key endorsed by the old one, and peers re-pinning it.

``caro identity rotate`` makes a new Ed25519 key and an *endorsement*: the old
and new node ids, the new certificate, when it happened and until when the
old id stays valid (the grace period), signed by the old key (it vouches for
the new one) and by the new key (it accepts).  The old key and certificate are
kept as ``identity.key.previous``/``identity.crt.previous``; the endorsement as
``rotation.json``.

A running daemon sends the endorsement to every connected peer in a
``KeyRotation`` message before it switches keys; a peer that was away gets it
inside the new key's introduction.  A peer checks both signatures, that the
old id is a peer it trusts and that the grace period has not ended, then pins
the new certificate with the old id's trust level (a person-grade decision,
since its configuration still names the old id), remembers the rotation (table
``rotations``) so addresses configured with the old id reach the new one, and
refuses the old id once the grace period is over.  Both sides audit
``KeyRotated``.
"""

import base64
import datetime as dt
import json
import time

from .errors import CaroError
from .store import Migration

ROTATION_FILE = "rotation.json"
PREVIOUS_SUFFIX = ".previous"
DEFAULT_GRACE_DAYS = 7
_SIGNED_FIELDS = ("old_node_id", "new_node_id", "certificate", "rotated_at", "grace_until")

MIGRATIONS = [
    Migration("core.rotation-001-rotations", """
        CREATE TABLE rotations (
            old_node_id TEXT PRIMARY KEY,
            new_node_id TEXT NOT NULL,
            grace_until REAL NOT NULL,
            endorsement TEXT NOT NULL
        );
    """),
]


class RotationError(CaroError):
    """A key rotation cannot be made, or an endorsement does not hold."""


def _signed_bytes(endorsement):
    return json.dumps({k: endorsement[k] for k in _SIGNED_FIELDS}, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def endorse(old_identity, new_identity, certificate_pem, grace_days, now=None):
    """The endorsement of ``new_identity`` by ``old_identity``, signed by both."""
    now = time.time() if now is None else now
    endorsement = {
        "old_node_id": old_identity.node_id,
        "new_node_id": new_identity.node_id,
        "certificate": certificate_pem,
        "rotated_at": now,
        "grace_until": now + grace_days * 86400,
    }
    data = _signed_bytes(endorsement)
    endorsement["old_signature"] = base64.b64encode(old_identity.sign(data)).decode("ascii")
    endorsement["new_signature"] = base64.b64encode(new_identity.sign(data)).decode("ascii")
    return endorsement


def verify(endorsement, now=None):
    """Check an endorsement's shape, both signatures, the certificate and the grace period.

    Returns it; raises :class:`RotationError` naming what is wrong.
    """
    from cryptography.exceptions import InvalidSignature

    from .identity import IdentityError, public_key_from_node_id
    from .tls import node_id_of_certificate

    now = time.time() if now is None else now
    if not isinstance(endorsement, dict) or not all(
            isinstance(endorsement.get(k), (str, float, int)) for k in _SIGNED_FIELDS
            + ("old_signature", "new_signature")):
        raise RotationError("malformed key rotation endorsement")
    try:
        data = _signed_bytes(endorsement)
        for role in ("old", "new"):
            key = public_key_from_node_id(endorsement[f"{role}_node_id"])
            key.verify(base64.b64decode(endorsement[f"{role}_signature"], validate=True), data)
    except IdentityError as e:
        raise RotationError(f"key rotation endorsement: {e}") from None
    except (ValueError, InvalidSignature):
        raise RotationError(f"key rotation of {endorsement['old_node_id']}: a signature does "
                            "not match: forged or altered") from None
    if node_id_of_certificate(str(endorsement["certificate"])) != endorsement["new_node_id"]:
        raise RotationError("key rotation endorsement: the certificate is not the new key's")
    if float(endorsement["grace_until"]) < now:
        raise RotationError(f"key rotation of {endorsement['old_node_id']}: its grace period "
                            "is over")
    return endorsement


def rotate(node, grace_days=DEFAULT_GRACE_DAYS):
    """Give ``node`` a new key endorsed by its current one; return the endorsement.

    Files are replaced so that a crash leaves either the old identity whole or
    the new one whole with the old one kept as ``*.previous``.
    """
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from .identity import (CERT_FILE, KEY_FILE, META_FILE, Identity, _write_private_file,
                           certificate_pem)

    old = node.identity
    home = node.home
    new = Identity(Ed25519PrivateKey.generate(),
                   dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), home)
    endorsement = endorse(old, new, certificate_pem(new), grace_days)
    for name in (KEY_FILE, CERT_FILE):
        os.replace(home / name, home / (name + PREVIOUS_SUFFIX))
    _write_private_file(home / ROTATION_FILE, json.dumps(endorsement).encode())
    _write_private_file(home / CERT_FILE, endorsement["certificate"].encode(), mode=0o644)
    _write_private_file(home / META_FILE, json.dumps({
        "node_id": new.node_id, "created_at": new.created_at,
        "rotated_from": old.node_id}).encode())
    _write_private_file(home / KEY_FILE, new.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    node.__dict__["identity"] = new
    node.audit.append("KeyRotated", details=f"{old.fingerprint} -> {new.fingerprint}, old key "
                                            f"valid for peers until {_iso(endorsement)}")
    return endorsement


def current_endorsement(home, now=None):
    """This node's own endorsement while its grace period lasts, else None."""
    try:
        endorsement = json.loads((home / ROTATION_FILE).read_text())
    except (OSError, ValueError):
        return None
    now = time.time() if now is None else now
    if not isinstance(endorsement, dict) or float(endorsement.get("grace_until", 0)) < now:
        return None
    return endorsement


def _iso(endorsement):
    return dt.datetime.fromtimestamp(float(endorsement["grace_until"]),
                                     dt.timezone.utc).isoformat(timespec="seconds")


def accept(node, endorsement, via):
    """Re-pin a peer's new key from a verified endorsement; return its new :class:`PeerInfo`.

    :param via: how it arrived (``session`` or ``introduction``), for the audit entry.
    :raises RotationError: the endorsement does not hold or the old id is not trusted here.
    """
    from . import peers
    from .trust import decide

    verify(endorsement)
    old_id, new_id = endorsement["old_node_id"], endorsement["new_node_id"]
    old = next((p for p in peers.known_peers(node.store, node.home) if p.node_id == old_id), None)
    if old is None:
        raise RotationError(f"key rotation of {old_id}: not a known peer")
    level = decide(node, old)
    if not level.connects:
        raise RotationError(f"key rotation of {old_id}: that node is not trusted here")
    new = peers.get(node.store, new_id) or peers.peer_from_node_id(new_id)
    new.address = new.address or old.address
    new.source = old.source
    new.trust = level
    new.decided = True  # the configuration still names the old id: this row carries the trust
    new.pending = False
    new.certificate = endorsement["certificate"]
    with node.store.transaction():
        peers.save(node.store, new)
        node.store.execute("INSERT OR REPLACE INTO rotations (old_node_id, new_node_id, "
                           "grace_until, endorsement) VALUES (?, ?, ?, ?)",
                           (old_id, new_id, float(endorsement["grace_until"]),
                            json.dumps(endorsement)))
    node.audit.append("KeyRotated", peer=old_id,
                      details=f"{old.fingerprint} rotated to {new.fingerprint} ({via}); old key "
                              f"refused after {_iso(endorsement)}")
    return new


def successor(store, node_id):
    """The node id that replaced ``node_id`` by a rotation this node accepted, else None."""
    row = store.query_one("SELECT new_node_id FROM rotations WHERE old_node_id = ?", (node_id,))
    return row[0] if row else None


def retired(store, node_id, now=None):
    """True when ``node_id`` was rotated away and its grace period is over."""
    now = time.time() if now is None else now
    row = store.query_one("SELECT grace_until FROM rotations WHERE old_node_id = ?", (node_id,))
    return row is not None and row[0] < now
