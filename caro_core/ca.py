"""An organisation certificate authority for Caro nodes (the ``ca`` trust backend).

An *organisation root* is an Ed25519 key (``ca.key``, mode 0600) and a
self-signed CA certificate (``ca.crt``) with basicConstraints CA:TRUE pathlen 0
and keyUsage keyCertSign + cRLSign (both critical) and a subject key
identifier.  It signs *node certificates* over the Ed25519 key a node id names
(the node never hands over its private key): basicConstraints CA:FALSE and
keyUsage digitalSignature (both critical), extendedKeyUsage serverAuth +
clientAuth, a subject key identifier and an authority key identifier equal to
the root's.

A node installs its certificate and the root in its home (:data:`NODE_CERT_FILE`,
:data:`ROOT_FILE`).  From then on it presents that certificate in TLS and in
its introductions (:func:`tls_certificate_path`), and trusts a peer whose
certificate passes :func:`check_node_certificate`: the issuer name, the key
identifiers, the root's signature, the validity period and the extensions are
checked here with ``cryptography``, so a certificate that merely names the CA
is worth nothing.
"""

import datetime as dt
import os
from pathlib import Path

from .errors import CaroError

CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.crt"
#: in a node's home: the certificate the organisation root issued for its key
NODE_CERT_FILE = "identity-ca.crt"
#: in a node's home: the organisation root it trusts
ROOT_FILE = "ca-root.crt"
#: certificates start this long before they are made, for clocks a little behind
BACKDATE = dt.timedelta(minutes=5)


class CAError(CaroError):
    """A CA directory, certificate or key is missing or malformed, or a certificate does not fit."""


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _x509():
    from cryptography import x509  # heavy: loaded on use, never at start-up

    return x509


# -- the authority (run where the organisation keeps its root) -------------------------------


def create_root(directory, name, days):
    """Create an organisation root in ``directory``: ``ca.key`` (0600) and ``ca.crt``.

    Refuses when either file exists already; returns the certificate.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    x509 = _x509()
    subject = _name(name)
    directory = Path(directory)
    for path in (directory / CA_KEY_FILE, directory / CA_CERT_FILE):
        if path.exists():
            raise CAError(f"{path} exists: {directory} already holds a CA (refusing to "
                          f"overwrite it)")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise CAError(f"{directory}: cannot create the directory: {e.strerror}") from None
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, None))
    _write(directory / CA_KEY_FILE, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600, replace=False)
    _write(directory / CA_CERT_FILE, to_pem(cert).encode(), 0o644, replace=False)
    return cert


def issue(directory, node_id, days, name=None):
    """Sign a node certificate for the key of ``node_id`` with the root in ``directory``.

    The certificate is valid for ``days`` (never beyond the root); its common
    name is ``name`` or ``caro-<fingerprint>``.  Returns the certificate.
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from .identity import fingerprint_for, public_key_from_node_id

    x509 = _x509()
    public = public_key_from_node_id(node_id)
    fingerprint = fingerprint_for(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
    subject = _name(name or f"caro-{fingerprint}")
    key, root = load_authority(directory)
    try:
        check_root(root)
    except CAError as e:
        raise CAError(f"{Path(directory) / CA_CERT_FILE}: {e}") from None
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    now = _now()
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(root.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + dt.timedelta(days=days), root.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                root_ski), critical=False)
            .sign(key, None))


def load_authority(directory):
    """The root's private key and certificate from a directory made by :func:`create_root`."""
    from .identity import read_private_key

    directory = Path(directory)
    key_path = directory / CA_KEY_FILE
    key = read_private_key(key_path, CAError,
                           unreadable_hint=f" (is {directory} a CA made by caro ca init?)",
                           malformed="is not a PEM private key without a passphrase")
    cert = load_certificate(directory / CA_CERT_FILE)
    if _raw_key(cert.public_key()) != _raw_key(key.public_key()):
        raise CAError(f"{directory / CA_CERT_FILE} is not the certificate of {key_path}")
    return key, cert


