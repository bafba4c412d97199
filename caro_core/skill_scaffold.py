"""``caro skills new ID``: a working knowledge + recipe skill to start from."""

from pathlib import Path

from . import __version__
from .skills import ID_RE, NAMESPACES, SkillError

_MANIFEST = '''\
[skill]
id = "{id}"
name = "{title}"
version = "0.1.0"
description = "What {title} teaches Caro (one sentence)"
api_version = 1
authors = []
license = "MIT"
keywords = ["{name}"]
min_caro_version = "{caro_version}"

[provides]
knowledge = true
recipes = true

[knowledge]
topics = ["overview"]           # knowledge/overview.md; add a topic per file
priority = 50

[recipes]
files = ["recipes/basics.toml"]
default_confirmation = "prompt"

[capabilities]
# every program a recipe step runs must be listed here, and granted at install
terminal_exec = {{ commands = ["echo"] }}
'''

_KNOWLEDGE = '''\
# {title}

Write here what someone needs to know to use {title} from a terminal: the
workflows people really run, the commands for each step, and the mistakes to avoid.

## Getting started

`echo hello` prints a greeting; replace this passage with your own.
'''

_RECIPES = '''\
[[recipe]]
id = "hello"
title = "Greet {{who}}"
description = "Print a greeting (replace with a real workflow)."

[recipe.triggers]
keywords = ["{name}", "hello"]
intents = ["say hello to {{who}}", "{name} hello {{who}}"]

[recipe.parameters.who]
type = "string"
default = "world"
pattern = "[A-Za-z0-9 _.-]{{1,40}}"
description = "who to greet"

[[recipe.steps]]
command = "echo hello {{who}}"
description = "print the greeting"
risk = "safe"
expected_output = "hello {{who}}"
timeout = 5
'''


def scaffold(skill_id, parent):
    """Create ``parent/<skill_id>/`` with a valid skill; returns its path."""
    if not ID_RE.fullmatch(skill_id):
        raise SkillError(f"{skill_id!r} is not a skill id: use <namespace>.<name> with a namespace "
                         f"of {', '.join(NAMESPACES)} and lowercase letters, digits, dashes")
    target = Path(parent) / skill_id
    if target.exists():
        raise SkillError(f"{target} already exists; choose another folder with --dir")
    name = skill_id.split(".", 1)[1]
    values = {"id": skill_id, "name": name, "title": name.replace("-", " ").title(),
              "caro_version": __version__}
    (target / "knowledge").mkdir(parents=True)
    (target / "recipes").mkdir()
    (target / "skill.toml").write_text(_MANIFEST.format(**values), encoding="utf-8")
    (target / "knowledge" / "overview.md").write_text(_KNOWLEDGE.format(**values), encoding="utf-8")
    (target / "recipes" / "basics.toml").write_text(_RECIPES.format(**values), encoding="utf-8")
    return target
