"""Checking a skill folder: the manifest schema, its files, its recipes, its platform.

:func:`validate_dir` is what ``caro skills install`` and ``caro skills
validate`` run: the manifest against ``schemas/skill.schema.json``
(jsonschema), then what a schema cannot say — every knowledge topic and
recipe file exists, every recipe file fits ``$defs/recipe_file`` and uses only
parameters it defines, the WASM module exists.  The first problem is raised
as one :class:`~caro_core.skills.SkillError` naming the file and the field.
"""

import functools
import json
import platform
import shutil
import sys
import tomllib
from importlib import resources
from pathlib import Path

from . import __version__
from .skills import CAPABILITIES, MANIFEST, NAMESPACES, SkillError, make_skill, read_manifest


#: The lockfile entry of a skill being checked: nothing granted yet.
_UNINSTALLED = {"capabilities": [], "source": "", "enabled": False}


@functools.cache
def schema():
    """The manifest schema (a dict), read once from the package."""
    return json.loads(resources.files("caro_core").joinpath("schemas/skill.schema.json")
                      .read_text(encoding="utf-8"))


@functools.cache
def _validator(definition=None):
    import jsonschema  # ~80 ms to import: only commands that validate pay for it

    root = schema()
    target = root if definition is None else {**root["$defs"][definition], "$defs": root["$defs"]}
    return jsonschema.Draft202012Validator(target)


def _field(path):
    """``recipe[0].steps[1].command`` from a jsonschema error path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _check(document, path, definition=None):
    errors = list(_validator(definition).iter_errors(document))
    if not errors:
        return
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(errors)
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = unknown[0] if unknown else "?"
        if where == ["capabilities"]:
            raise SkillError(f"{path}: capabilities.{name}: unknown capability "
                             f"(known: {', '.join(CAPABILITIES)})")
        known = ", ".join(sorted(error.schema.get("properties", {})))
        raise SkillError(f"{path}: {_field(where + [name])}: unknown field (known: {known})")
    if error.validator == "required":
        name = error.message.split("'")[1] if "'" in error.message else "?"
        raise SkillError(f"{path}: {_field(where + [name])}: required field missing")
    if where == ["skill", "id"] and error.validator == "pattern":
        raise SkillError(f"{path}: skill.id: {error.instance!r} is not <namespace>.<name> with a "
                         f"namespace of {', '.join(NAMESPACES)} and a lowercase name")
    message = error.message if len(error.message) < 160 else error.message[:157] + "..."
    raise SkillError(f"{path}: {_field(where)}: {message}")


def validate_manifest(manifest, path):
    """Check a parsed manifest against the schema; raise :class:`SkillError` on the first problem."""
    _check(manifest, path)
    provides = manifest.get("provides", {})
    for layer in ("knowledge", "recipes", "executable"):
        if provides.get(layer) and layer not in manifest:
            raise SkillError(f"{path}: {layer}: required because provides.{layer} is true")
    if not any(provides.values()) and not manifest.get("categories") and not manifest.get(
            "guardrails"):
        raise SkillError(f"{path}: provides: the skill provides nothing (set knowledge, recipes "
                         f"or executable to true)")
    wanted = manifest["skill"].get("min_caro_version")
    if wanted and version_key(wanted) > version_key(__version__):
        raise SkillError(f"{path}: skill.min_caro_version: needs Caro {wanted}, this is "
                         f"{__version__}; upgrade Caro")


def validate_dir(directory):
    """Validate the skill in ``directory`` completely; returns the :class:`~caro_core.skills.Skill`."""
    from .skill_recipe import load_recipes

    directory = Path(directory)
    path = directory / MANIFEST
    manifest = read_manifest(directory)
    validate_manifest(manifest, path)
    provides = manifest["provides"]
    if provides.get("knowledge"):
        for n, topic in enumerate(manifest["knowledge"]["topics"]):
            if not (directory / "knowledge" / f"{topic}.md").is_file():
                raise SkillError(f"{path}: knowledge.topics[{n}]: knowledge/{topic}.md is missing")
    if provides.get("recipes"):
        for n, name in enumerate(manifest["recipes"]["files"]):
            recipe_path = directory / name
            if not recipe_path.is_file():
                raise SkillError(f"{path}: recipes.files[{n}]: {name} is missing")
            _check(read_toml(recipe_path), recipe_path, "recipe_file")
        load_recipes(make_skill(directory, manifest, _UNINSTALLED))
    if provides.get("executable"):
        module = manifest["executable"]["module"]
        if not (directory / module).is_file():
            raise SkillError(f"{path}: executable.module: {module} is missing")
    return make_skill(directory, manifest, _UNINSTALLED)


def read_toml(path):
    """Parse a TOML file, errors as one :class:`SkillError` line."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise SkillError(f"{path}: TOML syntax error: {e}") from None
    except OSError as e:
        raise SkillError(f"{path}: cannot read: {e.strerror}") from None


