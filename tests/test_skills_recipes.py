"""Recipe skills: triggers, typed parameters, preconditions, capabilities, priority.

Each test installs a real recipe skill into the test's CARO_HOME and asks the
node's plugin manager for candidates, as the copilot does.
"""

import json
import os

import pytest

from caro_core import skills as skills_mod
from caro_core.copilot import run
from caro_core.generate import GenerateContext, assess_candidate
from caro_core.node import Node
from caro_core.skill_install import install, set_capability
from caro_core.skill_manifest import validate_dir
from caro_core.skills import SkillError

MANIFEST = """\
[skill]
id = "{id}"
name = "Demo"
version = "1.0.0"
description = "Recipes for tests"
api_version = 1

[provides]
recipes = true

[recipes]
files = ["recipes/main.toml"]
default_confirmation = "always"

[capabilities]
terminal_exec = {{ commands = {commands}, blocked = {blocked} }}
"""

RECIPES = """\
[[recipe]]
id = "archive"
title = "Archive {{folder}} as {{name}}"
description = "Pack a folder into a tarball."
priority = {priority}

[recipe.triggers]
keywords = ["archive", "tarball", "folder"]
intents = ["archive {{folder}} as {{name}}", "pack {{folder}} into {{name}}"]

[recipe.parameters.folder]
type = "path"
extract = "folder (\\\\S+)"
description = "what to pack"

[recipe.parameters.name]
type = "string"
pattern = "[A-Za-z0-9._-]+"
default = "backup.tar.gz"

[recipe.parameters.level]
type = "integer"
default = 6
min = 1
max = 9
extract = "level (\\\\d+)"

[[recipe.steps]]
command = "tar -czf {{name}} {{folder}}"
description = "pack {{folder}}"
risk = "moderate"
timeout = 120
expected_output = "{{name}} written"

[[recipe.verification]]
command = "tar -tzf {{name}}"
description = "list the archive"
expect = "."

[[recipe.rollback]]
command = "rm -f {{name}}"
description = "remove a partial archive"
"""


def write_skill(parent, skill_id="custom.demo", commands='["tar", "rm"]', blocked="[]",
                priority=50, recipes=None):
    folder = parent / skill_id
    (folder / "recipes").mkdir(parents=True)
    (folder / "skill.toml").write_text(MANIFEST.format(id=skill_id, commands=commands,
                                                       blocked=blocked))
    (folder / "recipes" / "main.toml").write_text(recipes or RECIPES.format(priority=priority))
    return folder


@pytest.fixture
def home(caro_home):
    caro_home.mkdir(parents=True)
    (caro_home / "config.toml").write_text("[skills]\nbundled = false\n")
    return caro_home


def candidates(home, request, programs=frozenset({"tar", "rm"})):
    node = Node.load(home, environ={})
    context = GenerateContext(platform="linux", backend="offline", programs=programs, node=node)
    found = [c for batch in node.pm.hook.caro_generate_commands(request=request, context=context)
             for c in batch if c.backend == "recipe"]
    return sorted(found, key=lambda c: -c.confidence)


def audit_entries(home, event_type):
    lines = (home / "audit.log").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event_type"] == event_type]


def test_intent_fills_typed_parameters_and_steps(home, tmp_path):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    [c] = candidates(home, "please archive ./src as src.tgz")
    assert c.command == "tar -czf src.tgz ./src"
    assert c.source == "custom.demo" and c.backend == "recipe"
    assert c.explanation == "Archive ./src as src.tgz: Pack a folder into a tarball."
    assert [(s.role, s.command) for s in c.steps] == [
        ("run", "tar -czf src.tgz ./src"), ("verify", "tar -tzf src.tgz"),
        ("rollback", "rm -f src.tgz")]
    step = c.steps[0]
    assert (step.risk, step.confirmation, step.timeout, step.expected_output) == (
        "moderate", "always", 120.0, "src.tgz written")
    assert c.steps[1].expect == "."


def test_invalid_value_means_no_proposal(home, tmp_path):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    assert candidates(home, "archive ./src as 'my backup.tgz'") == []
    assert candidates(home, "archive ./src as x;rm") == []


def test_values_are_shell_quoted(home, tmp_path):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    [c] = candidates(home, 'archive "$(reboot) x" as out.tgz')
    assert c.command == "tar -czf out.tgz '$(reboot) x'"
    [c] = candidates(home, "archive ~/notes as notes.tgz")
    assert c.command.endswith("/user-home/notes")


def test_keywords_with_extract_and_defaults(home, tmp_path):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    [c] = candidates(home, "make a tarball archive of the folder docs")
    assert c.command == "tar -czf backup.tar.gz docs"
    by_intent = candidates(home, "archive docs as backup.tar.gz")[0].confidence
    assert 0 < c.confidence < by_intent
    assert candidates(home, "tarball please") == []          # 1 of 3 keywords: too few


