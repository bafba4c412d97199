"""Skill source: a local tar, tar.gz/tgz or zip archive.

``caro skills install ./aws-1.2.tar.gz`` unpacks the archive safely
(:mod:`caro_core.archive`: no traversal, absolute paths, links, devices; size
and member caps) into the new skill's folder.  The skill folder may be the
archive's root or its single top-level folder.  The archive is recognised by
its content, not its name.  The resolved ref is ``blake3:<hex>``, the BLAKE3
of the archive file, so the lockfile pins exactly the bytes installed.  An OCI
image layout packed as a tar is claimed first by ``skill_fetch_oci``.
"""

import os

import blake3

from caro_core import hookimpl
from caro_core.skills import FetchResult


@hookimpl
def caro_skill_fetch(source, dest):
    """Unpack ``source`` into ``dest`` when it is a local tar/tar.gz/zip file."""
    from caro_core.archive import file_format, lift_single_folder, unpack  # not at start-up

    path = os.path.expanduser(source)
    if file_format(path) is None:
        return None
    digest = blake3.blake3()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
        f.seek(0)
        unpack(f, dest, source)
    lift_single_folder(dest)
    return FetchResult("archive", "blake3:" + digest.hexdigest())
