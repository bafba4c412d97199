"""Installing, removing, enabling skills and granting their capabilities.

:func:`install` asks the ``caro_skill_fetch`` plugins to fetch a source into an
empty staging folder under ``$CARO_HOME/skills/``, validates what arrived
(:func:`caro_core.skill_manifest.validate_dir`), checks platform, Caro
version, dependencies and signature, renames the folder into place (so a
skill is either wholly installed or not at all) and records it in the
lockfile.  A source that is a skill id (``tool.git`` or ``tool.git@1.2.0``,
not an existing path) is tried on each ``[skills] sources`` registry in turn.
A fetched folder holding ``caro-bundle.json`` is a bundle made by
:func:`bundle`: each skill in it is installed.

Every change is audited (``SkillChanged``), every refusal too (``SkillRejected``).
"""

import datetime as dt
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .skill_lock import content_hash, file_hashes, locked, update_lock
from .skills import (CAPABILITIES, ID_RE, MANIFEST, SKILLS_DIR, SkillError, bundled_dir,
                     find_skills, read_lock)

BUNDLE_INDEX = "caro-bundle.json"
BUNDLE_FORMAT = "caro-skill-bundle"


@dataclass
class Installed:
    """What :func:`install` did for one skill."""

    id: str
    version: str
    source: str
    kind: str
    ref: str
    granted: list
    not_granted: list
    signer: str | None = None
    missing_tools: list = field(default_factory=list)


def registry_sources(skill_ref, registries):
    """The ``oci://`` sources to try for ``tool.git`` or ``tool.git@1.2.0``, in config order.

    A registry entry ``HOST:PORT`` means repository ``skills/<id>``; an entry
    with a path (``HOST:PORT/team/skills``) means ``<path>/<id>``.
    """
    skill_id, _, version = skill_ref.partition("@")
    out = []
    for entry in registries:
        entry = entry.removeprefix("oci://").rstrip("/")
        base = entry if "/" in entry else f"{entry}/skills"
        out.append(f"oci://{base}/{skill_id}:{version or 'latest'}")
    return out


def is_skill_ref(source):
    """True when ``source`` names a skill by id (optionally ``@version``), not a path."""
    skill_id, _, version = source.partition("@")
    return bool(ID_RE.fullmatch(skill_id)) and not os.path.exists(source)


def install(node, source, grants=(), grant_all=False, ask=None):
    """Install the skill(s) at ``source``; returns a list of :class:`Installed`.

    :param grants: capability names to grant (``"all"`` grants every one requested).
    :param grant_all: grant every capability requested (``--yes``).
    :param ask: ``ask(skill, capability) -> bool`` for requested capabilities
        neither granted nor refused up front (None: leave them ungranted).
    """
    unknown = [g for g in grants if g != "all" and g not in CAPABILITIES]
    if unknown:
        raise SkillError(f"unknown capability {unknown[0]!r} (known: {', '.join(CAPABILITIES)})")
    config = node.config.get("skills", {})
    if os.path.exists(os.path.expanduser(source)):
        source = os.path.abspath(os.path.expanduser(source))
    sources, wanted_id = [source], None
    if is_skill_ref(source):
        wanted_id = source.partition("@")[0]
        sources = registry_sources(source, config.get("sources", []))
        if not sources:
            hint = (f"{wanted_id} is bundled with Caro and needs no install (caro skills info "
                    f"{wanted_id}; caro skills enable {wanted_id} if it is disabled)"
                    if (bundled_dir() / wanted_id).is_dir() else
                    "set [skills] sources to your internal registries, or give a path")
            raise SkillError(f"cannot resolve skill id {source}: {hint}")
    root = Path(node.home) / SKILLS_DIR
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for candidate in sources:
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
        try:
            try:
                fetched = node.pm.hook.caro_skill_fetch(source=candidate, dest=staging)
            except Exception as e:
                if len(sources) == 1:
                    raise
                errors.append(f"{candidate}: {e}")  # this registry failed: try the next one
                continue
            if fetched is None:
                raise SkillError(f"unknown source {candidate!r}: not a skill folder, archive, "
                                 f"git repository, OCI layout or oci:// reference")
            try:
                with locked(node.home):
                    return _install_fetched(node, staging, source, fetched, grants, grant_all,
                                            ask, wanted_id)
            except SkillError as e:  # name the user's file, not the staging folder
                where = fetched.ref if fetched.kind == "path" else f"{candidate}!"
                raise SkillError(str(e).replace(str(staging), where)) from None
        except Exception as e:
            _reject(node, source, str(e))
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    message = f"cannot install {source} from any [skills] source: " + "; ".join(errors)
    _reject(node, source, message)
    raise SkillError(message)