def test_preconditions(home, tmp_path, monkeypatch):
    recipes = RECIPES.format(priority=50).replace(
        '[[recipe.steps]]', '[recipe.preconditions]\ncommands = ["tar"]\nenv = ["DEMO_TOKEN"]\n\n'
                            '[[recipe.steps]]', 1)
    install(Node.load(home, environ={}), str(write_skill(tmp_path, recipes=recipes)),
            grant_all=True)
    monkeypatch.delenv("DEMO_TOKEN", raising=False)
    assert candidates(home, "archive src as b.tgz") == []
    monkeypatch.setenv("DEMO_TOKEN", "x")
    assert candidates(home, "archive src as b.tgz", programs=frozenset({"ls"})) == []
    assert len(candidates(home, "archive src as b.tgz")) == 1


def test_terminal_exec_denied_then_granted(home, tmp_path):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)))   # nothing granted
    assert candidates(home, "archive src as b.tgz") == []
    refused = audit_entries(home, "CapabilityUsed")
    assert len(refused) == 1 and refused[0]["success"] is False
    assert "custom.demo terminal_exec" in refused[0]["details"]
    assert "rm, tar not granted" in refused[0]["details"]

    set_capability(Node.load(home, environ={}), "custom.demo", "terminal_exec", True)
    assert [c.command for c in candidates(home, "archive src as b.tgz")] == ["tar -czf b.tgz src"]
    assert len(audit_entries(home, "CapabilityUsed")) == 1   # proposing is not using
    grants = [e["details"] for e in audit_entries(home, "SkillChanged")]
    assert "granted terminal_exec to custom.demo" in grants


def test_running_a_recipe_audits_each_command_it_ran(home, tmp_path, monkeypatch):
    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "src" / "notes.txt").write_text("x")
    monkeypatch.chdir(work)
    [candidate] = candidates(home, "archive src as b.tgz")
    node = Node.load(home, environ={})
    try:
        assessed = assess_candidate(node.pm, candidate, "moderate")
        environ = {"SHELL": "/bin/sh", "PATH": os.environ["PATH"]}
        assert run(node, assessed, yes=True, interactive=False, environ=environ) == 0
    finally:
        node.close()
    assert (work / "b.tgz").is_file()
    used = audit_entries(home, "CapabilityUsed")
    assert [(e["success"], e["details"]) for e in used] == [
        (True, "skill custom.demo terminal_exec: ran tar; pattern tar; exit 0")] * 2


def test_program_outside_the_capability_is_refused(home, tmp_path):
    # rm is used by the rollback but not declared; blocked tar refuses everything
    install(Node.load(home, environ={}), str(write_skill(tmp_path, commands='["tar"]')),
            grant_all=True)
    assert candidates(home, "archive src as b.tgz") == []
    install(Node.load(home, environ={}), str(write_skill(tmp_path / "x", commands='["tar", "rm"]',
                                                         blocked='["tar"]')), grant_all=True)
    assert candidates(home, "archive src as b.tgz") == []


def test_wrappers_count_as_programs(home, tmp_path):
    recipes = RECIPES.format(priority=50).replace('command = "tar -czf', 'command = "sudo tar -czf')
    install(Node.load(home, environ={}), str(write_skill(tmp_path, recipes=recipes)),
            grant_all=True)
    assert candidates(home, "archive src as b.tgz") == []


