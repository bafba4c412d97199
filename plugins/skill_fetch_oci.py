"""Skill source: an OCI image layout (folder or tar) or an internal OCI registry.

Source syntax, as ``caro skills install`` takes it and as ``[skills] sources``
resolution builds it for a skill id:

``oci://HOST[:PORT]/REPOSITORY[:TAG]`` or ``oci://HOST[:PORT]/REPOSITORY@sha256:HEX``
    a registry reached over plain HTTP with the distribution API (``/v2/…``),
    no login; ``oci+https://…`` (same form) reaches it over TLS, verified
    against the system trust store or ``SSL_CERT_FILE``.  ``HOST`` is a name,
    an IPv4 address or a bracketed IPv6 address (``[fd00::5]``); ``PORT``
    defaults to 80 (443 for ``oci+https``); ``TAG`` defaults to ``latest``;
    a digest pins the exact manifest.  ``REPOSITORY`` follows the distribution
    grammar (lower-case, ``/``-separated).  Example:
    ``oci://10.0.0.5:5000/skills/tool.git:1.2.0``.  For a skill id, build
    ``oci://<registry>/<id>:latest`` — or ``:<version>`` — where ``<registry>``
    is a ``[skills] sources`` entry such as ``10.0.0.5:5000/skills`` (keep an
    ``oci+https://`` prefix when the entry has one).
    The host must be loopback or private (127/8, ::1, 10/8, 172.16/12,
    192.168/16, fc00::/7): an IP literal outside them is refused without any
    network traffic, a name is resolved once and refused if any address is
    public, and the request goes to the checked address.

``PATH``, ``PATH:TAG`` or ``PATH@sha256:HEX``
    an OCI image layout: a folder with ``oci-layout``, ``index.json`` and
    ``blobs/``, or a tar/tar.gz of one (read in place, never extracted).  The
    manifest is selected by digest, by tag (index annotation
    ``org.opencontainers.image.ref.name``), else the only manifest, else ``latest``.

The artifact format (one layer: a tar.gz of the skill folder) is described in
:mod:`caro_core.oci`; every blob is checked against its digest.  This plugin
runs first (``tryfirst``) so a layout folder is not taken for a plain skill
folder, and it claims only ``oci://`` sources and real layouts.  The resolved
ref is the manifest digest, ``sha256:<hex>``.
"""

from caro_core import hookimpl
from caro_core.skills import FetchResult


@hookimpl(tryfirst=True)
def caro_skill_fetch(source, dest):
    """Pull an ``oci://``/``oci+https://`` reference or read an OCI image layout into ``dest``."""
    from caro_core import oci  # http.client, tarfile: not at start-up

    ref = oci.parse_reference(source)
    if ref is not None:
        return FetchResult("oci-registry", oci.pull(ref, dest, source))
    layout = oci.find_layout(source)
    if layout is not None:
        path, tag, digest = layout
        return FetchResult("oci-layout", oci.fetch_layout(path, tag, digest, dest, source))
    return None