def _name(common_name):
    """An X.509 name holding one common name (1 to 64 characters)."""
    from cryptography.x509.oid import NameOID

    x509 = _x509()
    if not 1 <= len(common_name) <= 64:
        raise CAError(f"the name must be 1 to 64 characters, not {len(common_name)}")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(digital_signature=False, key_cert_sign=False, crl_sign=False):
    return _x509().KeyUsage(
        digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign,
        crl_sign=crl_sign, encipher_only=False, decipher_only=False)


# -- checking certificates -----------------------------------------------------------------


def load_certificate(path):
    """Read a PEM certificate; :class:`CAError` naming ``path`` when missing or malformed."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CAError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return _x509().load_pem_x509_certificate(data)
    except ValueError:
        raise CAError(f"{path} is not a PEM certificate") from None


def _extension(cert, cls):
    x509 = _x509()
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None
    except ValueError as e:  # duplicate or undecodable extensions
        raise CAError(f"malformed extensions: {e}") from None


def _check_period(cert, now, what):
    if now < cert.not_valid_before_utc:
        raise CAError(f"{what} is not valid before {_iso(cert.not_valid_before_utc)}")
    if now > cert.not_valid_after_utc:
        raise CAError(f"{what} expired on {_iso(cert.not_valid_after_utc)}")


def check_root(root, now=None):
    """Raise :class:`CAError` unless ``root`` is a usable organisation root.

    A usable root is self-signed with an Ed25519 key, carries critical
    basicConstraints CA:TRUE, keyUsage keyCertSign and a subject key
    identifier, and is valid at ``now`` (default: the current time).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    x509 = _x509()
    if not isinstance(root.public_key(), Ed25519PublicKey):
        raise CAError("the root's key is not Ed25519")
    basic = _extension(root, x509.BasicConstraints)
    if basic is None or not basic.critical or not basic.value.ca:
        raise CAError("not a CA certificate (needs critical basicConstraints CA:TRUE)")
    usage = _extension(root, x509.KeyUsage)
    if usage is None or not usage.value.key_cert_sign:
        raise CAError("the root may not sign certificates (keyUsage lacks keyCertSign)")
    if _extension(root, x509.SubjectKeyIdentifier) is None:
        raise CAError("the root has no subject key identifier")
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CAError("the root is not self-signed") from None
    _check_period(root, now or _now(), "the root")


def check_node_certificate(cert, root, node_id=None, now=None):
    """Raise :class:`CAError` unless ``cert`` is a node certificate ``root`` issued.

    Checks, in order: the root itself (:func:`check_root`); the issuer name and
    the authority key identifier against the root's subject and subject key
    identifier; the signature under the root's key; the validity period;
    basicConstraints CA:FALSE, keyUsage digitalSignature and extendedKeyUsage
    serverAuth + clientAuth; an Ed25519 key, which must be ``node_id``'s when given.
    Returns the node id of the certificate's key.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.x509.oid import ExtendedKeyUsageOID

    x509 = _x509()
    now = now or _now()
    check_root(root, now)
    if cert.issuer != root.subject:
        raise CAError(f"not issued by this root (issuer {cert.issuer.rfc4514_string()}, root "
                      f"{root.subject.rfc4514_string()})")
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    root_ski = _extension(root, x509.SubjectKeyIdentifier).value.digest
    if aki is None or aki.value.key_identifier != root_ski:
        raise CAError("its authority key identifier is not the root's subject key identifier "
                      "(issued by another root of the same name?)")
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CAError("its signature does not verify under the root's key (it names the root "
                      "but the root did not sign it)") from None
    _check_period(cert, now, "the certificate")
    basic = _extension(cert, x509.BasicConstraints)
    if basic is None or basic.value.ca:
        raise CAError("not a node certificate (needs basicConstraints CA:FALSE)")
    usage = _extension(cert, x509.KeyUsage)
    if usage is None or not usage.value.digital_signature:
        raise CAError("its keyUsage lacks digitalSignature")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is None or not {ExtendedKeyUsageOID.SERVER_AUTH,
                           ExtendedKeyUsageOID.CLIENT_AUTH} <= set(eku.value):
        raise CAError("its extendedKeyUsage lacks serverAuth and clientAuth")
    holder = node_id_of(cert)
    if holder is None:
        raise CAError("its key is not Ed25519")
    if node_id is not None and holder != node_id:
        raise CAError(f"it holds the key of {holder}, not of {node_id}")
    return holder


def node_id_of(cert):
    """The Caro node id of a certificate's Ed25519 key; None for any other key type."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from .identity import node_id_for

    key = cert.public_key()
    return node_id_for(_raw_key(key)) if isinstance(key, Ed25519PublicKey) else None


