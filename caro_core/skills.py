"""Skills (ADR-004): installed knowledge packs, recipes and WASM modules.

This module is what every start-up pays for, so it stays small: the data types
(:class:`Skill`, :class:`RecipeStep`, :class:`FetchResult`), where skills live,
and :func:`register_skills`, which turns each enabled skill into plugin objects
on the node's plugin manager through ``caro_skill_plugins``.  Validation with
jsonschema, installation, the lockfile and signatures live in the
``caro_core.skill_*`` modules and load only when a command needs them.

Two places hold skills: the first-party skills bundled in the ``caro_skills``
package (enabled by default, ``[skills] bundled = false`` hides them) and
``$CARO_HOME/skills/<id>/`` (installed with ``caro skills install``, recorded in
``$CARO_HOME/skills.lock``).  An installed skill shadows a bundled one of the
same id.
"""

import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CaroError

MANIFEST = "skill.toml"
SIGNATURE = "skill.sig"
SKILLS_DIR = "skills"
LOCK_FILE = "skills.lock"
CACHE_FILE = "skills.cache"

#: The namespaces a skill id may start with.
NAMESPACES = ("core", "cloud", "tool", "lang", "platform", "custom")
#: ``<namespace>.<name>``: lowercase letters, digits and dashes.
ID_PATTERN = r"(core|cloud|tool|lang|platform|custom)\.[a-z0-9][a-z0-9-]{0,62}"
ID_RE = re.compile(ID_PATTERN)

#: Every capability a manifest may request; anything else is an error.
CAPABILITIES = ("terminal_exec", "filesystem_read", "filesystem_write", "network", "env_read",
                "secrets_access")
#: The layers a skill can provide, in the order they are described.
LAYERS = ("knowledge", "recipes", "executable")
#: Recipe confirmation policies: run without asking, ask unless the safety
#: mode says otherwise, always ask.
CONFIRMATIONS = ("auto", "prompt", "always")
#: Recipe step roles: the steps proper, checks after them, undo on failure.
STEP_ROLES = ("run", "verify", "rollback")


class SkillError(CaroError):
    """A skill cannot be loaded, installed or changed; the message names file and field."""

    exit_code = 5


@dataclass(frozen=True)
class FetchResult:
    """What a ``caro_skill_fetch`` plugin fetched: the source kind and the exact ref resolved."""

    kind: str   # "path", "git", "archive", "oci-layout", "oci-registry"
    ref: str    # what was resolved: a commit, a digest, an absolute path


@dataclass(frozen=True)
class RecipeStep:
    """One command of a recipe, parameters already filled in and shell-quoted.

    ``role`` is ``run`` (the steps proper, in order), ``verify`` (run after
    the steps; ``expect`` must match its output) or ``rollback`` (run when a
    step fails).  ``risk`` is the skill author's claim (``safe``, ``moderate``,
    ``high``, ``critical``); the safety engine still assesses every step and
    the higher of the two counts.  ``confirmation`` is ``auto``, ``prompt`` or
    ``always``.
    """

    command: str
    description: str = ""
    risk: str = "safe"
    confirmation: str = "prompt"
    expected_output: str = ""
    expect: str = ""          # a regular expression the output must contain ("" = no check)
    timeout: float = 60.0     # seconds
    role: str = "run"


@dataclass
class Skill:
    """A skill found on this node: its manifest, where it lives and what it was granted.

    ``granted`` holds the names of the capabilities the user granted (see
    :data:`CAPABILITIES`); :meth:`capability` gives the manifest's request for a
    granted one.  ``source`` is ``"bundled"`` or the source it was installed from.
    """

    id: str
    version: str
    directory: Path
    manifest: dict
    granted: frozenset = frozenset()
    enabled: bool = True
    source: str = "bundled"
    #: plugin objects registered for this skill (filled by :func:`register_skills`)
    plugins: list = field(default_factory=list, repr=False)
    #: where the skill's plugins audit capability uses: ``audit.append(event_type, …)``
    #: (the node's log, set by :func:`register_skills`; None when loaded without a node)
    audit: object = field(default=None, repr=False, compare=False)
    #: ``redact(text) -> text``: the node's secret redaction, for layers that must not
    #: see secrets without ``secrets_access`` (set by :func:`register_skills`)
    redact: object = field(default=None, repr=False, compare=False)

    @property
    def name(self):
        return self.manifest.get("skill", {}).get("name", self.id)

    @property
    def description(self):
        return self.manifest.get("skill", {}).get("description", "")

    @property
    def bundled(self):
        return self.source == "bundled"

    @property
    def layers(self):
        """The layers this skill provides, in :data:`LAYERS` order."""
        provides = self.manifest.get("provides", {})
        return [layer for layer in LAYERS if provides.get(layer)]

    @property
    def requested(self):
        """The capabilities the manifest requests, in :data:`CAPABILITIES` order."""
        caps = self.manifest.get("capabilities", {})
        return [name for name in CAPABILITIES if _requests(caps.get(name))]

    def capability(self, name):
        """The manifest's request for capability ``name`` when granted, else None."""
        if name not in self.granted:
            return None
        return self.manifest.get("capabilities", {}).get(name)

    def may_run(self, program):
        """True when the granted ``terminal_exec`` lets this skill propose ``program``."""
        terminal = self.capability("terminal_exec")
        if not terminal or not terminal.get("allowed", True):
            return False
        if program in terminal.get("blocked", ()):
            return False
        return program in terminal.get("commands", ())


