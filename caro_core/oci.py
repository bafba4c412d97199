"""OCI skill artifacts: read them from an image layout or pull them from an internal registry.

The artifact format
-------------------
A Caro skill travels as an OCI image manifest
(``application/vnd.oci.image.manifest.v1+json``, OCI image-spec 1.1 artifact):

- ``artifactType``: ``application/vnd.caro.skill.v1`` (:data:`ARTIFACT_TYPE`);
- ``config``: the empty descriptor (``application/vnd.oci.empty.v1+json``, the
  2-byte blob ``{}``).  A registry or tool that cannot set ``artifactType`` may
  instead put :data:`ARTIFACT_TYPE` in ``config.mediaType``; both are accepted;
- ``layers``: exactly one, ``application/vnd.caro.skill.layer.v1.tar+gzip``
  (:data:`LAYER_TYPE`): a gzip-compressed tar of the skill folder, with
  ``skill.toml`` at its root or inside its single top-level folder.

Anything else (a container image, two layers, another layer type) is refused as
"not a Caro skill artifact".  Every blob read — manifest and layer — is checked
against its descriptor's size and ``sha256``/``sha512`` digest before it is
used; the layer is then unpacked by :mod:`caro_core.archive` (no traversal, no
links, no devices, size caps).

With ORAS, for example::

    tar -czf skill.tar.gz -C tool.git .
    oras push --plain-http --artifact-type application/vnd.caro.skill.v1 \\
        10.0.0.5:5000/skills/tool.git:1.0.0 \\
        skill.tar.gz:application/vnd.caro.skill.layer.v1.tar+gzip

Registries
----------
:func:`pull` speaks the read side of the OCI distribution API
(``GET /v2/<repo>/manifests/<ref>``, ``GET /v2/<repo>/blobs/<digest>``), with
no authentication: over plain HTTP for ``oci://``, over TLS for
``oci+https://`` (the certificate checked against the system trust store, or
``SSL_CERT_FILE``, for the registry's name).  Only loopback and private hosts are contacted
(:func:`internal_addresses`): the name is resolved once, every address must be
in 127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or
fc00::/7 (RFC 4193), and the connection goes to the checked address, so a DNS
answer cannot change between the check and the request.  Redirects are
followed (at most :data:`MAX_REDIRECTS`) only to hosts that pass the same check.
"""

import hashlib
import http.client
import io
import ipaddress
import json
import os
import re
import socket
import ssl
import tempfile
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from . import archive
from .errors import CaroError

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.caro.skill.v1"
LAYER_TYPE = "application/vnd.caro.skill.layer.v1.tar+gzip"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
#: The index annotation an image layout uses to tag a manifest.
REF_NAME = "org.opencontainers.image.ref.name"

MAX_MANIFEST = 4 * 1024 * 1024
MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEMES = {"oci://": "http", "oci+https://": "https"}
TIMEOUT = 30.0

INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))

