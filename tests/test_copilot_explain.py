"""``caro explain``: the parsed command part by part, from Caro's notes and from skills, with its risk."""

import json

from caro_core import hookimpl
from caro_core.explain import explain
from caro_core.explain_data import programs
from caro_core.node import Node


def parts(result):
    return [(p.text, p.kind, p.explanation) for p in result.parts]


def by_text(result, depth=0):
    return {p.text: p for p in result.parts if p.depth == depth}


def test_program_options_values_and_operands(node):
    result = explain(node.pm, "tar -czf backup.tgz src --exclude=*.o")
    assert parts(result) == [
        ("tar", "program", "create, list or extract archives"),
        ("-czf", "option", "-c: create a new archive; -z: compress or decompress with gzip; "
                           "-f: the archive file"),
        ("backup.tgz", "argument", "the ARCHIVE for -f"),
        ("src", "argument", "a file or directory to put in the archive"),
        ("--exclude=*.o", "option", "leave out files matching PATTERN (PATTERN *.o)"),
    ]
    assert result.assessment.risk.label == "safe"


def test_subcommands_switch_to_their_options(node):
    found = by_text(explain(node.pm, "git -C repo push -u origin main"))
    assert found["-C"].explanation == "run as if started in PATH"
    assert found["repo"].explanation == "the PATH for -C"
    assert found["push"].explanation == "send local commits to a remote"
    assert "remember the remote branch" in found["-u"].explanation
    assert found["origin"].explanation == "the remote (origin)"
    assert found["main"].explanation == "the branch"


def test_pipes_redirections_and_operators(node):
    result = explain(node.pm, "ps aux | head -n5 > top.txt 2>&1 && echo ok || echo failed")
    found = by_text(result)
    assert found["|"].kind == "pipe" and "output of ps becomes the input of head" in found["|"].explanation
    assert found["-n5"].explanation.startswith("-n: how many lines")
    assert found["> top.txt"].kind == "redirect"
    assert found["> top.txt"].explanation == "write standard output to top.txt, replacing its contents"
    assert "standard output" in found["2>&1"].explanation
    assert found["&&"].kind == "operator" and "succeeded" in found["&&"].explanation
    assert "failed" in found["||"].explanation


def test_payloads_are_explained_nested_and_judged(node):
    result = explain(node.pm, "sh -c 'rm -rf ~'")
    nested = [p for p in result.parts if p.depth]
    assert [p.text for p in nested] == ["rm", "-rf", "~"]
    assert nested[1].explanation.startswith("-r: delete directories")
    assert result.assessment.risk.label == "critical" and result.assessment.reasons


def test_find_exec_words_belong_to_the_command_it_runs(node):
    result = explain(node.pm, r"find . -name '*.log' -mtime +7 -exec rm {} \;")
    found = by_text(result)
    assert found["*.log"].explanation == "the PATTERN for -name"
    assert found["+7"].explanation == "the N for -mtime"
    assert found["{}"].explanation == "replaced by each file found"
    assert by_text(result, depth=1)["rm"].explanation == "remove files or directories"


def test_unknown_parts_are_listed_as_unknown(node):
    result = explain(node.pm, "frobnicate -x --deep thing")
    assert [(p.text, p.kind, p.known) for p in result.parts] == [
        ("frobnicate", "program", False), ("-x", "option", False), ("--deep", "option", False),
        ("thing", "argument", False)]


class SkillNotes:
    """A skill's explanations: each call sees one simple command; skills answer before Caro."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def caro_generate_explain(self, command):
        self.seen.append(command.programs)
        found = []
        for cmd in command.simple_commands:
            if cmd.program == "acmectl":
                found += [("acmectl", "ACME's deployment tool"), ("--env", "the target environment")]
            if cmd.program == "ls":
                found.append(("ls", "the skill's own words for ls"))
        return found


def test_skills_explain_first_and_fill_gaps(caro_home):
    notes = SkillNotes()
    node = Node.load(caro_home, environ={}, extra_plugins=[("skill-notes", notes)])
    found = by_text(explain(node.pm, "acmectl push --env prod | ls -l"))
    assert found["acmectl"].explanation == "ACME's deployment tool"
    assert found["--env"].explanation == "the target environment"
    assert found["ls"].explanation == "the skill's own words for ls"
    assert found["-l"].explanation.startswith("long listing")
    assert ("acmectl",) in notes.seen and ("ls",) in notes.seen


def test_notes_cover_many_programs():
    table = programs()
    assert len(table) >= 80
    assert {"git", "docker", "kubectl", "find", "tar", "curl", "systemctl"} <= set(table)
    assert table["git"].subcommands["commit"].options["-m"] == ("MSG", "the commit message")


def test_cli_explain_json_and_alias(caro):
    result = caro("explain", "--json", "rm", "-rf", "build")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == "rm -rf build" and data["risk"] == "high"
    assert {"parts", "risk", "reasons", "category", "blocked", "needs_confirmation"} <= set(data)
    assert data["parts"][1] == {"part": "-rf", "kind": "option", "known": True, "nested": False,
                                "explanation": "-r: delete directories and everything in them; "
                                               "-f: never ask, ignore missing files"}
    alias = caro("--explain", "du -sh .")
    assert alias.returncode == 0
    assert "disk usage" in alias.stdout and "one total per argument" in alias.stdout
    assert "risk safe" in alias.stdout


def test_cli_explain_redacts_secrets_and_needs_a_command(caro):
    result = caro("explain", "curl -H 'Authorization: Bearer abcdef123456' https://intranet/api")
    assert result.returncode == 0 and "abcdef123456" not in result.stdout
    assert caro("explain").returncode == 2