class SkillPlugin:
    """Base class of the plugin objects a skill's layers become (``caro_skill_plugins``).

    It keeps the skill in ``self.skill`` and shows pluggy only its ``caro_*``
    methods: pluggy inspects every name ``dir()`` lists when registering, so
    this makes registering a skill's plugins about ten times cheaper.
    """

    def __init__(self, skill):
        self.skill = skill

    def __dir__(self):
        return [name for name in dir(type(self)) if name.startswith("caro_")]


class _NodeAudit:
    """The node's audit log, opened on the first append: loading skills creates no file."""

    def __init__(self, node):
        self._node = node

    def append(self, event_type, details="", peer=None, success=True):
        return self._node.audit.append(event_type, details=details, peer=peer, success=success)


class _NodeRedaction:
    """The node's secret redaction as ``text -> text``; always on, whatever ``[redact] enabled``
    says about display, because withholding secrets from a skill is a capability boundary."""

    def __init__(self, node):
        self._node = node

    def __call__(self, text):
        from .redact import redact

        patterns = self._node.config.get("redact", {}).get("patterns", ())
        return redact(self._node.pm, text, patterns, True)[0]


def _requests(value):
    if isinstance(value, dict):
        return bool(value.get("allowed", True)) and bool(value.get("commands"))
    return bool(value)


def skills_dir(home):
    """``$CARO_HOME/skills``: one folder per installed skill, named by id."""
    return Path(home) / SKILLS_DIR


def bundled_dir():
    """The folder of the first-party skills shipped in the ``caro_skills`` package."""
    import caro_skills

    return Path(caro_skills.__file__).parent


def read_lock(home):
    """The lockfile's ``skills`` table (id -> entry); empty when there is no lockfile."""
    path = Path(home) / LOCK_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise SkillError(f"{path}: cannot read the lockfile: {e}; restore it from a backup "
                         f"or reinstall the skills") from None
    skills = data.get("skills") if isinstance(data, dict) else None
    if not isinstance(skills, dict):
        raise SkillError(f"{path}: field 'skills' is missing; restore it from a backup")
    return skills


def read_manifest(directory):
    """Parse ``directory/skill.toml`` (TOML only; :mod:`caro_core.skill_manifest` validates)."""
    path = Path(directory) / MANIFEST
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SkillError(f"{path}: no skill manifest (skill.toml) here") from None
    except tomllib.TOMLDecodeError as e:
        raise SkillError(f"{path}: TOML syntax error: {e}") from None
    except OSError as e:
        raise SkillError(f"{path}: cannot read: {e.strerror}") from None


def make_skill(directory, manifest, entry=None):
    """A :class:`Skill` from a manifest and its lockfile entry (None: a bundled skill's defaults).

    Raises :class:`SkillError` when the manifest lacks what loading needs; the
    full schema check is :func:`caro_core.skill_manifest.validate_manifest`.
    """
    path = Path(directory) / MANIFEST
    meta = manifest.get("skill")
    if not isinstance(meta, dict):
        raise SkillError(f"{path}: [skill]: table missing")
    skill_id, version = meta.get("id"), meta.get("version")
    if not isinstance(skill_id, str) or not ID_RE.fullmatch(skill_id):
        raise SkillError(f"{path}: [skill] id: expected <namespace>.<name> with a namespace of "
                         f"{', '.join(NAMESPACES)}, got {skill_id!r}")
    if not isinstance(version, str):
        raise SkillError(f"{path}: [skill] version: expected a string, got {version!r}")
    if entry is None:  # bundled: enabled, its declared terminal commands granted (docs/skills.md)
        granted = frozenset({"terminal_exec"} & set(_declared(manifest)))
        return Skill(skill_id, version, Path(directory), manifest, granted, True, "bundled")
    granted = entry.get("capabilities")
    if granted is None:  # a bundled skill whose state the user changed
        granted = {"terminal_exec"} & set(_declared(manifest))
    return Skill(skill_id, version, Path(directory), manifest, frozenset(granted),
                 bool(entry.get("enabled", True)), entry.get("source", "bundled"))


def _declared(manifest):
    caps = manifest.get("capabilities", {})
    return [name for name in CAPABILITIES if isinstance(caps, dict) and _requests(caps.get(name))]


