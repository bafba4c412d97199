"""The organisation CA: the certificates `caro ca` builds, what `caro ca install` accepts, the
``ca`` trust backend, and real nodes that trust each other through one root (and refuse
another root's nodes)."""

import datetime as dt
import json
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caro_core import ca, tls
from caro_core.errors import ConfigError
from caro_core.identity import load_or_create, public_key_from_node_id
from caro_core.node import Node
from caro_core.peers import append_static, peer_from_node_id
from caro_core.peers import get as get_peer
from caro_core.trust import TrustLevel, decide
from meshnodes import free_port, wait_for

NO_TOFU = "[trust]\ntofu = false\n"


@pytest.fixture
def org(tmp_path):
    ca.create_root(tmp_path / "org", "Acme Root", 30)
    return tmp_path / "org"


def make_identity(path):
    path.mkdir(mode=0o700)
    return load_or_create(path)


def ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def resign(org, cert, **changes):
    """``cert`` signed again by the root in ``org`` with other validity dates."""
    key, _ = ca.load_authority(org)
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(changes.get("not_before", cert.not_valid_before_utc))
               .not_valid_after(changes.get("not_after", cert.not_valid_after_utc)))
    for e in cert.extensions:
        builder = builder.add_extension(e.value, critical=e.critical)
    return builder.sign(key, None)


def test_the_root_is_a_critical_ca_with_key_usage_and_a_subject_key_id(org):
    root = ca.load_certificate(org / ca.CA_CERT_FILE)
    basic = ext(root, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ext(root, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert ext(root, x509.SubjectKeyIdentifier).value == \
        x509.SubjectKeyIdentifier.from_public_key(root.public_key())
    assert root.issuer == root.subject
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Acme Root"
    root.verify_directly_issued_by(root)
    assert (org / ca.CA_KEY_FILE).stat().st_mode & 0o777 == 0o600
    ca.check_root(root)


def test_a_node_certificate_is_a_critical_leaf_for_the_node_key_named_by_its_id(org, tmp_path):
    identity = make_identity(tmp_path / "n")
    cert = ca.issue(org, identity.node_id, 10)
    root = ca.load_certificate(org / ca.CA_CERT_FILE)
    basic = ext(cert, x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_agreement)
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH,
                                                             ExtendedKeyUsageOID.CLIENT_AUTH]
    assert ext(cert, x509.SubjectKeyIdentifier).value == \
        x509.SubjectKeyIdentifier.from_public_key(public_key_from_node_id(identity.node_id))
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == \
        ext(root, x509.SubjectKeyIdentifier).value.digest
    assert cert.issuer == root.subject
    assert cert.subject.rfc4514_string() == f"CN=caro-{identity.fingerprint}"
    cert.verify_directly_issued_by(root)
    assert ca.check_node_certificate(cert, root, identity.node_id) == identity.node_id
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=10, minutes=5)
    # never valid beyond the root
    long = ca.issue(org, identity.node_id, 100_000, name="build-01")
    assert long.not_valid_after_utc == root.not_valid_after_utc
    assert long.subject.rfc4514_string() == "CN=build-01"


def _handshake(server_files, client_files, anchors):
    """A TLS handshake between the two over a socket pair; returns (server, client) outcome."""
    server_ctx, client_ctx = tls.server_context(server_files, anchors), \
        tls.client_context(client_files, anchors)
    left, right = socket.socketpair()
    left.settimeout(10)
    right.settimeout(10)
    outcome = {}

    def serve():
        try:
            s = server_ctx.wrap_socket(left, server_side=True)
            outcome["server"] = tls.peer_node_id(s)
            s.recv(1)
        except (ssl.SSLError, OSError) as e:
            outcome["server"] = e

    t = threading.Thread(target=serve)
    t.start()
    try:
        c = client_ctx.wrap_socket(right)
        c.sendall(b"x")
        outcome["client"] = tls.peer_node_id(c)
        c.close()
    except (ssl.SSLError, OSError) as e:
        outcome["client"] = e
    right.close()
    t.join(10)
    left.close()
    return outcome["server"], outcome["client"]


def test_tls_verifies_the_chain_with_the_root_as_the_only_anchor(org, tmp_path):
    a, b = make_identity(tmp_path / "a"), make_identity(tmp_path / "b")
    for identity in (a, b):
        ca.write_certificate(ca.issue(org, identity.node_id, 10), identity.home / ca.NODE_CERT_FILE)
        assert ca.tls_certificate_path(identity) == identity.home / ca.NODE_CERT_FILE
    root = (org / ca.CA_CERT_FILE).read_text()
    server, client = _handshake((ca.tls_certificate_path(a), a.key_path),
                                (ca.tls_certificate_path(b), b.key_path), [root])
    assert (server, client) == (b.node_id, a.node_id)
    # the self-signed certificates do not chain to the root
    server, client = _handshake((a.cert_path, a.key_path), (b.cert_path, b.key_path), [root])
    assert isinstance(client, ssl.SSLCertVerificationError)


