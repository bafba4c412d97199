"""The copilot pipeline (caro_core.generate): context, candidates, safety verdicts, ranking, fallback."""

import os

import pytest

from caro_core import hookimpl
from caro_core.generate import (BackendUnavailable, Candidate, KnowledgeSnippet, gnu_tools,
                                path_programs, suggest)
from caro_core.node import Node
from caro_core.skills import RecipeStep


class Backend:
    """A test backend: answers from a table, remembers the contexts it was given."""

    def __init__(self, answers, name="offline", knowledge=()):
        self.answers, self.name, self.knowledge = answers, name, list(knowledge)
        self.contexts = []

    @hookimpl
    def caro_generate_commands(self, request, context):
        self.contexts.append(context)
        if context.backend != self.name:
            return []
        return self.answers.get(request, [])

    @hookimpl
    def caro_generate_context(self, request):
        return self.knowledge


class Down:
    """A chosen backend whose server is down."""

    @hookimpl
    def caro_generate_commands(self, request, context):
        if context.backend == "openai-compatible":
            raise BackendUnavailable("connection refused")
        return []


#: The real backends and skills stay out of the way: only the test plugins answer.
ONLY_TEST_PLUGINS = {"CARO_DISABLE_PLUGINS": "generate_offline,generate_openai,skill_recipes,"
                                             "skill_knowledge"}


def make_node(home, *plugins, config=""):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    return Node.load(home, environ=ONLY_TEST_PLUGINS,
                     extra_plugins=[(f"test-{i}", p) for i, p in enumerate(plugins)])


def test_candidates_are_ranked_assessed_and_deduplicated(caro_home):
    backend = Backend({"clean up": [
        Candidate("rm -rf build", "delete the build tree", 0.6, "offline"),
        Candidate("ls build", "look first", 0.9, "offline"),
        Candidate("ls  build", "the same command again", 0.5, "offline"),
    ]})
    node = make_node(caro_home, backend)
    s = suggest(node, "  clean   up ")
    assert s.request == "clean up"
    assert [a.candidate.command for a in s.proposals] == ["ls build", "rm -rf build"]
    data = s.to_json()
    assert {"command", "alternatives", "explanation", "risk", "category", "backend", "blocked",
            "needs_confirmation"} <= set(data)
    assert data["command"] == "ls build" and data["risk"] == "safe" and not data["blocked"]
    assert data["category"] == "file-ops"
    alt = data["alternatives"][0]
    assert alt["command"] == "rm -rf build" and alt["risk"] == "high"
    assert alt["needs_confirmation"] and not alt["blocked"] and alt["reasons"]


def test_critical_is_blocked_in_every_mode_and_strict_blocks_high(caro_home):
    backend = Backend({"wipe": [Candidate("rm -rf /", "wipe", 0.9, "offline")],
                       "clean": [Candidate("rm -rf build", "clean", 0.9, "offline")]})
    node = make_node(caro_home, backend)
    for mode in ("strict", "moderate", "permissive"):
        best = suggest(node, "wipe", mode=mode).best
        assert best.blocked and not best.needs_confirmation and best.risk.label == "critical"
    assert suggest(node, "clean", mode="strict").best.blocked
    moderate = suggest(node, "clean", mode="moderate").best
    assert not moderate.blocked and moderate.needs_confirmation


def test_mode_comes_from_the_safety_config(caro_home):
    backend = Backend({"clean": [Candidate("rm -rf build", "clean", 0.9, "offline")]})
    node = make_node(caro_home, backend, config='[safety]\nmode = "strict"\n')
    assert suggest(node, "clean").best.blocked


def test_every_recipe_step_is_assessed(caro_home):
    steps = (RecipeStep("mkdir -p out", "make the output folder"),
             RecipeStep("ls out", "look", risk="high"),
             RecipeStep("mkfs.ext4 /dev/sda1", "format a disk", role="rollback"))
    recipe = Candidate("mkdir -p out && ls out", "two steps", 0.9, "recipe",
                       source="custom.example", steps=steps)
    node = make_node(caro_home, Backend({"set up": [recipe]}))
    best = suggest(node, "set up").best
    assert [a.risk.label for _, a in best.steps] == ["safe", "high", "critical"]
    assert "the skill rates this step high" in best.steps[1][1].reasons
    assert best.blocked and best.risk.label == "critical"
    data = best.to_json()
    assert data["source"] == "custom.example"
    assert [(s["role"], s["blocked"]) for s in data["steps"]] == [
        ("run", False), ("run", False), ("rollback", True)]
    assert data["steps"][0]["explanation"] == "make the output folder"