def _raw_key(public_key):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


# -- the node's side ----------------------------------------------------------------------


def installed_root(home):
    """The organisation root installed in ``home``, or None; CAError when it is unreadable."""
    path = Path(home) / ROOT_FILE
    return load_certificate(path) if path.exists() else None


def installed_certificate(home):
    """The node certificate installed in ``home``, or None; CAError when it is unreadable."""
    path = Path(home) / NODE_CERT_FILE
    return load_certificate(path) if path.exists() else None


def install(home, identity, cert_path, root_path):
    """Check and store a node certificate and its root in ``home``.

    The root must pass :func:`check_root` and the certificate
    :func:`check_node_certificate` for ``identity``'s key; an installed pair is
    replaced.  Returns ``(certificate, root)``.
    """
    cert, root = load_certificate(cert_path), load_certificate(root_path)
    try:
        check_root(root)
    except CAError as e:
        raise CAError(f"{root_path}: {e}") from None
    try:
        check_node_certificate(cert, root, identity.node_id)
    except CAError as e:
        raise CAError(f"{cert_path}: {e}") from None
    home = Path(home)
    _write(home / ROOT_FILE, to_pem(root).encode(), 0o644)
    _write(home / NODE_CERT_FILE, to_pem(cert).encode(), 0o644)
    return cert, root


def tls_certificate_path(identity):
    """The certificate the node presents in TLS and in its introductions.

    The CA-issued certificate when one is installed, holds this node's key and
    is valid now (after ``caro identity rotate`` or once it expired it is
    skipped); otherwise the self-signed ``identity.crt``.
    """
    path = identity.home / NODE_CERT_FILE
    if not path.exists():
        return identity.cert_path
    try:
        cert = load_certificate(path)
    except CAError:
        return identity.cert_path
    now = _now()
    if node_id_of(cert) != identity.node_id or not (
            cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        return identity.cert_path
    return path


def describe(cert):
    """The facts ``caro ca show`` prints about a certificate (``node_id`` for node certificates)."""
    from cryptography.hazmat.primitives import hashes

    x509 = _x509()
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    basic = _extension(cert, x509.BasicConstraints)
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": _iso(cert.not_valid_before_utc),
            "not_after": _iso(cert.not_valid_after_utc),
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "subject_key_id": ski.value.digest.hex() if ski else None,
            "authority_key_id": aki.value.key_identifier.hex()
            if aki and aki.value.key_identifier else None,
            "node_id": None if basic and basic.value.ca else node_id_of(cert)}


def to_pem(cert):
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode("ascii")


def write_certificate(cert, path):
    """Write ``cert`` as PEM to a new file ``path`` (an existing file is never overwritten)."""
    _write(Path(path), to_pem(cert).encode(), 0o644, replace=False)


def _iso(moment):
    return moment.isoformat(timespec="seconds")


def _write(path, data, mode, replace=True):
    """Write ``data`` to ``path``: atomically replacing it, or (``replace=False``) only when new."""
    target = path.with_name(f".{path.name}.{os.getpid()}.tmp") if replace else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL),
                     mode)
    except FileExistsError:
        raise CAError(f"{path} exists (refusing to overwrite it)") from None
    except OSError as e:
        raise CAError(f"{path}: cannot write: {e.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(target, mode)
    if replace:
        os.replace(target, path)