def forge(root, node_id, same_key_id=True):
    """A fake root with the real root's subject (and subject key id) and a leaf it signs."""
    fake_key = Ed25519PrivateKey.generate()
    ski = ext(root, x509.SubjectKeyIdentifier).value if same_key_id else \
        x509.SubjectKeyIdentifier.from_public_key(fake_key.public_key())
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "caro-forged")])).issuer_name(root.subject)
        .public_key(public_key_from_node_id(node_id)).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(fake_key, None))


def test_a_certificate_that_merely_names_the_root_is_refused(org, tmp_path):
    identity = make_identity(tmp_path / "n")
    root = ca.load_certificate(org / ca.CA_CERT_FILE)
    with pytest.raises(ca.CAError, match="signature does not verify"):
        ca.check_node_certificate(forge(root, identity.node_id), root, identity.node_id)
    with pytest.raises(ca.CAError, match="authority key identifier"):
        ca.check_node_certificate(forge(root, identity.node_id, same_key_id=False), root)
    # a second root with the same name is not the same root
    other = ca.create_root(tmp_path / "other", "Acme Root", 30)
    stranger = ca.issue(tmp_path / "other", identity.node_id, 10)
    with pytest.raises(ca.CAError):
        ca.check_node_certificate(stranger, root, identity.node_id)
    ca.check_node_certificate(stranger, other, identity.node_id)
    # a root cannot pass for a node certificate
    with pytest.raises(ca.CAError):
        ca.check_node_certificate(root, root)


def test_expired_and_not_yet_valid_certificates_are_refused(org, tmp_path):
    identity = make_identity(tmp_path / "n")
    root = ca.load_certificate(org / ca.CA_CERT_FILE)
    cert = ca.issue(org, identity.node_id, 10)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=11)
    with pytest.raises(ca.CAError, match="the certificate expired on"):
        ca.check_node_certificate(cert, root, identity.node_id, now=later)
    with pytest.raises(ca.CAError, match="the root expired on"):
        ca.check_node_certificate(cert, root, identity.node_id,
                                  now=later + dt.timedelta(days=30))
    now = dt.datetime.now(dt.timezone.utc)
    expired = resign(org, cert, not_before=now - dt.timedelta(days=3),
                     not_after=now - dt.timedelta(days=1))
    ca.write_certificate(expired, tmp_path / "expired.crt")
    with pytest.raises(ca.CAError, match="expired on"):
        ca.install(identity.home, identity, tmp_path / "expired.crt", org / ca.CA_CERT_FILE)
    assert not (identity.home / ca.NODE_CERT_FILE).exists()
    # an installed certificate that expired is no longer presented
    (identity.home / ca.NODE_CERT_FILE).write_text(ca.to_pem(expired))
    assert ca.tls_certificate_path(identity) == identity.cert_path
    future = resign(org, cert, not_before=now + dt.timedelta(days=1))
    with pytest.raises(ca.CAError, match="not valid before"):
        ca.check_node_certificate(future, root, identity.node_id)


def test_after_a_key_change_the_installed_certificate_is_not_presented(org, tmp_path):
    identity, other = make_identity(tmp_path / "n"), make_identity(tmp_path / "o")
    (identity.home / ca.NODE_CERT_FILE).write_text(ca.to_pem(ca.issue(org, other.node_id, 10)))
    assert ca.tls_certificate_path(identity) == identity.cert_path


