"""zsh integration: `eval "$(caro init zsh)"` in a real interactive zsh, driven through tmux."""

import pytest

from caro_core.events import ImportedCommand
from caro_plugins.shell_zsh import parse_zsh_history
from shellharness import commands, unwritable_spool


@pytest.mark.slow
def test_records_status_duration_and_the_first_command(shell_factory):
    sh = shell_factory("zsh")
    recs = sh.run("true", "false", "sleep 1")
    assert commands(recs) == ["true", "false", "sleep 1"]
    assert [r.exit_code for r in recs] == [0, 1, 0]
    assert recs[2].duration_ms >= 1000 and recs[0].duration_ms < 1000
    assert all(r.shell == "zsh" and r.user == "tester" for r in recs)


@pytest.mark.slow
def test_empty_lines_space_prefix_and_repeats(shell_factory):
    sh = shell_factory("zsh", setup="setopt HIST_IGNORE_SPACE HIST_IGNORE_DUPS")
    sh.send("")
    sh.send(" echo secret-not-recorded")
    recs = sh.run("echo same", "echo same", expect=2)
    assert commands(recs) == ["echo same", "echo same"]


@pytest.mark.slow
def test_multiline_subshell_pipeline_and_cwd(shell_factory):
    sh = shell_factory("zsh")
    sh.send("for i in 1 2")
    sh.send("do echo $i")
    sh.send("done")
    recs = sh.run("( cd /tmp && false )", "echo a | cat | wc -c", "cd /tmp", "pwd", expect=5)
    assert commands(recs) == ["for i in 1 2\ndo echo $i\ndone", "( cd /tmp && false )",
                              "echo a | cat | wc -c", "cd /tmp", "pwd"]
    assert [r.exit_code for r in recs] == [0, 1, 0, 0, 0]
    assert recs[3].cwd != "/tmp" and recs[4].cwd == "/tmp"


@pytest.mark.slow
def test_tab_quotes_and_non_utf8_bytes(shell_factory):
    sh = shell_factory("zsh")
    sh.paste("echo 'a\tb' \"it's\"")
    sh.run("printf '\\xff' | od -c", expect=2)
    sh.paste(b"echo raw-\xff-byte")
    recs = sh.run(expect=3)
    assert recs[0].command == "echo 'a\tb' \"it's\""
    assert recs[1].command == "printf '\\xff' | od -c"
    assert recs[2].command_bytes == b"echo raw-\xff-byte"


@pytest.mark.slow
def test_users_options_do_not_break_the_hooks(shell_factory):
    sh = shell_factory("zsh", setup="setopt ERR_EXIT NO_UNSET NO_CLOBBER PIPE_FAIL")
    recs = sh.run("true", "echo alive")
    assert commands(recs) == ["true", "echo alive"] and sh.alive()


@pytest.mark.slow
def test_unwritable_spool_does_not_break_the_shell(shell_factory, tmp_path):
    with unwritable_spool(tmp_path) as home:
        sh = shell_factory("zsh", home=home)
        sh.send("echo still-$((40+2))")
        sh.wait_for(lambda: "still-42" in sh.screen(), "the shell to answer")
        assert "denied" not in sh.screen() and sh.alive()


def test_parse_extended_history_with_continuations_and_metafied_bytes():
    data = (b": 1700000000:0;ls -l\n"
            b": 1700000005:3;for i in 1 2\\\ndo echo $i\\\ndone\n"
            b": 1700000010:0;echo \xc4\x83\xa3 \xc3\xbc\n"  # "\u0103": C4 83 -> C4 META A3
            b": 1700000020:0;echo ends-with-backslash\\ \n")
    assert parse_zsh_history(data) == [
        ImportedCommand("ls -l", 1700000000.0, 0),
        ImportedCommand("for i in 1 2\ndo echo $i\ndone", 1700000005.0, 3000),
        ImportedCommand("echo \u0103 \u00fc", 1700000010.0, 0),
        ImportedCommand("echo ends-with-backslash\\", 1700000020.0, 0),
    ]


def test_parse_plain_history():
    assert parse_zsh_history(b"ls\ncd /tmp\n\n") == [ImportedCommand("ls", None, None),
                                                    ImportedCommand("cd /tmp", None, None)]
