"""Identity backup and restore: the node key in a passphrase-encrypted file (FR-105).

The backup is JSON: ``format``, ``version``, ``node_id``, ``fingerprint``,
``created_at`` and ``key``, the Ed25519 private key as PKCS#8 PEM encrypted
with the passphrase (``BestAvailableEncryption``: scrypt-derived key, AES-256).
Restoring writes the key back, with its metadata and a fresh self-signed
certificate; the node id is the same as before, so peers recognise it.
"""

import json
import os
import time

from .errors import IdentityError

FORMAT = "caro-identity-backup"
VERSION = 1
MIN_PASSPHRASE = 8


def _check_passphrase(passphrase):
    if len(passphrase) < MIN_PASSPHRASE:
        raise IdentityError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    return passphrase.encode("utf-8")


def write_backup(identity, path, passphrase, force=False):
    """Write ``identity``'s key to ``path`` encrypted with ``passphrase`` (mode 0600)."""
    from cryptography.hazmat.primitives import serialization

    secret = _check_passphrase(passphrase)
    pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret)).decode("ascii")
    data = json.dumps({"format": FORMAT, "version": VERSION, "node_id": identity.node_id,
                       "fingerprint": identity.fingerprint, "created_at": identity.created_at,
                       "key": pem}, indent=2).encode()
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise IdentityError(f"{path} exists; choose another file or pass --force") from None
    except OSError as e:
        raise IdentityError(f"{path}: cannot write: {e.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def read_backup(path, passphrase):
    """The ``(private key, metadata)`` in the backup at ``path``; IdentityError when the file
    is not a backup or the passphrase is wrong."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from .identity import node_id_for

    try:
        meta = json.loads(open(path, "rb").read())
    except OSError as e:
        raise IdentityError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError:
        raise IdentityError(f"{path} is not a Caro identity backup (not JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(
            meta.get("key"), str):
        raise IdentityError(f"{path} is not a Caro identity backup")
    if meta.get("version") != VERSION:
        raise IdentityError(f"{path}: backup version {meta.get('version')!r} is not supported")
    try:
        key = serialization.load_pem_private_key(meta["key"].encode(),
                                                 password=passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise IdentityError(f"{path}: wrong passphrase, or the backup is damaged") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    if meta.get("node_id") != node_id_for(raw):
        raise IdentityError(f"{path}: the key does not match the node id it names")
    return key, meta


def restore(home, key, meta, force=False):
    """Install ``key`` as the identity of ``home``; return the restored identity.

    An existing different identity is kept as ``identity.key.replaced-<time>``
    when ``force`` is given, else IdentityError; a damaged one is always kept aside.
    """
    from cryptography.hazmat.primitives import serialization

    from .identity import (CERT_FILE, KEY_FILE, META_FILE, Identity, _write_private_file,
                           load, write_certificate)

    key_path = home / KEY_FILE
    if key_path.exists():
        try:
            current = load(home)
        except IdentityError:  # unreadable or damaged: what the backup is for; kept aside
            current = None
        if current is not None and current.node_id == meta["node_id"]:
            return current
        if current is not None and not force:
            raise IdentityError(f"{home} already has another identity ({current.fingerprint}); "
                                "pass --force to replace it (it is kept aside)")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for name in (KEY_FILE, CERT_FILE):
            if (home / name).exists():
                os.replace(home / name, home / f"{name}.replaced-{stamp}")
    identity = Identity(key, meta.get("created_at"), home)
    _write_private_file(home / META_FILE, json.dumps(
        {"node_id": identity.node_id, "created_at": identity.created_at}).encode())
    _write_private_file(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    write_certificate(identity)
    return identity