_DIGEST = re.compile(r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(f"{_COMPONENT}(?:/{_COMPONENT})*")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_CHUNK = 1 << 16


class OciError(CaroError):
    """An OCI source is malformed, unreachable, not a skill artifact, or fails its digest."""


class PublicHostError(OciError):
    """A source names a host outside loopback and the private ranges."""


# -- artifacts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a blob is, its digest and its exact size."""

    media_type: str
    digest: str
    size: int


def check_digest(digest, label):
    """``digest`` when it is ``sha256:<64 hex>`` or ``sha512:<128 hex>``, else :class:`OciError`."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise OciError(f"{label}: {digest!r} is not a sha256 or sha512 digest")
    return digest


def descriptor(obj, label, max_size=archive.MAX_BYTES):
    """A :class:`Descriptor` from its JSON object; refuses bad digests and blobs over ``max_size``."""
    if not isinstance(obj, dict):
        raise OciError(f"{label}: a descriptor is not a JSON object")
    digest = check_digest(obj.get("digest"), label)
    size = obj.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= max_size:
        raise OciError(f"{label}: blob {digest} has a bad or too large size {size!r}")
    return Descriptor(str(obj.get("mediaType", "")), digest, size)


def copy_verified(src, out, desc, label):
    """Copy blob ``desc`` from file ``src`` to ``out``, refusing it unless size and digest match."""
    algorithm, expected = desc.digest.split(":", 1)
    hasher = hashlib.new(algorithm)
    size = 0
    while chunk := _read(src, desc, label):
        size += len(chunk)
        if size > desc.size:
            break
        hasher.update(chunk)
        out.write(chunk)
    if size != desc.size or hasher.hexdigest() != expected:
        raise OciError(f"{label}: blob {desc.digest} does not match its digest or size "
                       f"(tampered or corrupt); nothing installed")


def _read(src, desc, label):
    try:
        return src.read(_CHUNK)
    except (OSError, http.client.HTTPException) as e:
        raise OciError(f"{label}: reading blob {desc.digest} failed: {e}") from None


def read_verified(src, desc, label):
    """The bytes of small blob ``desc`` (a manifest) read from ``src`` and verified."""
    out = io.BytesIO()
    copy_verified(src, out, desc, label)
    return out.getvalue()


def skill_layer(manifest_bytes, label):
    """The layer :class:`Descriptor` of a Caro skill artifact's manifest; refuses anything else."""
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, UnicodeDecodeError):
        raise OciError(f"{label}: the manifest is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise OciError(f"{label}: the manifest is not a JSON object")
    media_type = manifest.get("mediaType", MANIFEST_TYPE)
    config = descriptor(manifest.get("config"), label)
    kind = manifest.get("artifactType") or config.media_type
    if media_type != MANIFEST_TYPE or kind != ARTIFACT_TYPE:
        raise OciError(f"{label}: not a Caro skill artifact (artifact type {kind!r}, "
                       f"expected {ARTIFACT_TYPE!r})")
    layers = manifest.get("layers")
    if not isinstance(layers, list) or len(layers) != 1:
        raise OciError(f"{label}: a Caro skill artifact has exactly one layer")
    layer = descriptor(layers[0], label)
    if layer.media_type != LAYER_TYPE:
        raise OciError(f"{label}: layer type {layer.media_type!r} is not {LAYER_TYPE!r}")
    return layer


def _install_layer(open_layer, layer, dest, label):
    """Verify the layer blob into a temporary file, then unpack it safely into ``dest``."""
    with tempfile.TemporaryFile() as tmp:
        with open_layer(layer) as src:
            copy_verified(src, tmp, layer, label)
        tmp.seek(0)
        archive.unpack(tmp, dest, label)
    archive.lift_single_folder(dest)


# -- image layouts -----------------------------------------------------------------------------

def find_layout(source):
    """``(path, tag, digest)`` when ``source`` names an OCI image layout, else None.

    Forms: ``PATH``, ``PATH:TAG``, ``PATH@sha256:HEX``, where ``PATH`` is a
    folder holding ``oci-layout`` and ``index.json``, or a tar/tar.gz of one.
    An existing path is taken whole, never split at ``:`` or ``@``.
    """
    candidates = [(source, None, None)]
    if not os.path.exists(os.path.expanduser(source)):
        if "@" in source:
            path, digest = source.rsplit("@", 1)
            candidates.append((path, None, digest))
        if ":" in source:
            path, tag = source.rsplit(":", 1)
            candidates.append((path, tag, None))
    for path, tag, digest in candidates:
        path = os.path.expanduser(path)
        if _is_layout(path):
            if tag is not None and not _TAG.fullmatch(tag):
                raise OciError(f"{source}: {tag!r} is not a valid tag")
            if digest is not None:
                check_digest(digest, source)
            return path, tag, digest
    return None


def _is_layout(path):
    if os.path.isdir(path):
        return all(os.path.isfile(os.path.join(path, n)) for n in ("oci-layout", "index.json"))
    if archive.file_format(path) not in ("tar", "tar.gz"):
        return False
    try:
        with open(path, "rb") as f, archive.open_tar(f, path) as tar:
            names = {"/".join(p for p in info.name.split("/") if p not in ("", "."))
                     for info in tar if info.isreg()}
    except (*archive.TAR_ERRORS, archive.ArchiveError):
        return False
    return {"oci-layout", "index.json"} <= names


class _FolderLayout:
    """The files of an image layout folder."""

    def __init__(self, root):
        self.root = root

    def open(self, name):
        try:
            return open(os.path.join(self.root, *name.split("/")), "rb")
        except OSError:
            raise OciError(f"{self.root}: the layout has no {name}") from None


class _TarLayout:
    """The files of an image layout packed as a tar: read in place, never extracted."""

    def __init__(self, path, tar):
        self.path, self.tar = path, tar
        self.members = {"/".join(p for p in i.name.split("/") if p not in ("", ".")): i
                        for i in tar if i.isreg()}

    def open(self, name):
        if name not in self.members:
            raise OciError(f"{self.path}: the layout has no {name}")
        return self.tar.extractfile(self.members[name])


def fetch_layout(path, tag, digest, dest, label):
    """Unpack the skill artifact of the layout at ``path`` into ``dest``; returns the manifest digest.

    The manifest is chosen in ``index.json`` by ``digest``, else by ``tag``
    (annotation ``org.opencontainers.image.ref.name``), else the only manifest,
    else the one tagged ``latest``.
    """
    if os.path.isdir(path):
        return _fetch_layout(_FolderLayout(path), tag, digest, dest, label)
    try:
        with open(path, "rb") as f, archive.open_tar(f, label) as tar:
            return _fetch_layout(_TarLayout(path, tar), tag, digest, dest, label)
    except archive.TAR_ERRORS as e:
        raise OciError(f"{label}: cannot read the layout archive: {e}") from None


def _read_json(layout, name, label):
    with layout.open(name) as f:
        data = f.read(MAX_MANIFEST + 1)
    if len(data) > MAX_MANIFEST:
        raise OciError(f"{label}: {name} is larger than {MAX_MANIFEST} bytes")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise OciError(f"{label}: {name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise OciError(f"{label}: {name} is not a JSON object")
    return value


def _fetch_layout(layout, tag, digest, dest, label):
    version = _read_json(layout, "oci-layout", label).get("imageLayoutVersion")
    if not isinstance(version, str) or not version.startswith("1."):
        raise OciError(f"{label}: unsupported image layout version {version!r}")
    entries = _read_json(layout, "index.json", label).get("manifests")
    if not isinstance(entries, list):
        raise OciError(f"{label}: index.json lists no manifests")
    chosen = _choose(entries, tag, digest, label)
    desc = descriptor(chosen, label, MAX_MANIFEST)
    with _blob(layout, desc) as src:
        manifest = read_verified(src, desc, label)
    layer = skill_layer(manifest, label)
    _install_layer(lambda d: _blob(layout, d), layer, dest, label)
    return desc.digest


def _blob(layout, desc):
    algorithm, hexdigest = desc.digest.split(":", 1)
    return layout.open(f"blobs/{algorithm}/{hexdigest}")


def _choose(entries, tag, digest, label):
    """The index entry selected by digest, tag, or as the only/``latest`` one."""
    entries = [e for e in entries if isinstance(e, dict)]

    def tag_of(entry):
        annotations = entry.get("annotations")
        return annotations.get(REF_NAME) if isinstance(annotations, dict) else None

    if digest is not None:
        found = [e for e in entries if e.get("digest") == digest]
        what = digest
    elif tag is not None:
        found = [e for e in entries if tag_of(e) == tag]
        what = f"tag {tag!r}"
    elif len(entries) == 1:
        found = entries
    else:
        found = [e for e in entries if tag_of(e) == "latest"]
        what = "tag 'latest' (several manifests; name one with PATH:TAG)"
    if not found:
        tags = sorted(t for t in map(tag_of, entries) if isinstance(t, str))
        raise OciError(f"{label}: no manifest with {what} in index.json; tags: "
                       f"{', '.join(tags) or 'none'}")
    return found[0]


# -- registries --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """``oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`` (or ``oci+https://…``), parsed."""

    scheme: str       # "http" or "https"
    host: str
    port: int
    repository: str
    tag: str | None
    digest: str | None


def parse_reference(source):
    """The :class:`Reference` of an ``oci://`` or ``oci+https://`` source, None for any other source.

    The port defaults to 80 (443 for https), the tag to ``latest``.  A
    malformed reference raises :class:`OciError`.
    """
    prefix = next((p for p in _SCHEMES if source.startswith(p)), None)
    if prefix is None:
        return None
    scheme = _SCHEMES[prefix]
    authority, _, path = source[len(prefix):].partition("/")
    try:
        parts = urlsplit("//" + authority)
        host, port = parts.hostname, parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        host = None
    if not host or parts.username or parts.password or not _valid_host(host):
        raise OciError(f"{source}: expected {prefix}HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]")
    tag = digest = None
    if "@" in path:
        path, digest = path.split("@", 1)
        check_digest(digest, source)
    elif ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise OciError(f"{source}: {tag!r} is not a valid tag")
    if not _REPOSITORY.fullmatch(path):
        raise OciError(f"{source}: {path!r} is not a valid repository name "
                       f"(lower-case letters, digits, '.', '_', '-', '/')")
    return Reference(scheme, host, port, path, tag or (None if digest else "latest"), digest)


def _valid_host(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))


def is_internal(address):
    """True when IP ``address`` is loopback or private (RFC 1918, RFC 4193)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in INTERNAL_NETWORKS if net.version == ip.version)


def internal_addresses(host, port, label):
    """The addresses ``host`` resolves to, all checked to be internal.

    Raises :class:`PublicHostError` when any address is public (an IP literal
    is judged without any lookup), :class:`OciError` when the name does not resolve.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [host]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise OciError(f"{label}: cannot resolve {host}: {e.strerror}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    public = [a for a in addresses if not is_internal(a)]
    if public:
        what = host if host == public[0] else f"{host} ({public[0]})"
        raise PublicHostError(f"{label}: {what} is not a loopback or private address; "
                              f"Caro fetches nothing from the internet")
    return addresses


def pull(ref, dest, label):
    """Pull the skill artifact ``ref`` into ``dest``; returns the manifest digest."""
    client = _Client(ref.scheme, label)
    path = f"/v2/{ref.repository}/manifests/{ref.digest or ref.tag}"
    with client.get(ref.host, ref.port, path, MANIFEST_TYPE) as response:
        try:
            manifest = response.read(MAX_MANIFEST + 1)
        except (OSError, http.client.HTTPException) as e:
            raise OciError(f"{label}: reading the manifest failed: {e}") from None
        announced = response.getheader("Docker-Content-Digest")
    if len(manifest) > MAX_MANIFEST:
        raise OciError(f"{label}: the manifest is larger than {MAX_MANIFEST} bytes")
    digest = ref.digest or announced or "sha256:" + hashlib.sha256(manifest).hexdigest()
    check_digest(digest, label)
    read_verified(io.BytesIO(manifest), Descriptor(MANIFEST_TYPE, digest, len(manifest)), label)
    layer = skill_layer(manifest, label)

    def open_layer(desc):
        return client.get(ref.host, ref.port, f"/v2/{ref.repository}/blobs/{desc.digest}", "*/*")
    _install_layer(open_layer, layer, dest, label)
    return digest


class _Client:
    """GET requests to one registry: each to a checked address, redirects to internal hosts only."""

    def __init__(self, scheme, label):
        self.scheme, self.label = scheme, label
        self.context = ssl.create_default_context() if scheme == "https" else None

    def get(self, host, port, path, accept):
        """The open 200 response to ``GET path``; any other answer raises :class:`OciError`."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(host, port, path, accept)
            location = response.getheader("Location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                break
            response.close()
            target = urlsplit(urljoin(f"{self.scheme}://{_hostport(host, port)}{path}", location))
            if target.scheme != self.scheme or not target.hostname:
                raise OciError(f"{self.label}: the registry redirects to {target.scheme}://, "
                               f"only {self.scheme}:// is followed")
            host, port = target.hostname, target.port or _DEFAULT_PORTS[self.scheme]
            path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        else:
            raise OciError(f"{self.label}: more than {MAX_REDIRECTS} redirects")
        if response.status == 200:
            return response
        body = response.read(65536)
        response.close()
        raise OciError(f"{self.label}: {_status_message(response.status, body)}")

    def _request(self, host, port, path, accept):
        """Send one GET to the first reachable checked address of ``host``."""
        hostport = _hostport(host, port)
        headers = {"Host": hostport, "Accept": accept, "User-Agent": "caro"}
        failure = None
        for address in internal_addresses(host, port, self.label):
            if self.context is None:
                conn = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
            else:
                conn = _PinnedHTTPSConnection(address, port, host, self.context)
            try:
                conn.request("GET", quote(path, safe="/:@?=&%"), headers=headers)
                return conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                failure = e
        if isinstance(failure, ssl.SSLCertVerificationError):
            reason = (f"its certificate is not trusted ({failure.verify_message}); add the "
                      f"registry's CA to the system trust store or SSL_CERT_FILE")
        else:
            reason = getattr(failure, "strerror", None) or str(failure) or type(failure).__name__
        raise OciError(f"{self.label}: cannot reach the registry at {hostport}: {reason}")


class _PinnedHTTPSConnection(http.client.HTTPConnection):
    """HTTPS to an address already checked, verifying the certificate for the registry's name."""

    def __init__(self, address, port, name, context):
        super().__init__(address, port, timeout=TIMEOUT)
        self._name, self._context = name, context

    def connect(self):
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._name)


def _hostport(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _status_message(status, body):
    try:
        errors = json.loads(body).get("errors") or []
        codes = ", ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError, TypeError):   # not the API's JSON: its first line
        first = body.decode("utf-8", "replace").strip().splitlines()[:1]
        codes = first[0][:120] if first and first[0].isprintable() else ""
    detail = f" ({codes})" if codes else ""
    if status == 404:
        return f"not found in the registry (HTTP 404){detail}"
    if status in (401, 403):
        return (f"the registry refuses access (HTTP {status}){detail}; Caro pulls only from "
                f"registries that need no login")
    return f"the registry answered HTTP {status}{detail}"