def version_key(version):
    """``"1.2.3-rc1"`` -> ``(1, 2, 3)``: the numeric part, padded to three numbers."""
    numbers = version.split("-")[0].split("+")[0].split(".")
    parts = tuple(int(n) for n in numbers if n.isdigit())
    return parts + (0,) * (3 - len(parts))


def satisfies(version, spec):
    """True when ``version`` meets ``spec``: ``*`` or comma-separated ``>=1.2``, ``^1.2``, ``~1.2``…"""
    have = version_key(version)
    for clause in spec.split(","):
        clause = clause.strip()
        if clause in ("", "*"):
            continue
        op = next((o for o in (">=", "<=", "==", "!=", ">", "<", "^", "~") if clause.startswith(o)),
                  "==")
        want = version_key(clause[len(op):].strip() if clause.startswith(op) else clause)
        if op == "^":
            upper = (want[0] + 1, 0, 0) if want[0] else (0, want[1] + 1, 0)
            ok = want <= have < upper
        elif op == "~":
            ok = want <= have < (want[0], want[1] + 1, 0)
        else:
            ok = {">=": have >= want, "<=": have <= want, "==": have == want,
                  "!=": have != want, ">": have > want, "<": have < want}[op]
        if not ok:
            return False
    return True


#: ``platform.machine()`` spellings -> the manifest's names
_ARCH = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv7l": "arm", "armv6l": "arm"}
_OS = {"darwin": "macos", "win32": "windows"}


def check_platform(skill):
    """Raise when the skill cannot run here (os, arch); return the required tools not on PATH."""
    wanted = skill.manifest.get("platform", {})
    here_os = _OS.get(sys.platform, "linux" if sys.platform.startswith("linux") else sys.platform)
    machine = platform.machine().lower()
    here_arch = _ARCH.get(machine, machine)
    path = skill.directory / MANIFEST
    if wanted.get("os") and here_os not in wanted["os"]:
        raise SkillError(f"{path}: platform.os: runs on {', '.join(wanted['os'])}, "
                         f"this is {here_os}")
    if wanted.get("arch") and here_arch not in wanted["arch"]:
        raise SkillError(f"{path}: platform.arch: runs on {', '.join(wanted['arch'])}, "
                         f"this is {here_arch}")
    return [tool for tool in wanted.get("required_tools", ()) if shutil.which(tool) is None]


def check_dependencies(skill, available):
    """Raise unless every dependency is in ``available`` (id -> version) at a fitting version."""
    path = skill.directory / MANIFEST
    for dep, spec in skill.manifest.get("dependencies", {}).items():
        if dep not in available:
            raise SkillError(f"{path}: dependencies.{dep}: needs skill {dep} {spec}, which is "
                             f"not installed; install it first")
        if not satisfies(available[dep], spec):
            raise SkillError(f"{path}: dependencies.{dep}: needs {dep} {spec}, "
                             f"{available[dep]} is installed")