def test_ca_init_sign_install_show_from_the_command_line(caro, caro_home, tmp_path):
    org = tmp_path / "org"
    unnamed = caro("ca", "init", str(org), "--name", "")
    assert unnamed.returncode == 1 and "1 to 64 characters" in unnamed.stderr
    assert not org.exists()
    made = caro("ca", "init", str(org), "--name", "Acme Root", "--days", "30")
    assert made.returncode == 0, made.stderr
    assert "Acme Root" in made.stdout and "caro ca sign" in made.stdout
    again = caro("ca", "init", str(org))
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "refusing to overwrite" in again.stderr
    me = json.loads(caro("identity", "show", "--json").stdout)
    out = tmp_path / "me.crt"
    signed = caro("ca", "sign", str(org), me["node_id"], "--out", str(out), "--days", "7")
    assert signed.returncode == 0, signed.stderr
    assert "caro ca install" in signed.stdout
    refused = caro("ca", "sign", str(org), me["node_id"], "--out", str(out))
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert "no organisation CA installed" in caro("ca", "show").stdout
    installed = caro("ca", "install", str(out), "--root", str(org / "ca.crt"))
    assert installed.returncode == 0, installed.stderr
    shown = json.loads(caro("ca", "show", "--json").stdout)
    assert shown["root"]["subject"] == "CN=Acme Root" and shown["root"]["status"] == "ok"
    assert shown["certificate"]["node_id"] == me["node_id"]
    assert shown["certificate"]["status"] == "ok"
    assert shown["certificate"]["authority_key_id"] == shown["root"]["subject_key_id"]
    assert shown["presented"] == str(caro_home / ca.NODE_CERT_FILE)
    assert shown["ca_level"] == "peer"
    audit = json.loads(caro("audit", "export", "--format", "json").stdout)
    assert any(e["event_type"] == "TrustChanged" and "Acme Root" in e["details"] for e in audit)


def test_ca_install_refuses_another_nodes_certificate_and_keeps_what_is_installed(
        caro, caro_home, org, tmp_path):
    other = make_identity(tmp_path / "other")
    stray = tmp_path / "other.crt"
    ca.write_certificate(ca.issue(org, other.node_id, 10), stray)
    result = caro("ca", "install", str(stray), "--root", str(org / ca.CA_CERT_FILE))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"holds the key of {other.node_id}" in result.stderr
    assert not (caro_home / ca.NODE_CERT_FILE).exists() and not (caro_home / ca.ROOT_FILE).exists()
    # a root that is not a CA, a missing file: one line each
    result = caro("ca", "install", str(stray), "--root", str(stray))
    assert result.returncode == 1 and "not a CA certificate" in result.stderr
    result = caro("ca", "install", str(tmp_path / "missing.crt"), "--root", str(stray))
    assert result.returncode == 1 and "cannot read" in result.stderr
    result = caro("ca", "sign", str(tmp_path / "nowhere"), other.node_id, "--out",
                  str(tmp_path / "x.crt"))
    assert result.returncode == 1 and "caro ca init" in result.stderr
    (org / ca.CA_KEY_FILE).chmod(0o644)
    result = caro("ca", "sign", str(org), other.node_id, "--out", str(tmp_path / "x.crt"))
    assert result.returncode == 1 and "chmod 600" in result.stderr


def load_node(home, config=""):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(config)
    return Node.load(home, environ={})


def test_the_ca_backend_trusts_certified_peers_at_ca_level_and_anchors_the_root(org, tmp_path):
    node = load_node(tmp_path / "node", '[trust]\ntofu = false\nca_level = "query-from"\n')
    try:
        root_pem = (org / ca.CA_CERT_FILE).read_text()
        assert not any(root_pem in batch for batch in node.pm.hook.caro_trust_anchors(node=node))
        own = tmp_path / "own.crt"
        ca.write_certificate(ca.issue(org, node.identity.node_id, 10), own)
        ca.install(node.home, node.identity, own, org / ca.CA_CERT_FILE)
        assert [root_pem] in node.pm.hook.caro_trust_anchors(node=node)

        friend = make_identity(tmp_path / "friend")
        peer = peer_from_node_id(friend.node_id, source="tofu",
                                 certificate=ca.to_pem(ca.issue(org, friend.node_id, 10)))
        assert decide(node, peer) is TrustLevel.QUERY_FROM and peer.source == "ca"
        # its self-signed certificate, a forgery, or another node's certificate: no opinion
        root = ca.load_certificate(org / ca.CA_CERT_FILE)
        for pem in (friend.cert_path.read_text(), ca.to_pem(forge(root, friend.node_id)),
                    ca.to_pem(ca.issue(org, node.identity.node_id, 10))):
            stranger = peer_from_node_id(friend.node_id, source="tofu", certificate=pem)
            assert decide(node, stranger) is TrustLevel.UNTRUSTED and stranger.source == "tofu"
    finally:
        node.close()


def certified_node(org, home, config=""):
    node = load_node(home, config)
    own = home.parent / f"{home.name}.crt"
    ca.write_certificate(ca.issue(org, node.identity.node_id, 10), own)
    ca.install(node.home, node.identity, own, org / ca.CA_CERT_FILE)
    return node


