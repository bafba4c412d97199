"""``caro "REQUEST"`` / ``caro ask`` end to end with the built-in offline engine."""

import json

from test_copilot_run import in_pty

KEYS = {"command", "alternatives", "explanation", "risk", "category", "backend", "blocked",
        "needs_confirmation"}


def test_request_gets_a_command_with_explanation_category_and_risk(caro):
    result = caro("list files modified today", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert KEYS <= set(data)
    assert data["command"].startswith("find ") and data["explanation"]
    assert (data["backend"], data["risk"], data["category"]) == ("offline", "safe", "file-ops")
    assert not data["blocked"] and not data["needs_confirmation"]
    for alt in data["alternatives"]:
        assert KEYS - {"alternatives"} <= set(alt)
    assert json.loads(caro("ask", "--json", "list files modified today").stdout) == data


def test_human_output_names_risk_category_and_backend(caro):
    result = caro("find files larger than 100MB")
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith("find ")
    assert any("risk safe" in line and "category file-ops" in line and "backend offline" in line
               for line in rest)


def test_unknown_request_is_an_honest_no_suggestion(caro):
    result = caro("fly me to the moon")
    assert result.returncode == 2 and result.stdout == ""
    assert "no suggestion for 'fly me to the moon'" in result.stderr
    data = json.loads(caro("fly me to the moon", "--json").stdout)
    assert data["command"] is None and data["alternatives"] == []


def test_commands_and_typos_are_not_requests(caro):
    help_text = caro("--help").stdout
    assert "ask" in help_text and "explain" in help_text
    typo = caro("histroy")
    assert typo.returncode == 2 and "No such command 'histroy'" in typo.stderr
    assert caro("history", "--json").returncode == 0


def test_offline_suggestion_runs_and_is_recorded(caro, tmp_path):
    code, screen = in_pty(["list files modified today", "--execute"], tmp_path)
    assert code == 0, screen
    history = json.loads(caro("history", "--json").stdout)
    assert len(history) == 1 and history[0]["caro_generated"]
    assert history[0]["command"].startswith("find ")
