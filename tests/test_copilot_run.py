"""Confirm and run: the real ``caro`` in a pseudo-terminal, commands proposed by a local test model."""

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caro_core import hookimpl
from caro_core.copilot import NotRun, run
from caro_core.events import query_events
from caro_core.generate import Candidate, assess_candidate, suggest
from caro_core.node import Node
from caro_core.skills import RecipeStep
from test_copilot_openai import FakeModel, reply, write_config

CARO = str(Path(sys.executable).with_name("caro"))

REPLIES = {
    "make the marker": reply("touch made.txt", "create made.txt"),
    "remove the victim": reply("rm victim.txt", "delete victim.txt"),
    "remove the tree": reply("rm -rf victim-tree", "delete the victim-tree folder"),
    "format the disk": reply("touch marker.txt; mkfs.ext4 /dev/sdzz9", "format a disk"),
}


@pytest.fixture
def work(caro_home, tmp_path):
    """A working directory with files to delete, and a config choosing the test model."""
    model = FakeModel(REPLIES)
    write_config(caro_home, model.config())
    folder = tmp_path / "work"
    (folder / "victim-tree" / "sub").mkdir(parents=True)
    (folder / "victim.txt").write_text("x")
    yield folder
    model.close()


def in_pty(args, cwd, answers=(), timeout=30):
    """Run ``caro ARGS`` on a pseudo-terminal; answer each ``(prompt, text)`` when the prompt shows.

    Returns ``(exit code, everything the terminal showed)``.
    """
    master, slave = pty.openpty()
    env = dict(os.environ, SHELL="/bin/sh", TERM="dumb")
    proc = subprocess.Popen([CARO, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                            env=env, start_new_session=True)
    os.close(slave)
    pending, output, seen = list(answers), b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if pending and pending[0][0].encode() in output[seen:]:
                seen = len(output)
                os.write(master, pending.pop(0)[1].encode() + b"\n")
        else:
            proc.kill()
            pytest.fail(f"caro {args} did not finish: {output.decode(errors='replace')}")
        return proc.wait(timeout=10), output.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def generated_events(caro_home):
    node = Node.load(caro_home, environ={})
    try:
        return [e for e in query_events(node.store) if e.caro_generated]
    finally:
        node.close()


def test_safe_command_runs_and_is_recorded_as_caro_generated(work, caro_home, caro):
    code, screen = in_pty(["make the marker", "--execute"], work)
    assert code == 0, screen
    assert (work / "made.txt").exists()
    history = json.loads(caro("history", "--json").stdout)
    assert [(e["command"], e["caro_generated"], e["exit_code"]) for e in history] == [
        ("touch made.txt", True, 0)]
    [event] = generated_events(caro_home)
    assert event.source == "copilot" and not event.user_confirmed and event.cwd == str(work)
    audit = (caro_home / "audit.log").read_text()
    assert '"CommandExecuted"' in audit


def test_moderate_command_asks_yes_no(work, caro_home):
    code, screen = in_pty(["remove the victim", "-x"], work, [("Run it?", "n")])
    assert code == 1 and "not confirmed" in screen
    assert (work / "victim.txt").exists()
    code, screen = in_pty(["remove the victim", "-x"], work, [("Run it?", "y")])
    assert code == 0, screen
    assert not (work / "victim.txt").exists()
    [event] = generated_events(caro_home)
    assert event.user_confirmed and event.risk.label == "moderate"


def test_permissive_mode_runs_moderate_without_asking(work):
    code, screen = in_pty(["ask", "--mode", "permissive", "-x", "remove the victim"], work)
    assert code == 0 and "Run it?" not in screen
    assert not (work / "victim.txt").exists()


def test_high_risk_needs_the_program_name_typed(work, caro_home):
    code, screen = in_pty(["remove the tree", "-x"], work, [("Type 'rm'", "yes")])
    assert code == 1 and "HIGH risk" in screen
    assert (work / "victim-tree").exists()
    code, screen = in_pty(["remove the tree", "-x"], work, [("Type 'rm'", "rm")])
    assert code == 0, screen
    assert not (work / "victim-tree").exists()
    [event] = generated_events(caro_home)
    assert event.user_confirmed and event.risk.label == "high"


def test_blocked_command_never_runs(work, caro_home):
    code, screen = in_pty(["format the disk", "--execute", "--yes"], work)
    assert code == 1 and "blocked" in screen and "BLOCKED" in screen
    assert not (work / "marker.txt").exists()
    assert generated_events(caro_home) == []
    assert '"CommandBlocked"' in (caro_home / "audit.log").read_text()


def test_dry_run_never_runs(work):
    code, screen = in_pty(["remove the tree", "--execute", "--dry-run"], work)
    assert code == 0 and "dry run" in screen and "typed confirmation" in screen
    assert (work / "victim-tree").exists()


def test_without_a_terminal_nothing_runs_unless_yes(work, caro):
    result = caro("make the marker", "--execute", cwd=work, input="")
    assert result.returncode == 1 and "no terminal" in result.stderr
    assert not (work / "made.txt").exists()
    result = caro("remove the victim", "--execute", "--yes", cwd=work, input="")
    assert result.returncode == 0, result.stderr
    assert not (work / "victim.txt").exists()
    result = caro("format the disk", "--execute", "--yes", cwd=work, input="")
    assert result.returncode == 1 and "blocked" in result.stderr
    assert not (work / "marker.txt").exists()


def test_command_exit_code_is_caros_exit_code(work, caro):
    result = caro("remove the victim", "-x", "-y", "--json", cwd=work, input="")
    assert result.returncode == 0
    assert json.loads(result.stdout)["command"] == "rm victim.txt"
    result = caro("remove the victim", "-x", "-y", cwd=work, input="")
    assert result.returncode == 1 and "victim.txt" in result.stderr  # rm: cannot remove …


class Recipes:
    """Skill-like recipes: one whose second step fails, one verified by its output."""

    @hookimpl
    def caro_generate_commands(self, request, context):
        if request == "failing recipe":
            steps = (RecipeStep("touch one", "first"), RecipeStep("false", "fails"),
                     RecipeStep("touch three", "never reached"),
                     RecipeStep("touch undone", "clean up", role="rollback"),
                     RecipeStep("touch verified", "never reached", role="verify"))
        else:
            steps = (RecipeStep("echo hello > out", "write"),
                     RecipeStep("cat out", "check", role="verify", expect=request))
        return [Candidate(request, "a recipe", 0.9, "recipe", "custom.test", steps)]


@pytest.fixture
def recipe_node(caro_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node = Node.load(caro_home, environ={"CARO_DISABLE_PLUGINS": "generate_offline,skill_recipes"},
                     extra_plugins=[("recipes", Recipes())])
    yield node
    node.close()


def run_recipe(node, request, **kwargs):
    return run(node, suggest(node, request).best, environ={"SHELL": "/bin/sh"}, **kwargs)


def test_recipe_stops_at_a_failing_step_and_rolls_back(recipe_node, tmp_path):
    with pytest.raises(NotRun, match="no terminal"):
        run_recipe(recipe_node, "failing recipe", interactive=False)
    assert not (tmp_path / "one").exists()
    assert run_recipe(recipe_node, "failing recipe", yes=True, interactive=False) == 1
    assert [p.name for p in sorted(tmp_path.iterdir()) if p.is_file()] == ["one", "undone"]
    assert [e.command for e in query_events(recipe_node.store, newest_first=False)] == [
        "touch one", "false", "touch undone"]


def test_recipe_verification_checks_the_output(recipe_node):
    assert run_recipe(recipe_node, "hel+o", yes=True, interactive=False) == 0
    assert run_recipe(recipe_node, "goodbye", yes=True, interactive=False) == 1


def test_recipe_step_policies_ask_more_never_less(recipe_node):
    from caro_core.copilot import TYPED, YES_NO, plan

    steps = (RecipeStep("ls", "auto", confirmation="auto"),
             RecipeStep("ls", "prompt", confirmation="prompt"),
             RecipeStep("ls", "always", confirmation="always"),
             RecipeStep("rm -rf build", "auto but high", confirmation="auto"))
    candidate = Candidate("ls", "", 0.9, "recipe", "custom.test", steps)
    assessed = assess_candidate(recipe_node.pm, candidate, "moderate")
    assert [s.kind for s in plan(assessed, "moderate")[0]] == [None, YES_NO, YES_NO, TYPED]
    assert [s.kind for s in plan(assessed, "permissive")[0]] == [None, None, YES_NO, TYPED]
