"""End to end: real interactive shells with the integration loaded, then `caro history`."""

import json

import pytest

from conftest import run_caro

#: A subshell (or fish's block) that fails.
SUBSHELL = {"bash": "(cd / && false)", "zsh": "(cd / && false)", "fish": "begin; cd /; false; end"}
SECRET = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_what_the_user_typed_is_what_history_shows(shell_factory, shell):
    sh = shell_factory(shell)
    sh.send(" echo private-space-prefixed")
    sh.run("true", "false", "sleep 1", f"GH_TOKEN={SECRET} echo token-set", SUBSHELL[shell],
           "echo 'two\nlines'")
    result = run_caro("history", "--json", "--limit", "20", env={"CARO_HOME": str(sh.home)})
    assert result.returncode == 0, result.stderr
    events = {e["command"]: e for e in json.loads(result.stdout)}
    assert events["true"]["exit_code"] == 0 and events["false"]["exit_code"] == 1
    assert events["sleep 1"]["duration_ms"] >= 1000
    assert events[SUBSHELL[shell]]["exit_code"] == 1
    assert "echo 'two\nlines'" in events
    assert all(e["shell"] == shell for e in events.values())
    token = [c for c in events if "token-set" in c]
    assert token and SECRET not in token[0]
    assert not any("private-space-prefixed" in c for c in events)
    assert sh.records() == []  # ingested and wiped from the spool
    assert sh.alive()