def test_context_carries_platform_programs_and_knowledge(caro_home, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "frobnicate").write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    snippets = [KnowledgeSnippet("skill-a", "low", "later", 10),
                KnowledgeSnippet("skill-b", "high", "first", 90)]
    backend = Backend({}, knowledge=snippets)
    node = make_node(caro_home, backend)
    suggest(node, "anything")
    context = backend.contexts[0]
    assert context.platform in ("linux", "darwin") and context.node is node
    assert "frobnicate" in context.programs and "sh" in context.programs
    assert [k.topic for k in context.knowledge] == ["high", "low"]
    assert context.backend == "offline"


def test_path_programs_and_gnu_detection(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    busybox = bin_dir / "busybox"
    busybox.write_text("#!/bin/sh\n")
    busybox.chmod(0o755)
    (bin_dir / "ls").symlink_to(busybox)
    env = {"PATH": f"{bin_dir}{os.pathsep}{tmp_path / 'missing'}"}
    assert path_programs(env) == {"busybox", "ls"}
    assert gnu_tools("linux", env) is False
    assert gnu_tools("darwin", {"PATH": os.environ["PATH"]}) is False


def test_backend_is_chosen_by_config_or_override(caro_home):
    model = Backend({"x": [Candidate("echo model", "", 0.9, "openai-compatible")]},
                    name="openai-compatible")
    offline = Backend({"x": [Candidate("echo offline", "", 0.9, "offline")]})
    node = make_node(caro_home, model, offline, config='[generate]\nbackend = "openai-compatible"\n')
    assert suggest(node, "x").best.candidate.command == "echo model"
    assert suggest(node, "x", backend="offline").best.candidate.command == "echo offline"


def test_a_backend_that_cannot_answer_falls_back_to_offline(caro_home):
    offline = Backend({"x": [Candidate("echo offline", "", 0.9, "offline")]})
    node = make_node(caro_home, offline, Down())
    s = suggest(node, "x", backend="openai-compatible")
    assert s.backend == "offline" and s.best.candidate.command == "echo offline"
    assert "connection refused" in s.notes[0] and "offline" in s.notes[0]


def test_an_unknown_backend_in_config_is_a_config_error(caro_home):
    from caro_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[generate\] backend"):
        make_node(caro_home, config='[generate]\nbackend = "cloud"\n')


def test_no_candidate_is_no_suggestion(caro_home):
    node = make_node(caro_home, Backend({}))
    s = suggest(node, "fly me to the moon")
    assert s.best is None and s.alternatives == []
    assert s.to_json()["command"] is None


# -- the seams: the offline engine and the bundled skills' recipes answering together ----------

@pytest.fixture(scope="module")
def workstation(tmp_path_factory):
    """A node with every built-in backend and bundled skill, and a PATH holding the usual tools."""
    home = tmp_path_factory.mktemp("caro-home")
    bin_dir = tmp_path_factory.mktemp("bin")
    for program in ("git", "docker", "kubectl", "cargo", "rustup", "python3", "pip", "systemctl",
                    "tar", "rm", "pgrep", "ls", "find", "ss", "apt", "aws"):
        (bin_dir / program).write_text("#!/bin/sh\n")
    node = Node.load(home, environ={})
    yield lambda request: suggest(node, request, environ={"PATH": str(bin_dir)})
    node.close()


@pytest.mark.parametrize("request_text, source, command", [
    # a recipe written for the phrase beats the engine guessing an unknown word is a process
    ("run clippy", "lang.rust", "cargo clippy"),
    ("run the rust tests", "lang.rust", "cargo test"),
    ("list running ec2 instances", "cloud.aws", "aws ec2 describe-instances"),
    ("create a virtualenv", "lang.python", "python3 -m venv"),
    # the engine's certain answer beats a recipe's one-word intent guessing the subject
    ("restart nginx", "caro", "sudo systemctl restart nginx"),
    # both know the task: the engine's exact answer stays first, the recipe is an alternative
    ("squash the last 3 commits", "caro", "git rebase -i HEAD~3"),
])
def test_the_better_answer_ranks_first(workstation, request_text, source, command):
    best = workstation(request_text).best.candidate
    assert (best.source, best.command.startswith(command)) == (source, True), best


@pytest.mark.parametrize("request_text, never", [
    ("delete the folder build", "cargo build"),   # one generic keyword of lang.rust's recipe
    ("fix my code", "cargo clippy"),
    ("restart the network manager service", "kubectl rollout restart deployment/the"),
])
def test_a_recipe_never_answers_on_one_generic_word(workstation, request_text, never):
    suggestion = workstation(request_text)
    assert not any(p.candidate.command.startswith(never) for p in suggestion.proposals)


def test_squashing_offers_the_git_recipe_as_an_alternative(workstation):
    sources = [a.candidate.source for a in workstation("squash the last 3 commits").alternatives]
    assert "tool.git" in sources
