"""Skill source: an internal OCI registry over the distribution API.

The registry is Debian's real ``docker-registry``, started on loopback.
"""

import contextlib
import http.server
import json
import os
import threading

import pytest

from caro_core.archive import ArchiveError
from caro_core.oci import OciError, PublicHostError, parse_reference
from caro_core.skills import FetchResult
from skilltools import (Registry, files_of, free_port, member, self_signed, skill_artifact, tar_of_members,
                        write_skill)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.stop()


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "dest"
    d.mkdir()
    return d


def fetch(node, source, dest):
    return node.pm.hook.caro_skill_fetch(source=source, dest=dest)


def test_pull_by_tag_digest_and_default_latest(node, registry, tmp_path):
    skill = write_skill(tmp_path / "tool.demo", "tool.demo", "1.2.0")
    manifest, blobs = skill_artifact(skill)
    pushed = registry.push("skills/tool.demo", "1.2.0", manifest, blobs)
    registry.push("skills/tool.demo", "latest", manifest, blobs)
    base = f"oci://127.0.0.1:{registry.port}/skills/tool.demo"
    for n, source in enumerate((f"{base}:1.2.0", base, f"{base}@{pushed}",
                                f"oci://localhost:{registry.port}/skills/tool.demo:1.2.0")):
        dest = tmp_path / f"dest{n}"
        dest.mkdir()
        assert fetch(node, source, dest) == FetchResult("oci-registry", pushed)
        assert files_of(dest) == files_of(skill)


def test_unknown_tag_or_repository_is_a_one_line_404(node, registry, tmp_path, dest):
    registry.push("skills/known", "1", *skill_artifact(write_skill(tmp_path / "k")))
    for source in (f"oci://127.0.0.1:{registry.port}/skills/known:2",
                   f"oci://127.0.0.1:{registry.port}/skills/unknown:1"):
        with pytest.raises(OciError, match=r"not found in the registry \(HTTP 404\)") as error:
            fetch(node, source, dest)
        assert str(error.value).startswith(source) and "\n" not in str(error.value)


def test_a_tampered_blob_in_the_registry_is_refused(node, registry, tmp_path, dest):
    skill = write_skill(tmp_path / "tamper", "custom.tamper")
    manifest, blobs = skill_artifact(skill)
    registry.push("skills/tamper", "1", manifest, blobs)
    layer = json.loads(manifest)["layers"][0]["digest"]
    stored = registry.blob_path(layer)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(OciError, match=f"blob {layer} does not match its digest"):
        fetch(node, f"oci://127.0.0.1:{registry.port}/skills/tamper:1", dest)
    assert os.listdir(dest) == []


def test_a_wrong_pinned_digest_is_refused(node, registry, tmp_path, dest):
    manifest, blobs = skill_artifact(write_skill(tmp_path / "pin", "custom.pin"))
    registry.push("skills/pin", "1", manifest, blobs)
    other = "sha256:" + "0" * 64
    with pytest.raises(OciError, match="not found|does not match"):
        fetch(node, f"oci://127.0.0.1:{registry.port}/skills/pin@{other}", dest)


def test_an_unsafe_layer_from_the_registry_writes_nothing(node, registry, tmp_path, dest):
    layer = tar_of_members([member("skill.toml", b"[skill]\n"), member("../../../escaped")], gz=True)
    registry.push("skills/evil", "1", *skill_artifact(None, layer=layer))
    with pytest.raises(ArchiveError, match="leaves the destination"):
        fetch(node, f"oci://127.0.0.1:{registry.port}/skills/evil:1", dest)
    assert os.listdir(dest) == [] and not (tmp_path / "escaped").exists()


def test_an_unreachable_registry_is_one_line(node, dest):
    source = f"oci://127.0.0.1:{free_port()}/skills/x:1"
    with pytest.raises(OciError, match="cannot reach the registry at 127.0.0.1:.*: Connection refused"):
        fetch(node, source, dest)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]", "169.254.169.254",
                                  "100.64.0.1", "0.0.0.0"])