def test_third_party_skill_overrides_bundled_recipe_by_priority(home, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    write_skill(shipped, "tool.demo", priority=50)
    monkeypatch.setattr(skills_mod, "bundled_dir", lambda: shipped)
    (home / "config.toml").write_text("")
    theirs = RECIPES.format(priority=90).replace("tar -czf", "tar --zstd -cf")
    install(Node.load(home, environ={}), str(write_skill(tmp_path, recipes=theirs)),
            grant_all=True)
    best, builtin = candidates(home, "archive src as src.tar")
    assert (best.source, best.command) == ("custom.demo", "tar --zstd -cf src.tar src")
    assert (builtin.source, builtin.command) == ("tool.demo", "tar -czf src.tar src")
    assert best.confidence > builtin.confidence


@pytest.mark.parametrize("change, field", [
    (("tar -czf {{name}} {{folder}}", "tar -czf {{name}} {{target}}"),
     "recipe[0].steps[0].command: undefined parameter {target}"),
    (('description = "list the archive"', 'description = "list {{archive}}"'),
     "recipe[0].verification[0].description: undefined parameter {archive}"),
    (('"archive {{folder}} as {{name}}"', '"archive {{what}}"'),
     "recipe[0].triggers.intents[0]: undefined parameter {what}"),
    (("default = 6", 'default = 60'), "recipe[0].parameters.level.default: invalid"),
    (('risk = "moderate"', 'risk = "yolo"'), "recipe[0].steps[0].risk"),
    (('type = "path"', 'type = "file"'), "recipe[0].parameters.folder.type"),
    (("timeout = 120", "timeout = -1"), "recipe[0].steps[0].timeout"),
])
def test_recipe_errors_name_file_and_field(tmp_path, change, field):
    old, new = (part.replace("{{", "{").replace("}}", "}") for part in change)
    recipes = RECIPES.format(priority=50)
    assert old in recipes
    folder = write_skill(tmp_path, recipes=recipes.replace(old, new))
    with pytest.raises(SkillError) as e:
        validate_dir(folder)
    assert str(folder / "recipes" / "main.toml") in str(e.value)
    assert field in str(e.value)
    assert "\n" not in str(e.value)


def test_optional_intent_words_and_punctuation():
    from caro_core.skill_recipe import parse_recipe

    recipe = parse_recipe("custom.k", {
        "id": "logs", "title": "Logs of {pod}",
        "triggers": {"intents": ["[show] logs of [pod] {pod} in [namespace] {ns}"]},
        "parameters": {"pod": {"type": "string"}, "ns": {"type": "string"}},
        "steps": [{"command": "kubectl logs {pod} -n {ns}"}]}, "x.toml", 0)
    for request in ("show logs of pod api in namespace prod?", "logs of api in prod",
                    "Logs  of POD api in prod!"):
        score, values = recipe.match(request)
        assert values == {"pod": "api", "ns": "prod"} and score == 0.9, request
    assert recipe.match("logs of api") is None
    with pytest.raises(SkillError, match="at least one word that is not optional"):
        parse_recipe("custom.k", {"id": "x", "title": "x", "triggers": {"intents": ["[only]"]},
                                  "steps": [{"command": "ls"}]}, "x.toml", 0)


def recipe(keywords=(), intents=(), parameters=None):
    """A recipe parsed from a table, as a skill's file would give it."""
    from caro_core.skill_recipe import parse_recipe

    return parse_recipe("custom.k", {
        "id": "r", "title": "r", "triggers": {"keywords": list(keywords), "intents": list(intents)},
        "parameters": parameters or {}, "steps": [{"command": "ls"}]}, "x.toml", 0)


def test_one_generic_keyword_never_triggers_a_recipe():
    build = recipe(keywords=["build", "release"])
    assert build.match("delete the folder build") is None
    assert build.match("build a release")[0] == 0.8
    # one keyword and a word naming the skill back each other; the same word twice does not
    assert build.match("build it with cargo", frozenset({"cargo", "rust"})) is not None
    assert build.match("build it", frozenset({"build"})) is None
    assert recipe(keywords=["clippy"]).match("clippy", frozenset({"clippy"})) is None


def test_a_placeholder_never_takes_a_filler_word():
    restart = recipe(intents=["restart {deployment}"],
                     parameters={"deployment": {"type": "string"}})
    assert restart.match("restart the network manager service") is None
    assert restart.match("restart my api") is None
    assert restart.match('restart "the"')[1] == {"deployment": "the"}   # quoted: meant


def test_a_one_word_intent_is_weak_unless_the_request_names_the_skill():
    restart = recipe(intents=["restart {deployment}", "restart deployment {deployment}"],
                     parameters={"deployment": {"type": "string"}})
    assert restart.match("restart nginx") == (0.6, {"deployment": "nginx"})
    assert restart.match("restart nginx on kubernetes", frozenset({"kubernetes"}))[0] == 0.9
    assert restart.match("restart deployment api") == (0.9, {"deployment": "api"})


def test_intents_compile_only_when_the_request_has_their_words():
    from caro_core import skill_recipe

    logs = recipe(intents=["logs of {pod}", "tail the logs of {pod}"],
                  parameters={"pod": {"type": "string"}})
    skill_recipe._compiled.cache_clear()
    assert logs.match("restart the api") is None
    assert skill_recipe._compiled.cache_info().currsize == 0
    assert logs.match("show the logs of api-1")[1] == {"pod": "api-1"}
    assert skill_recipe._compiled.cache_info().currsize == 1


def test_parsed_recipes_are_cached_by_content_and_never_served_stale(home, tmp_path, monkeypatch):
    from caro_core import skill_recipe
    from caro_core.skill_recipe import CACHE_DIR, load_recipes

    install(Node.load(home, environ={}), str(write_skill(tmp_path)), grant_all=True)
    [skill] = Node.load(home, environ={}).skills
    [first] = load_recipes(skill, home)
    cached = home / CACHE_DIR / "custom.demo.json"
    assert cached.is_file()

    def no_parsing(*args):
        raise AssertionError("parsed although cached")

    with monkeypatch.context() as m:
        m.setattr(skill_recipe, "parse_file", no_parsing)
        assert load_recipes(skill, home) == [first]
    # an edit that keeps the file's size and time is still seen: the key is the content
    path = skill.directory / "recipes" / "main.toml"
    stat = path.stat()
    path.write_text(path.read_text().replace('default = "backup.tar.gz"',
                                             'default = "backup.tar.xz"'))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    [edited] = load_recipes(skill, home)
    assert edited.parameters["name"].default == "backup.tar.xz"
    # a damaged cache is ignored and rewritten
    cached.write_text('{"format": 1, "caro": "0.1.0", "files": {"recipes/main.toml": [')
    assert load_recipes(skill, home) == [edited]
    assert load_recipes(skill, home) == [edited] and json.loads(cached.read_text())["files"]
