"""Identity (FR-101…105): key file, node id, fingerprint, certificate, errors."""

import base64
import json
import stat

import blake3
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from caro_core.identity import fingerprint_for, load_or_create, public_key_from_node_id


def test_first_use_creates_a_0600_pem_ed25519_key_and_matching_certificate(caro_home, caro):
    result = caro("identity", "show", "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert set(facts) == {"node_id", "fingerprint", "created_at", "certificate"}

    key_path = caro_home / "identity.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(caro_home.stat().st_mode) == 0o700
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    assert facts["node_id"] == "caro:ed25519:" + base64.b64encode(raw).decode()
    assert facts["fingerprint"] == blake3.blake3(raw).digest()[:8].hex()
    assert len(facts["fingerprint"]) == 16

    cert = x509.load_pem_x509_certificate(open(facts["certificate"], "rb").read())
    cert_raw = cert.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
    assert cert_raw == raw
    cert.verify_directly_issued_by(cert)  # self-signed with the same key

    again = json.loads(caro("identity", "show", "--json").stdout)
    assert again == facts  # stable across runs


def test_identity_creation_is_audited_once(caro_home, caro):
    caro("identity", "show")
    caro("identity", "show")
    entries = json.loads(caro("audit", "export", "--format", "json").stdout)
    assert [e["event_type"] for e in entries] == ["IdentityCreated"]


def test_a_key_readable_by_others_is_refused_with_one_line(caro_home, caro):
    caro("identity", "show")
    (caro_home / "identity.key").chmod(0o644)
    result = caro("identity", "show")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_garbled_key_gives_one_line_and_is_not_overwritten(caro_home, caro):
    caro("identity", "show")
    key = caro_home / "identity.key"
    key.write_bytes(b"not a key")
    result = caro("identity", "show")
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert "identity.key" in result.stderr and "Traceback" not in result.stderr
    assert key.read_bytes() == b"not a key"


def test_the_key_is_parsed_on_first_use_and_checked_against_identity_json(caro_home, caro):
    from caro_core.identity import load

    node_id = json.loads(caro("identity", "show", "--json").stdout)["node_id"]
    lazy = load(caro_home)
    assert lazy.node_id == node_id and lazy._key is None  # no signature asked for yet
    lazy.sign(b"x")
    assert lazy._key is not None
    (caro_home.parent / "other").mkdir(mode=0o700)
    other = load_or_create(caro_home.parent / "other")
    meta = caro_home / "identity.json"
    meta.write_text(json.dumps({"node_id": other.node_id, "created_at": "2026-01-01"}))
    result = caro("identity", "show")
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert "names another node than the key" in result.stderr


def test_node_id_round_trips_and_fingerprint_is_stable(caro_home):
    caro_home.mkdir(mode=0o700)
    identity = load_or_create(caro_home)
    public = public_key_from_node_id(identity.node_id)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert fingerprint_for(raw) == identity.fingerprint
    public.verify(identity.sign(b"hello"), b"hello")
