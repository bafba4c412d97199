"""TLS 1.3 contexts for the mesh, and who is on the other end of a connection.

Both sides present the node's certificate (``identity.crt``, or the one an
organisation CA issued, see :mod:`caro_core.ca`) and verify the other's
against the *anchors*: the pinned certificates of trusted peers and any
organisation root.  Host names play no part: a peer is its key, and
:func:`peer_node_id` turns the certificate the handshake verified into the
node id the peer must then claim in its ``Hello``.

The server context requests a client certificate but lets a client without
one finish the handshake (``CERT_OPTIONAL``): such a connection is an
*introduction* (see :mod:`caro_core.mesh`) and may do nothing else.  A
client certificate that is presented must verify, or the handshake fails.
"""

import ssl

from .errors import CaroError


class TLSError(CaroError):
    """A TLS context could not be built (unreadable certificate or key)."""


def _base(purpose, identity_files, anchors):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose == "server" else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    # a pinned certificate is an anchor by itself, also when a CA issued it (a peer that
    # installed an organisation certificate is re-pinned by its key; see caro_core.ca)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if identity_files is not None:
        cert, key = identity_files
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as e:
            raise TLSError(f"cannot load the node certificate {cert}: {e}") from None
    for pem in anchors:
        add_anchor(ctx, pem)
    return ctx


def add_anchor(ctx, pem):
    """Trust one more certificate (PEM) in a live context: new handshakes see it."""
    try:
        ctx.load_verify_locations(cadata=pem)
    except ssl.SSLError as e:
        raise TLSError(f"not a usable certificate: {e}") from None


def server_context(identity_files, anchors):
    ctx = _base("server", identity_files, anchors)
    # with no anchor at all OpenSSL would still request a certificate; CERT_OPTIONAL
    # lets introductions (no client certificate) through.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(identity_files, anchors):
    """A context that presents our certificate and verifies the server against ``anchors``."""
    ctx = _base("client", identity_files, anchors)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def introduction_context():
    """A client context for an introduction: no certificate of ours, the server's is
    checked by the caller against the node id it expects (:func:`peer_node_id`)."""
    ctx = _base("client", None, ())
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_certificate(sslsock):
    """The DER certificate the peer presented, or None."""
    return sslsock.getpeercert(binary_form=True)


def node_id_of_certificate(der_or_pem):
    """The Caro node id of the Ed25519 key in a certificate; None for any other key type."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from .identity import node_id_for

    load = x509.load_pem_x509_certificate if isinstance(der_or_pem, str) or \
        der_or_pem.startswith(b"-----") else x509.load_der_x509_certificate
    try:
        cert = load(der_or_pem.encode() if isinstance(der_or_pem, str) else der_or_pem)
    except ValueError:
        return None
    key = cert.public_key()
    if not isinstance(key, Ed25519PublicKey):
        return None
    return node_id_for(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def peer_node_id(sslsock):
    der = peer_certificate(sslsock)
    return node_id_of_certificate(der) if der else None


def der_to_pem(der):
    return ssl.DER_cert_to_PEM_cert(der)