def _reject(node, source, reason):
    node.audit.append("SkillRejected", details=f"{source}: {reason}", success=False)


def _install_fetched(node, staging, source, fetched, grants, grant_all, ask, wanted_id):
    from .skill_manifest import check_dependencies, check_platform, validate_dir
    from .skill_sign import check_signature

    index = staging / BUNDLE_INDEX
    if index.exists():
        folders, expected = _bundle_members(index)
    else:
        folders, expected = [staging], {}
    skills = [validate_dir(folder) for folder in folders]
    if wanted_id and [s.id for s in skills] != [wanted_id]:
        raise SkillError(f"{source}: the registry returned {', '.join(s.id for s in skills)}, "
                         f"not {wanted_id}")
    lock = read_lock(node.home)
    present, _ = find_skills(node.home, node.config.get("skills", {}).get("bundled", True))
    available = {s.id: s.version for s in present if s.enabled}
    available.update({s.id: s.version for s in skills})
    config = node.config.get("skills", {})
    results = []
    for skill, folder in zip(skills, folders):
        missing_tools = check_platform(skill)
        check_dependencies(skill, available)
        hashes = file_hashes(folder)
        integrity = content_hash(hashes)
        if skill.id in expected and expected[skill.id] != integrity:
            raise SkillError(f"{index}: {skill.id}: integrity does not match the bundle index")
        signer = check_signature(folder, integrity, config.get("trusted_signers", []),
                                 config.get("require_signature", False))
        previous = lock.get(skill.id, {})
        granted, not_granted = _decide(skill, grants, grant_all, ask,
                                       previous.get("capabilities") or [])
        _move_into_place(folder, Path(node.home) / SKILLS_DIR / skill.id)
        st = os.stat(Path(node.home) / SKILLS_DIR / skill.id / MANIFEST)
        entry = {"version": skill.version, "source": source, "kind": fetched.kind,
                 "ref": fetched.ref, "integrity": integrity, "files": hashes,
                 "capabilities": granted, "enabled": True, "signer": signer,
                 "installed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "manifest_stat": [st.st_mtime_ns, st.st_size], "manifest": skill.manifest}
        update_lock(node.home, skill.id, entry)
        verb = "upgraded" if previous.get("integrity") else "installed"
        node.audit.append("SkillChanged", details=f"{verb} {skill.id} {skill.version} from "
                          f"{source} ({fetched.kind} {fetched.ref}) integrity {integrity}"
                          + (f" signed by {signer}" if signer else ""))
        for capability in granted:
            node.audit.append("SkillChanged", details=f"granted {capability} to {skill.id}")
        results.append(Installed(skill.id, skill.version, source, fetched.kind, fetched.ref,
                                 granted, not_granted, signer, missing_tools))
    return results


def _bundle_members(index):
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        assert data["format"] == BUNDLE_FORMAT
        members = {m["id"]: m["integrity"] for m in data["skills"]}
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise SkillError(f"{index}: not a Caro skill bundle index") from None
    folders = []
    for skill_id in members:
        if not ID_RE.fullmatch(skill_id) or not (index.parent / skill_id).is_dir():
            raise SkillError(f"{index}: skills: {skill_id!r} is not a folder of the bundle")
        folders.append(index.parent / skill_id)
    return folders, members


def _decide(skill, grants, grant_all, ask, previous):
    requested = skill.requested
    for name in grants:
        if name != "all" and name not in requested:
            raise SkillError(f"{skill.directory / MANIFEST}: capabilities.{name}: {skill.id} does "
                             f"not request {name}; nothing to grant")
    granted = []
    for name in requested:
        if grant_all or "all" in grants or name in grants or name in previous:
            granted.append(name)
        elif ask is not None and ask(skill, name):
            granted.append(name)
    return granted, [name for name in requested if name not in granted]


def _move_into_place(folder, target):
    """Rename ``folder`` to ``target``; an existing ``target`` is replaced, then deleted."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.rename(target, old)
    try:
        os.rename(folder, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def lookup(node, skill_id):
    """The skill and its (possibly new) lockfile entry; raises when there is no such skill."""
    skills, _ = find_skills(node.home, True)
    skill = next((s for s in skills if s.id == skill_id), None)
    if skill is None:
        raise SkillError(f"no skill {skill_id!r} is installed or bundled (see caro skills list --all)")
    entry = read_lock(node.home).get(skill_id)
    if entry is None:
        entry = {"source": "bundled", "version": skill.version, "enabled": True,
                 "capabilities": sorted(skill.granted)}
    return skill, entry


def set_enabled(node, skill_id, enabled):
    """Enable or disable one skill; refuses to disable a skill others depend on."""
    with locked(node.home):
        skill, entry = lookup(node, skill_id)
        skills, _ = find_skills(node.home, True)
        if enabled:
            from .skill_manifest import check_dependencies, validate_dir

            validate_dir(skill.directory)
            check_dependencies(skill, {s.id: s.version for s in skills if s.enabled})
        else:
            users = [s.id for s in skills if s.enabled and skill_id in
                     s.manifest.get("dependencies", {})]
            if users:
                raise SkillError(f"{', '.join(users)} depend(s) on {skill_id}; disable "
                                 f"{'them' if len(users) > 1 else 'it'} first")
        entry["enabled"] = enabled
        update_lock(node.home, skill_id, entry)
    node.audit.append("SkillChanged", details=f"{'enabled' if enabled else 'disabled'} {skill_id}")
    return skill


def set_capability(node, skill_id, capability, granted):
    """Grant or revoke one capability the skill requests."""
    if capability not in CAPABILITIES:
        raise SkillError(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
    with locked(node.home):
        skill, entry = lookup(node, skill_id)
        if granted and capability not in skill.requested:
            raise SkillError(f"{skill.directory / MANIFEST}: capabilities.{capability}: "
                             f"{skill_id} does not request {capability}; nothing to grant")
        caps = set(entry.get("capabilities") or [])
        caps = caps | {capability} if granted else caps - {capability}
        entry["capabilities"] = sorted(caps)
        update_lock(node.home, skill_id, entry)
    node.audit.append("SkillChanged", details=f"{'granted' if granted else 'revoked'} "
                                              f"{capability} {'to' if granted else 'from'} {skill_id}")


def remove(node, skill_id):
    """Remove an installed skill, even a broken one; returns its version.

    Bundled skills can only be disabled.
    """
    with locked(node.home):
        entry = read_lock(node.home).get(skill_id)
        if entry is None or entry.get("source") == "bundled":
            lookup(node, skill_id)  # says when there is no such skill at all
            raise SkillError(f"{skill_id} is bundled with Caro and cannot be removed; "
                             f"caro skills disable {skill_id}")
        skills, _ = find_skills(node.home, True)
        users = [s.id for s in skills if s.enabled and skill_id in s.manifest.get(
            "dependencies", {})]
        if users:
            raise SkillError(f"{', '.join(users)} depend(s) on {skill_id}; remove or disable "
                             f"{'them' if len(users) > 1 else 'it'} first")
        update_lock(node.home, skill_id, None)
        target = Path(node.home) / SKILLS_DIR / skill_id
        if target.exists():
            doomed = target.with_name(f".removed-{skill_id}-{os.getpid()}")
            os.rename(target, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    version = entry.get("version", "?")
    node.audit.append("SkillChanged", details=f"removed {skill_id} {version}")
    return version


def bundle(node, out_path):
    """Write every installed skill into one tar.gz for an air-gapped site; returns the ids."""
    lock = read_lock(node.home)
    installed = {i: e for i, e in sorted(lock.items()) if e.get("source") != "bundled"}
    if not installed:
        raise SkillError("no installed skills to bundle (bundled skills ship with every Caro)")
    root = Path(node.home) / SKILLS_DIR
    members = []
    for skill_id, entry in installed.items():
        hashes = file_hashes(root / skill_id)
        if content_hash(hashes) != entry.get("integrity"):
            raise SkillError(f"{root / skill_id}: files changed since install "
                             f"(caro skills verify); reinstall it before bundling")
        members.append({"id": skill_id, "version": entry["version"],
                        "integrity": entry["integrity"]})
    index = json.dumps({"format": BUNDLE_FORMAT, "version": 1, "skills": members},
                       indent=2).encode("utf-8")
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        _add_bytes(tar, BUNDLE_INDEX, index)
        for member in members:
            folder = root / member["id"]
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                _add_bytes(tar, f"{member['id']}/{path.relative_to(folder).as_posix()}",
                           path.read_bytes())
    os.replace(tmp, out_path)
    return [m["id"] for m in members]


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))