def find_skills(home, include_bundled=True):
    """Every skill on this node, enabled or not, and the problems met: ``(skills, errors)``.

    Installed skills come from the lockfile; bundled ones from the package
    unless ``include_bundled`` is false.  A skill that cannot be read adds a
    one-line message to ``errors`` and is left out; the others are returned.
    """
    errors = []
    lock = read_lock(home)
    found = {}
    if include_bundled:
        cache = _ManifestCache(home)
        for entry in sorted(os.scandir(bundled_dir()), key=lambda e: e.name):
            if entry.is_dir() and ID_RE.fullmatch(entry.name):
                state = lock.get(entry.name, {})
                _add(found, errors, Path(entry.path),
                     state if state.get("source") == "bundled" else None, cache)
        cache.save()
    installed = skills_dir(home)
    for skill_id, entry in sorted(lock.items()):
        if entry.get("source") != "bundled":
            _add(found, errors, installed / skill_id, entry)
    return list(found.values()), errors


def _add(found, errors, directory, entry, cache=None):
    try:
        manifest = cache.manifest(directory) if cache is not None else None
        if entry is not None and "manifest_stat" in entry:
            st = os.stat(directory / MANIFEST)
            if [st.st_mtime_ns, st.st_size] == entry["manifest_stat"]:
                manifest = entry.get("manifest")  # validated at install, cached: no TOML parse
            else:
                from .skill_manifest import validate_manifest  # changed since install: check again

                manifest = read_manifest(directory)
                validate_manifest(manifest, directory / MANIFEST)
        if manifest is None:
            manifest = read_manifest(directory)
        skill = make_skill(directory, manifest, entry)
        if skill.id != directory.name:
            raise SkillError(f"{directory / MANIFEST}: [skill] id: {skill.id!r} does not match "
                             f"its folder {directory.name!r}")
    except SkillError as e:
        errors.append(str(e))
        return
    except OSError as e:
        errors.append(f"{directory}: {e.strerror}; reinstall the skill or run "
                      f"caro skills remove {directory.name}")
        return
    found[skill.id] = skill


class _ManifestCache:
    """Parsed bundled manifests kept in ``$CARO_HOME/skills.cache``, keyed by file time and size.

    Parsing TOML is most of the cost of loading the bundled skills; JSON is
    read several times faster.  The cache is only written into an existing home.
    """

    def __init__(self, home):
        self.path = Path(home) / CACHE_FILE
        try:
            self.entries = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            self.entries = {}
        if not isinstance(self.entries, dict):
            self.entries = {}
        self.changed = False

    def manifest(self, directory):
        """The parsed manifest of ``directory`` (OSError when it has none)."""
        path = directory / MANIFEST
        st = os.stat(path)
        key = [st.st_mtime_ns, st.st_size]
        hit = self.entries.get(str(path))
        if isinstance(hit, list) and len(hit) == 3 and hit[:2] == key:
            return hit[2]
        manifest = read_manifest(directory)
        self.entries[str(path)] = key + [manifest]
        self.changed = True
        return manifest

    def save(self):
        if not self.changed or not self.path.parent.is_dir():
            return
        tmp = self.path.with_name(CACHE_FILE + f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(tmp, self.path)
        except (OSError, TypeError):  # a read-only home, a manifest JSON cannot hold: no cache
            tmp.unlink(missing_ok=True)


def register_skills(node):
    """Register every enabled skill's plugin objects on ``node.pm``; returns all skills found.

    Each skill's problems (unreadable, missing dependency, a layer's plugin
    failing) print one warning line and leave that skill out; the others load.
    """
    config = node.config.get("skills", {})
    try:
        skills, errors = find_skills(node.home, config.get("bundled", True))
    except SkillError as e:
        _warn(f"{e}; no skill loaded")
        return []
    enabled = {s.id: s for s in skills if s.enabled}
    audit, redaction = _NodeAudit(node), _NodeRedaction(node)
    for skill in enabled.values():
        skill.audit, skill.redact = audit, redaction
        missing = [dep for dep in skill.manifest.get("dependencies", {}) if dep not in enabled]
        if missing:
            errors.append(f"skill {skill.id}: needs {', '.join(missing)}, which is not enabled")
            skill.enabled = False
            continue
        try:
            objects = [obj for batch in node.pm.hook.caro_skill_plugins(skill=skill)
                       for obj in batch or ()]
            for n, obj in enumerate(objects):
                node.pm.register(obj, name=f"skill:{skill.id}:{n}")
                skill.plugins.append(obj)
        except Exception as e:  # one broken skill must not take the node down
            for obj in skill.plugins:
                node.pm.unregister(obj)
            skill.plugins.clear()
            skill.enabled = False
            errors.append(f"skill {skill.id}: {type(e).__name__}: {e}")
    for message in errors:
        _warn(f"{message}; skipped")
    return skills


def _warn(message):
    sys.stderr.write("caro: warning: " + " ".join(str(message).split()) + "\n")
