"""The node's cryptographic identity (FR-101…105).

An Ed25519 key in ``identity.key`` (PKCS#8 PEM, mode 0600), the node id
``caro:ed25519:<base64 public key>``, a fingerprint (hex of the first 8 bytes
of BLAKE3 of the public key) and a self-signed X.509 certificate over the same
key (``identity.crt``) that is the node's TLS identity.

The key is parsed (and the ``cryptography`` package imported, about 9 MB of
memory) only when the node first signs: the node id is read from
``identity.json`` and checked against the key then.  A standalone daemon
never signs at idle.
"""

import base64
import datetime as dt
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import blake3

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
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = _raw_public_key(node_id)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise IdentityError(f"not a Caro node id: {node_id!r} (bad key)") from None


def _raw_public_key(node_id):
    if not isinstance(node_id, str) or not node_id.startswith(NODE_ID_PREFIX):
        raise IdentityError(f"not a Caro node id: {node_id!r} (expected {NODE_ID_PREFIX}<base64>)")
    try:
        raw = base64.b64decode(node_id[len(NODE_ID_PREFIX):], validate=True)
    except ValueError:
        raise IdentityError(f"not a Caro node id: {node_id!r} (bad base64 key)") from None
    if len(raw) != 32:
        raise IdentityError(f"not a Caro node id: {node_id!r} (not a 32-byte key)")
    return raw


def raw_public_key(private_key):
    """The raw 32-byte public key of an Ed25519 private key."""
    from cryptography.hazmat.primitives import serialization

    return private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)


@dataclass
class Identity:
    """A loaded identity; ``private_key`` never leaves this process.

    Built with ``private_key=None`` and the ``node_id`` from ``identity.json``,
    the key file is read on first use of :attr:`private_key`.
    """

    _key: object
    created_at: str
    home: Path
    _node_id: str | None = None

    @property
    def private_key(self):
        if self._key is None:
            key = read_private_key(self.key_path, IdentityError, malformed=_MALFORMED)
            if node_id_for(raw_public_key(key)) != self._node_id:
                raise IdentityError(f"{self.home / META_FILE} names another node than the key "
                                    f"in {self.key_path}; move {META_FILE} aside to re-derive it")
            self._key = key
        return self._key

    @property
    def public_bytes(self):
        if self._node_id is not None:
            return _raw_public_key(self._node_id)
        return raw_public_key(self.private_key)

    @property
    def node_id(self):
        return self._node_id or node_id_for(self.public_bytes)

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
        """The public facts shown by ``caro identity show`` (the key is read and checked)."""
        self.private_key  # noqa: B018 -- a damaged key or identity.json must not pass unseen
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
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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


_MALFORMED = ("is not a PEM Ed25519 private key; restore it from a backup or move it aside to "
              "create a new identity")
#: DER of an unencrypted PKCS#8 Ed25519 private key, up to the 32-byte seed
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")


def _well_formed(key_path):
    """True when ``key_path`` is readable by its owner only and holds one unencrypted PKCS#8
    Ed25519 key in PEM, checked without parsing it with ``cryptography``."""
    try:
        if stat.S_IMODE(key_path.stat().st_mode) & 0o077:
            return False
        lines = key_path.read_text("ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    if lines[:3] != ["-----BEGIN", "PRIVATE", "KEY-----"] or lines[-3:] != [
            "-----END", "PRIVATE", "KEY-----"]:
        return False
    try:
        der = base64.b64decode("".join(lines[3:-3]), validate=True)
    except ValueError:
        return False
    return len(der) == 48 and der.startswith(_PKCS8_ED25519)


def load(home):
    home = Path(home)
    try:
        meta = json.loads((home / META_FILE).read_text())
    except (OSError, ValueError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    created_at, node_id = meta.get("created_at"), meta.get("node_id")
    try:
        _raw_public_key(node_id)
    except IdentityError:
        node_id = None
    if node_id is not None and _well_formed(home / KEY_FILE):
        identity = Identity(None, created_at, home, node_id)  # the key is read on first use
    else:  # parse now: the precise error, or the node id from the key itself
        key = read_private_key(home / KEY_FILE, IdentityError, malformed=_MALFORMED)
        identity = Identity(key, created_at, home)
    if not identity.cert_path.exists():
        write_certificate(identity)
    return identity


def _create(home):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    from cryptography.hazmat.primitives import serialization
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
