"""The node's cryptographic identity (FR-101…105).

An Ed25519 key in ``identity.key`` (PKCS#8 PEM, mode 0600), the node id
``caro:ed25519:<base64 public key>``, a fingerprint (hex of the first 8 bytes
of BLAKE3 of the public key) and a self-signed X.509 certificate over the same
key (``identity.crt``) that is the node's TLS identity.
"""

import base64
import datetime as dt
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import blake3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import IdentityError

NODE_ID_PREFIX = "caro:ed25519:"
KEY_FILE = "identity.key"
CERT_FILE = "identity.crt"
META_FILE = "identity.json"


def node_id_for(public_bytes):
    """The node id for a raw 32-byte Ed25519 public key."""
    return NODE_ID_PREFIX + base64.b64encode(public_bytes).decode("ascii")


def fingerprint_for(public_bytes):
    """Hex of the first 8 bytes of BLAKE3(public key): 16 characters."""
    return blake3.blake3(public_bytes).digest()[:8].hex()


def public_key_from_node_id(node_id):
    """Parse a node id back into its public key; raise :class:`IdentityError` if malformed."""
    if not isinstance(node_id, str) or not node_id.startswith(NODE_ID_PREFIX):
        raise IdentityError(f"not a Caro node id: {node_id!r} (expected {NODE_ID_PREFIX}<base64>)")
    try:
        raw = base64.b64decode(node_id[len(NODE_ID_PREFIX):], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise IdentityError(f"not a Caro node id: {node_id!r} (bad base64 key)") from None


@dataclass
class Identity:
    """A loaded identity; ``private_key`` never leaves this process."""

    private_key: Ed25519PrivateKey
    created_at: str
    home: Path

    @property
    def public_bytes(self):
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def node_id(self):
        return node_id_for(self.public_bytes)

    @property
    def fingerprint(self):
        return fingerprint_for(self.public_bytes)

    @property
    def key_path(self):
        return self.home / KEY_FILE

    @property
    def cert_path(self):
        return self.home / CERT_FILE

    def sign(self, data):
        return self.private_key.sign(data)

    def describe(self):
        """The public facts shown by ``caro identity show``."""
        return {"node_id": self.node_id, "fingerprint": self.fingerprint,
                "created_at": self.created_at, "certificate": str(self.cert_path)}


def load_or_create(home, on_created=None):
    """Load the identity in ``home``, creating it on first use.

    :param on_created: called with the new :class:`Identity` after a key was
        generated (the node uses it to write the ``IdentityCreated`` audit entry).
    """
    home = Path(home)
    key_path = home / KEY_FILE
    if not key_path.exists():
        identity = _create(home)
        if on_created:
            on_created(identity)
        return identity
    return load(home)


def read_private_key(key_path, error, unreadable_hint="",
                     malformed="is not a PEM Ed25519 private key"):
    """The Ed25519 key in ``key_path`` (PKCS#8 PEM, no passphrase).

    Raises ``error`` (a CaroError class) with one line when the file is
    readable by other users, cannot be read (``unreadable_hint`` follows the
    reason), is not a key (``malformed`` follows the path) or is another type.
    """
    try:
        mode = stat.S_IMODE(key_path.stat().st_mode)
        if mode & 0o077:
            raise error(f"{key_path} is accessible by other users (mode {mode:04o}); "
                        f"run: chmod 600 {key_path}")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as e:
        raise error(f"{key_path}: cannot read: {e.strerror}{unreadable_hint}") from None
    except (ValueError, TypeError):
        raise error(f"{key_path} {malformed}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise error(f"{key_path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load(home):
    home = Path(home)
    key = read_private_key(home / KEY_FILE, IdentityError,
                           malformed="is not a PEM Ed25519 private key; restore it from a backup "
                                     "or move it aside to create a new identity")
    try:
        created_at = json.loads((home / META_FILE).read_text())["created_at"]
    except (OSError, ValueError, KeyError):
        created_at = None
    identity = Identity(key, created_at, home)
    if not identity.cert_path.exists():
        write_certificate(identity)
    return identity


def _create(home):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    key_path = home / KEY_FILE
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load(home)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(key_path, 0o600)
    created_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    identity = Identity(key, created_at, home)
    _write_private_file(home / META_FILE,
                        json.dumps({"node_id": identity.node_id, "created_at": created_at}).encode())
    write_certificate(identity)
    return identity


def write_certificate(identity):
    """Write a self-signed certificate over the identity key to ``identity.crt``."""
    _write_private_file(identity.cert_path, certificate_pem(identity).encode(), mode=0o644)


def certificate_pem(identity):
    """A new self-signed certificate over the identity key, PEM (no extensions needed)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"caro-{identity.fingerprint}")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(identity.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(identity.private_key, None))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _write_private_file(path, data, mode=0o600):
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
