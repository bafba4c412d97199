"""fish integration: `caro init fish | source` in a real interactive fish, driven through tmux."""

import pytest

from caro_core.events import ImportedCommand
from caro_plugins.shell_fish import fish_quote, parse_fish_history
from shellharness import commands, unwritable_spool


@pytest.mark.slow
def test_records_status_duration_and_the_first_command(shell_factory):
    sh = shell_factory("fish")
    recs = sh.run("true", "false", "sleep 1")
    assert commands(recs) == ["true", "false", "sleep 1"]
    assert [r.exit_code for r in recs] == [0, 1, 0]
    assert recs[2].duration_ms >= 1000 and recs[0].duration_ms < 1000
    assert all(r.shell == "fish" and r.session.startswith("fish-") for r in recs)
    # start = wall clock at the end minus CMD_DURATION, the clock from /proc/uptime (10 ms steps)
    assert recs[0].timestamp <= recs[1].timestamp + 0.02 <= recs[2].timestamp + 0.04


@pytest.mark.slow
def test_empty_lines_space_prefix_and_repeats(shell_factory):
    sh = shell_factory("fish")
    sh.send("")
    sh.send(" echo secret-not-recorded")
    recs = sh.run("echo same", "echo same", expect=2)
    assert commands(recs) == ["echo same", "echo same"]


@pytest.mark.slow
def test_multiline_subshell_pipeline_and_cwd(shell_factory):
    sh = shell_factory("fish")
    sh.send("for i in 1 2")
    sh.send("echo $i")
    sh.send("end")
    recs = sh.run("fish -c 'cd /tmp; and false'", "echo a | cat | wc -c", "cd /tmp", "pwd",
                  expect=5)
    assert commands(recs)[0].split("\n") == ["for i in 1 2", "echo $i", "end"] or \
        commands(recs)[0] == "for i in 1 2\n    echo $i\nend"  # fish may indent the body
    assert commands(recs)[1:] == ["fish -c 'cd /tmp; and false'", "echo a | cat | wc -c",
                                  "cd /tmp", "pwd"]
    assert [r.exit_code for r in recs] == [0, 1, 0, 0, 0]
    assert recs[3].cwd != "/tmp" and recs[4].cwd == "/tmp"


@pytest.mark.slow
def test_tab_quotes_and_non_utf8_bytes(shell_factory):
    # fish drops a tab from a paste and has no quoted-insert: bind a key that inserts one
    sh = shell_factory("fish", setup="bind \\et 'commandline -i \\t'")
    sh.send("echo 'a", enter=False)
    sh.keys("M-t")
    sh.send("b' \"it's\"")
    sh.run("printf '\\xff' | od -c", expect=2)
    recs = sh.records()
    assert recs[0].command == "echo 'a\tb' \"it's\""
    assert recs[1].command == "printf '\\xff' | od -c"


@pytest.mark.slow
def test_private_mode_records_nothing(shell_factory):
    sh = shell_factory("fish", setup="set -g fish_private_mode 1")
    sh.send("echo private-$(math 40 + 2)")
    sh.wait_for(lambda: "private-42" in sh.screen(), "the shell to answer")
    assert sh.records() == []


@pytest.mark.slow
def test_unwritable_spool_does_not_break_the_shell(shell_factory, tmp_path):
    with unwritable_spool(tmp_path) as home:
        sh = shell_factory("fish", home=home)
        sh.send("echo still-(math 40 + 2)")
        sh.wait_for(lambda: "still-42" in sh.screen(), "the shell to answer")
        assert "warning" not in sh.screen() and sh.alive()


def test_home_is_quoted_for_fish():
    assert fish_quote("/a b/it's\\x") == "'/a b/it\\'s\\\\x'"


def test_parse_fish_history():
    data = (b"- cmd: ls -l\n  when: 1700000000\n"
            b"- cmd: echo a\\nb \\\\n done\n  when: 1700000005\n  paths:\n    - /tmp\n"
            b"- cmd: no-when \xff\n")
    assert parse_fish_history(data) == [
        ImportedCommand("ls -l", 1700000000.0, None),
        ImportedCommand("echo a\nb \\n done", 1700000005.0, None),
        ImportedCommand("no-when \udcff", None, None),
    ]