def test_a_public_host_is_refused_before_any_traffic(node, dest, host):
    with pytest.raises(PublicHostError, match="not a loopback or private address"):
        fetch(node, f"oci://{host}:5000/skills/x:1", dest)


@pytest.mark.parametrize("source", ["oci://", "oci:///repo", "oci://host:99999/repo", "oci://host/Repo",
                                    "oci://host/repo:bad tag", "oci://host/repo@sha256:abc",
                                    "oci://user:pw@host/repo"])
def test_malformed_references_are_refused(node, dest, source):
    with pytest.raises(OciError):
        fetch(node, source, dest)


def test_reference_syntax():
    ref = parse_reference("oci://[fd00::5]:5000/skills/tool.git:1.0.0")
    assert (ref.host, ref.port, ref.repository, ref.tag, ref.digest) == ("fd00::5", 5000, "skills/tool.git",
                                                                        "1.0.0", None)
    assert parse_reference("oci://10.0.0.5/a/b").tag == "latest"
    assert parse_reference("oci://10.0.0.5/a/b").port == 80
    pinned = parse_reference("oci://registry.lan:5000/a@sha256:" + "a" * 64)
    assert pinned.tag is None and pinned.digest == "sha256:" + "a" * 64
    assert parse_reference("/srv/layout:1.0") is None


@contextlib.contextmanager
def fake_registry(respond):
    """A loopback HTTP server answering every GET with ``respond(path) -> (status, headers, body)``."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = respond(self.path)
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_to_a_public_host_is_not_followed(node, dest):
    with fake_registry(lambda path: (307, {"Location": "http://8.8.8.8/v2/x/manifests/1"}, b"")) as port:
        with pytest.raises(PublicHostError, match="8.8.8.8 is not a loopback"):
            fetch(node, f"oci://127.0.0.1:{port}/x:1", dest)


def test_a_manifest_that_does_not_match_its_digest_is_refused(node, tmp_path, dest):
    manifest, _ = skill_artifact(write_skill(tmp_path / "m"))
    wrong = "sha256:" + "1" * 64
    with fake_registry(lambda path: (200, {"Docker-Content-Digest": wrong}, manifest)) as port:
        for source in (f"oci://127.0.0.1:{port}/x:1", f"oci://127.0.0.1:{port}/x@{wrong}"):
            with pytest.raises(OciError, match=f"blob {wrong} does not match its digest"):
                fetch(node, source, dest)
    assert os.listdir(dest) == []


def test_registry_login_is_not_supported_and_says_so(node, dest):
    body = b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}'
    with fake_registry(lambda path: (401, {"WWW-Authenticate": 'Basic realm="r"'}, body)) as port:
        with pytest.raises(OciError, match=r"refuses access \(HTTP 401\) \(UNAUTHORIZED: authentication "
                                           r"required\); Caro pulls only from registries that need no login"):
            fetch(node, f"oci://127.0.0.1:{port}/x:1", dest)


def test_pull_over_tls_checks_the_certificate(node, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path / "tls")
    registry = Registry(tmp_path / "tls-registry", tls=(cert, key))
    try:
        skill = write_skill(tmp_path / "secure", "custom.secure")
        pushed = registry.push("skills/secure", "1", *skill_artifact(skill))
        source = f"oci+https://127.0.0.1:{registry.port}/skills/secure:1"
        untrusted = tmp_path / "untrusted"
        untrusted.mkdir()
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
        with pytest.raises(OciError, match="certificate is not trusted"):
            fetch(node, source, untrusted)
        assert os.listdir(untrusted) == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = tmp_path / "trusted"
        trusted.mkdir()
        assert fetch(node, source, trusted) == FetchResult("oci-registry", pushed)
        assert files_of(trusted) == files_of(skill)
        with pytest.raises(OciError, match="HTTP 400 .Client sent an HTTP request to an HTTPS server"):
            fetch(node, f"oci://127.0.0.1:{registry.port}/skills/secure:1", untrusted)
    finally:
        registry.stop()
