"""The skills lockfile and the integrity of installed skills.

``$CARO_HOME/skills.lock`` is JSON: ``{"lock_version": 1, "skills": {id: entry}}``.
An installed skill's entry records its version, the source given, the fetch
kind and resolved ref (commit, digest, path), the BLAKE3 integrity of its
files (``files``: each relative path's BLAKE3; ``integrity``: the content hash
over them, the value a signature signs), the signer, the granted
capabilities and whether it is enabled.  A bundled skill has an entry
(``source = "bundled"``) only once the user changed its state.

The content hash is BLAKE3 over the lines ``<path>\\0<file BLAKE3 hex>\\n``
for every file in sorted path order, ``skill.sig`` left out (it signs the hash).
"""

import contextlib
import fcntl
import json
import os
import stat
from pathlib import Path

import blake3

from .skills import LOCK_FILE, SIGNATURE, SKILLS_DIR, SkillError, read_lock

LOCK_VERSION = 1


def file_hashes(directory):
    """``{relative posix path: BLAKE3 hex}`` for every file under ``directory`` but ``skill.sig``.

    A symbolic link or special file is recorded as ``link:``/``special:`` so
    that verification reports it.
    """
    directory = Path(directory)
    hashes = {}
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root) / name
            rel = path.relative_to(directory).as_posix()
            if rel == SIGNATURE:
                continue
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                hashes[rel] = "link:" + os.readlink(path)
            elif not stat.S_ISREG(mode):
                hashes[rel] = "special:"
            else:
                digest = blake3.blake3()
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                hashes[rel] = digest.hexdigest()
    return hashes


def content_hash(hashes):
    """``blake3:<hex>`` over the sorted ``path\\0hash\\n`` lines of :func:`file_hashes`."""
    digest = blake3.blake3()
    for rel in sorted(hashes):
        digest.update(f"{rel}\0{hashes[rel]}\n".encode("utf-8"))
    return "blake3:" + digest.hexdigest()


@contextlib.contextmanager
def locked(home):
    """Hold the exclusive skills lock (installs, removals and state changes take turns)."""
    root = Path(home) / SKILLS_DIR
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_lock(home, skills):
    """Replace the lockfile atomically with ``skills`` (id -> entry)."""
    path = Path(home) / LOCK_FILE
    tmp = path.with_name(LOCK_FILE + ".tmp")
    data = json.dumps({"lock_version": LOCK_VERSION, "skills": skills}, indent=2, sort_keys=True)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(data + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def update_lock(home, skill_id, entry):
    """Set (or, with ``entry`` None, delete) one skill's entry; call inside :func:`locked`."""
    skills = read_lock(home)
    if entry is None:
        skills.pop(skill_id, None)
    else:
        skills[skill_id] = entry
    write_lock(home, skills)


def verify_installed(home):
    """Check every installed skill against the lockfile: a list of result dicts.

    Each result has ``id``, ``ok`` and the ``changed``, ``added``, ``removed``
    file lists (``missing`` when the skill's folder is gone; ``signature`` the
    problem with its signature, if any).
    """
    from .skill_sign import check_signature

    results = []
    root = Path(home) / SKILLS_DIR
    for skill_id, entry in sorted(read_lock(home).items()):
        if entry.get("source") == "bundled":
            continue
        directory = root / skill_id
        result = {"id": skill_id, "ok": True, "changed": [], "added": [], "removed": []}
        if not directory.is_dir():
            result.update(ok=False, missing=True, removed=sorted(entry.get("files", {})))
            results.append(result)
            continue
        now, then = file_hashes(directory), entry.get("files", {})
        result["changed"] = sorted(p for p in now.keys() & then.keys() if now[p] != then[p])
        result["added"] = sorted(now.keys() - then.keys())
        result["removed"] = sorted(then.keys() - now.keys())
        if content_hash(now) != entry.get("integrity") and not (
                result["changed"] or result["added"] or result["removed"]):
            result["changed"] = ["(integrity record)"]
        if entry.get("signer"):
            try:
                check_signature(directory, content_hash(now), [entry["signer"]], required=True)
            except SkillError as e:
                result["signature"] = str(e)
        result["ok"] = not (result["changed"] or result["added"] or result["removed"]
                            or "signature" in result)
        results.append(result)
    return results