def test_a_certified_newcomer_is_not_held_pending_by_tofu(org, tmp_path):
    node = certified_node(org, tmp_path / "node")  # TOFU on
    try:
        friend = make_identity(tmp_path / "friend")
        peer = peer_from_node_id(friend.node_id, source="tofu",
                                 certificate=ca.to_pem(ca.issue(org, friend.node_id, 10)))
        assert decide(node, peer) is TrustLevel.PEER
        assert get_peer(node.store, friend.node_id) is None
    finally:
        node.close()


def test_a_static_entry_about_a_certified_node_beats_the_root(org, tmp_path):
    node = certified_node(org, tmp_path / "node", NO_TOFU)
    try:
        boss, mallory = make_identity(tmp_path / "boss"), make_identity(tmp_path / "mallory")
        append_static(node.home, "127.0.0.1:1", boss.node_id, TrustLevel.SUPERVISOR)
        append_static(node.home, "127.0.0.1:2", mallory.node_id, TrustLevel.UNTRUSTED)
        for identity, level in ((boss, TrustLevel.SUPERVISOR), (mallory, TrustLevel.UNTRUSTED)):
            peer = peer_from_node_id(identity.node_id, certificate=ca.to_pem(
                ca.issue(org, identity.node_id, 10)))
            assert decide(node, peer) is level
    finally:
        node.close()


def test_ca_level_must_be_a_connecting_trust_level(tmp_path):
    with pytest.raises(ConfigError, match="ca_level"):
        load_node(tmp_path / "n", '[trust]\nca_level = "untrusted"\n')


# -- real nodes ------------------------------------------------------------------------------


def certify(node, org):
    """Sign ``node``'s key with the root in ``org`` and install the certificate on the node."""
    out = org.parent / f"{node.name}.crt"
    node.caro("ca", "sign", str(org), node.node_id, "--out", str(out))
    node.caro("ca", "install", str(out), "--root", str(org / ca.CA_CERT_FILE))


@pytest.mark.slow
def test_nodes_certified_by_one_root_trust_each_other_without_listing_each_other(nodes, org):
    a = nodes("a", NO_TOFU)
    b = nodes("b", NO_TOFU + 'ca_level = "query-from"\n')
    certify(a, org)
    certify(b, org)
    # a knows where b listens, and that decides nothing: trust comes from the root
    a.caro("peers", "add", b.address, "--id", b.node_id, "--trust", "auto")
    a.start()
    b.start()
    assert wait_for(lambda: a.connected_to(b) and b.connected_to(a)), (a.peers(), b.peers())
    assert (a.peers()[b.node_id]["source"], a.peers()[b.node_id]["trust"]) == ("ca", "peer")
    assert (b.peers()[a.node_id]["source"], b.peers()[a.node_id]["trust"]) == ("ca", "query-from")
    assert a.audited("PeerConnected", b) and b.audited("PeerConnected", a)
    # a person's decision beats the root
    b.caro("peers", "revoke", a.node_id)
    assert wait_for(lambda: not a.connected_to(b) and not b.connected_to(a), timeout=10)


@pytest.mark.slow
def test_a_node_certified_by_another_root_is_refused_and_audited(nodes, org, tmp_path):
    b = nodes("b", NO_TOFU)
    certify(b, org)
    other = tmp_path / "other"
    other.mkdir()
    ca.create_root(other / "org", "Acme Root", 30)  # the same name, another key
    c = nodes("c")
    certify(c, other / "org")
    c.add_peer(b)
    b.start()
    c.start()
    assert wait_for(lambda: b.audited("PeerRefused", c)), b.audit()[-3:]
    assert c.node_id not in b.peers()
    assert not c.connected_to(b)


@pytest.mark.slow
@pytest.mark.parametrize("who_dials", ["both", "only the peer"])
def test_a_static_peer_without_the_root_re_pins_a_node_that_installs_a_ca_certificate(
        nodes, org, who_dials):
    a, x = nodes("a"), nodes("x")
    reachable = x.address if who_dials == "both" else f"127.0.0.1:{free_port()}"
    a.caro("peers", "add", reachable, "--id", x.node_id)
    x.add_peer(a)
    a.start()
    x.start()
    assert wait_for(lambda: a.connected_to(x) and x.connected_to(a))

    def introductions():
        return len(x.audited("PeerIntroduced", a)) + len(a.audited("PeerIntroduced", x))

    before = introductions()
    certify(a, org)  # the running daemon now presents the CA-issued certificate
    x.kill()  # x pinned a's self-signed certificate
    x.start()
    assert wait_for(lambda: a.connected_to(x) and x.connected_to(a), timeout=20), x.audit()[-3:]
    assert x.peers()[a.node_id]["trust"] == "peer" and x.peers()[a.node_id]["source"] == "static"
    assert introductions() > before  # one side introduced itself again to re-pin
