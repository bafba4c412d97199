"""Test helpers for skill sources: skill folders, archives, OCI artifacts, a real registry."""

import hashlib
import io
import json
import ssl
import subprocess
import tarfile
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urljoin

from caro_core.oci import ARTIFACT_TYPE, EMPTY_TYPE, LAYER_TYPE, MANIFEST_TYPE, REF_NAME
from meshnodes import free_port
from polling import wait_for

REGISTRY = "/usr/bin/docker-registry"


def write_skill(folder, skill_id="custom.demo", version="1.0.0"):
    """A small knowledge skill in ``folder`` (created); returns the folder as a Path."""
    folder = Path(folder)
    (folder / "knowledge").mkdir(parents=True)
    (folder / "skill.toml").write_text(
        f'[skill]\nid = "{skill_id}"\nname = "Demo"\nversion = "{version}"\n'
        f'description = "A skill for tests"\napi_version = 1\nauthors = ["tests"]\n'
        f'license = "MIT"\n\n[provides]\nknowledge = true\n\n[knowledge]\ntopics = ["demo"]\n')
    (folder / "knowledge" / "demo.md").write_text("# Demo\n\nHow to demo.\n")
    return folder


def files_of(folder):
    """``{relative path: bytes}`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def tar_bytes(folder, top=None, gz=True):
    """A tar (gzip unless ``gz`` is false) of ``folder``'s content, under folder ``top`` if given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for path in sorted(Path(folder).rglob("*")):
            name = str(path.relative_to(folder))
            tar.add(path, arcname=f"{top}/{name}" if top else name, recursive=False)
    return buf.getvalue()


def zip_bytes(folder, top=None):
    """A zip of ``folder``'s content, under folder ``top`` if given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                name = str(path.relative_to(folder))
                zf.write(path, f"{top}/{name}" if top else name)
    return buf.getvalue()


def tar_of_members(members, gz=False):
    """A tar built from ``(TarInfo, data-or-None)`` pairs: any name, any member type."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, data=b"x", kind=tarfile.REGTYPE, linkname=""):
    """A ``(TarInfo, data)`` pair for :func:`tar_of_members`."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info, (data if kind == tarfile.REGTYPE else None)


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def skill_artifact(folder, layer=None):
    """``(manifest bytes, {digest: blob})`` of the OCI artifact of skill ``folder``.

    ``layer`` replaces the layer blob (a tar.gz of the folder by default).
    """
    layer = tar_bytes(folder) if layer is None else layer
    config = b"{}"
    manifest = {
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE, "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": digest(layer), "size": len(layer)}],
    }
    return json.dumps(manifest).encode(), {digest(config): config, digest(layer): layer}


def write_layout(root, tagged):
    """An OCI image layout at ``root`` holding ``{tag: (manifest, blobs)}``; returns ``{tag: digest}``."""
    root = Path(root)
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entries, digests = [], {}
    for tag, (manifest, blobs) in tagged.items():
        for d, data in {**blobs, digest(manifest): manifest}.items():
            (root / "blobs" / "sha256" / d.split(":")[1]).write_bytes(data)
        digests[tag] = digest(manifest)
        entries.append({"mediaType": MANIFEST_TYPE, "digest": digest(manifest), "size": len(manifest),
                        "annotations": {REF_NAME: tag}})
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    return digests


class Registry:
    """Debian's real ``docker-registry`` on 127.0.0.1, storing under ``root``."""

    def __init__(self, root, tls=None):
        """``tls``: ``(certificate file, key file)`` to serve HTTPS instead of HTTP."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage = self.root / "storage"
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.context = ssl.create_default_context(cafile=str(tls[0])) if tls else None
        config = self.root / "config.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {self.storage}\nhttp:\n  addr: 127.0.0.1:{self.port}\n"
                          + (f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n" if tls else ""))
        self.log = open(self.root / "registry.log", "wb")
        self.process = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if wait_for(self._up, timeout=20) is not True:
            self.stop()
            raise RuntimeError("docker-registry did not start: "
                               + (self.root / "registry.log").read_text())

    def _up(self):
        if self.process.poll() is not None:
            return "exited"
        try:
            with urllib.request.urlopen(self.url + "/v2/", timeout=2, context=self.context) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

    def push(self, repository, tag, manifest, blobs):
        """Push blobs then the manifest through the distribution API (monolithic uploads)."""
        for d, data in blobs.items():
            start = urllib.request.Request(f"{self.url}/v2/{repository}/blobs/uploads/", method="POST",
                                           data=b"")
            with urllib.request.urlopen(start, timeout=10, context=self.context) as r:
                location = urljoin(self.url, r.headers["Location"])
            sep = "&" if "?" in location else "?"
            put = urllib.request.Request(f"{location}{sep}digest={d}", data=data, method="PUT",
                                         headers={"Content-Type": "application/octet-stream"})
            with urllib.request.urlopen(put, timeout=10, context=self.context) as r:
                assert r.status == 201, r.status
        put = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{tag}", data=manifest,
                                     method="PUT", headers={"Content-Type": MANIFEST_TYPE})
        with urllib.request.urlopen(put, timeout=10, context=self.context) as r:
            assert r.status == 201, r.status
            return r.headers["Docker-Content-Digest"]

    def blob_path(self, blob_digest):
        """Where the registry stores blob ``blob_digest`` on disk (to tamper with it)."""
        hexdigest = blob_digest.split(":")[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def self_signed(folder):
    """A self-signed certificate for 127.0.0.1 and localhost: ``(cert file, key file)``."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caro test registry")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "registry.crt", folder / "registry.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file
