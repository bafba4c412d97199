"""bash integration: `eval "$(caro init bash)"` in a real interactive bash, driven through tmux."""

import os

import pytest

from caro_plugins.shell_bash import caro_shell_init_script, parse_bash_history
from caro_core.events import ImportedCommand
from shellharness import commands, unwritable_spool


@pytest.mark.slow
def test_records_status_duration_and_the_first_command(shell_factory):
    sh = shell_factory("bash")
    recs = sh.run("true", "false", "sleep 1")
    assert commands(recs) == ["true", "false", "sleep 1"]  # the first command of the session too
    assert [r.exit_code for r in recs] == [0, 1, 0]
    assert recs[2].duration_ms >= 1000 and recs[0].duration_ms < 1000
    assert all(r.shell == "bash" and r.user == "tester" and r.session.startswith("bash-") for r in recs)
    assert len({r.session for r in recs}) == 1
    assert recs[0].timestamp <= recs[1].timestamp <= recs[2].timestamp
    assert not any(r.caro_generated for r in recs)


@pytest.mark.slow
def test_empty_lines_space_prefix_and_repeats(shell_factory):
    sh = shell_factory("bash", setup="HISTCONTROL=ignoreboth")
    sh.send("")
    sh.send("   ")
    sh.send(" echo secret-not-recorded")
    recs = sh.run("echo same", "echo same", "history", expect=3)
    assert commands(recs) == ["echo same", "echo same", "history"]  # ignoredups: still twice
    assert "secret-not-recorded" not in sh.screen().split("history", 1)[1]  # ignorespace honoured


@pytest.mark.slow
def test_histignore_is_honoured_in_history_but_recorded(shell_factory):
    sh = shell_factory("bash", setup="HISTIGNORE='ls*'")
    recs = sh.run("ls /", "echo after", "history")
    assert commands(recs) == ["ls /", "echo after", "history"]
    assert "ls /" not in sh.screen().split("$ history", 1)[1]


@pytest.mark.slow
def test_multiline_subshell_and_pipeline_once_each(shell_factory):
    sh = shell_factory("bash")
    sh.send("for i in 1 2")
    sh.send("do echo $i")
    sh.send("done")
    sh.send('echo "one')
    sh.send('two"')
    recs = sh.run("( cd /tmp && false )", "echo a | cat | wc -c", expect=4)
    assert commands(recs) == [
        "for i in 1 2; do echo $i; done",  # bash's cmdhist form (newlines kept with lithist)
        'echo "one\ntwo"',
        "( cd /tmp && false )",
        "echo a | cat | wc -c",
    ]
    assert [r.exit_code for r in recs] == [0, 0, 1, 0]
    assert recs[2].cwd == recs[0].cwd  # the subshell's cd does not leak


@pytest.mark.slow
def test_tab_quotes_and_non_utf8_bytes(shell_factory):
    sh = shell_factory("bash")
    sh.paste("echo 'a\tb' \"it's\"")
    sh.run("printf '\\xff' | od -c", expect=2)
    sh.paste(b"echo raw-\xff-byte")
    recs = sh.run(expect=3)
    assert recs[0].command == "echo 'a\tb' \"it's\""
    assert recs[1].command == "printf '\\xff' | od -c"
    assert recs[2].command_bytes == b"echo raw-\xff-byte"


@pytest.mark.slow
def test_cwd_elevation_and_caro_generated(shell_factory):
    sh = shell_factory("bash")
    recs = sh.run("cd /tmp", "CARO_GENERATED=1 true", "export CARO_GENERATED=1", "pwd")
    assert recs[0].cwd != "/tmp" and recs[1].cwd == "/tmp"  # where the command started
    assert [r.caro_generated for r in recs] == [False, True, True, True]
    import os

    assert all(r.elevated == (os.geteuid() == 0) for r in recs)


@pytest.mark.slow
def test_existing_prompt_command_string_and_debug_trap_keep_working(shell_factory, tmp_path):
    setup = ("pc_runs=0; dbg_runs=0\n"
             "PROMPT_COMMAND='pc_runs=$((pc_runs+1)); pc_status=$?'\n"
             "trap 'dbg_runs=$((dbg_runs+1))' DEBUG\n")
    sh = shell_factory("bash", setup=setup)
    sh.run("false", "echo PC=$pc_runs DBG-ran=$(( dbg_runs > 0 ))")
    screen = sh.screen()
    assert "DBG-ran=1" in screen
    pcs = [int(line.split("PC=")[1].split()[0]) for line in screen.splitlines() if line.startswith("PC=")]
    assert pcs and pcs[0] >= 2


@pytest.mark.slow
def test_existing_prompt_command_array_sees_the_status(shell_factory):
    setup = "seen=(); PROMPT_COMMAND=('seen+=($?)')\n"
    sh = shell_factory("bash", setup=setup)
    sh.run("false", "true", 'echo "SEEN=${seen[*]}"')
    assert "SEEN=0 1 0" in sh.screen()  # our hook runs first and hands $? on


@pytest.mark.slow
def test_set_euo_pipefail_in_the_users_shell(shell_factory):
    sh = shell_factory("bash", setup="set -euo pipefail")
    recs = sh.run("true", "! true", "echo alive")
    assert sh.alive()
    assert commands(recs) == ["true", "! true", "echo alive"]
    assert [r.exit_code for r in recs] == [0, 1, 0]


@pytest.mark.slow
def test_bash_preexec_users_get_its_hooks(shell_factory, tmp_path):
    # a minimal stand-in with bash-preexec's public contract (the arrays and the marker)
    stub = tmp_path / "bp.sh"
    stub.write_text(
        "bash_preexec_imported=defined; preexec_functions=(); precmd_functions=()\n"
        "__bp_pre() { [[ -n ${__bp_armed-} ]] || return 0; __bp_armed=;"
        " local c; c=$(HISTTIMEFORMAT= builtin history 1); c=${c#*[0-9]  };"
        " local f; for f in \"${preexec_functions[@]}\"; do \"$f\" \"$c\"; done; }\n"
        "__bp_precmd() { local s=$? f; for f in \"${precmd_functions[@]}\"; do (exit $s); \"$f\"; done;"
        " __bp_armed=1; }\n"
        "trap '__bp_pre' DEBUG\nPROMPT_COMMAND=__bp_precmd\n")
    sh = shell_factory("bash", setup=f". {stub}")
    recs = sh.run("true", "false")
    assert commands(recs) == ["true", "false"] and [r.exit_code for r in recs] == [0, 1]
    assert "__caro_precmd" not in sh.screen()


@pytest.mark.slow
def test_unwritable_spool_does_not_break_the_shell(shell_factory, tmp_path):
    with unwritable_spool(tmp_path) as home:
        sh = shell_factory("bash", home=home, env={"CARO_HOME": str(home)})
        sh.send("echo still-$((40+2))")
        sh.wait_for(lambda: "still-42" in sh.screen(), "the shell to answer")
        if os.geteuid() != 0:  # root writes anyway
            assert sh.records() == []
        assert "rror" not in sh.screen() and sh.alive()


@pytest.mark.slow
def test_spool_file_is_private(shell_factory):
    sh = shell_factory("bash")
    sh.run("true")
    (path,) = [p for p in (sh.home / "spool").iterdir() if p.suffix == ".spool"]
    assert path.stat().st_mode & 0o077 == 0
    assert (sh.home / "spool").stat().st_mode & 0o077 == 0


def test_init_script_names_the_home_quoted(tmp_path):
    from types import SimpleNamespace

    script = caro_shell_init_script("bash", SimpleNamespace(home=tmp_path / "it's"))
    assert "@CARO_HOME@" not in script and "it'\"'\"'s" in script
    assert caro_shell_init_script("zsh", SimpleNamespace(home=tmp_path)) is None


# ---------------------------------------------------------------------- history import

def test_parse_plain_history():
    data = b"ls -l\n\ncd /tmp\necho caf\xc3\xa9 \xff\n"
    assert parse_bash_history(data) == [
        ImportedCommand("ls -l", None, None),
        ImportedCommand("cd /tmp", None, None),
        ImportedCommand("echo caf\u00e9 \udcff", None, None),
    ]


def test_parse_timestamped_history_with_multiline_entries():
    data = (b"#1700000000\nls\n#1700000010\nfor i in 1 2\ndo echo $i\ndone\n"
            b"#1700000020\necho '#123 is not a stamp here'\n")
    got = parse_bash_history(data)
    assert got == [
        ImportedCommand("ls", 1700000000.0, None),
        ImportedCommand("for i in 1 2\ndo echo $i\ndone", 1700000010.0, None),
        ImportedCommand("echo '#123 is not a stamp here'", 1700000020.0, None),
    ]


@pytest.mark.slow
def test_without_epochrealtime_whole_seconds_still_work(shell_factory):
    """The bash 4.4 path (no $EPOCHREALTIME): unsetting the variable removes it in bash 5 too."""
    sh = shell_factory("bash", setup="unset EPOCHREALTIME")
    recs = sh.run("true", "sleep 1")
    assert [r.command for r in recs] == ["true", "sleep 1"]
    assert recs[1].duration_ms in (1000, 2000) and recs[0].timestamp == int(recs[0].timestamp)


def test_caro_init_cli(caro):
    from test_spool import CARO

    if not CARO.exists():
        pytest.skip("the caro console script is not installed")
    out = caro("init", "tcsh")
    assert out.returncode == 2 and out.stderr.strip() == \
        "caro: unknown shell 'tcsh'; choose one of: bash, fish, sh, zsh"
    out = caro("init", "bash")
    assert out.returncode == 0 and "__caro_precmd" in out.stdout
    out = caro("init", env={"SHELL": "/usr/bin/zsh"})  # parent is pytest's python: $SHELL decides
    assert out.returncode == 0 and "add-zsh-hook" in out.stdout
    assert caro("init", "dash").stdout == caro("init", "sh").stdout


def test_detect_shell_prefers_the_parent_process():
    import os

    from caro_plugins.cli_init import detect_shell

    names = ["bash", "fish", "sh", "zsh"]
    assert detect_shell(names, environ={"SHELL": "/bin/fish"}, ppid=os.getpid()) == "fish"
    assert detect_shell(names, environ={}, ppid=os.getpid()) is None
    assert detect_shell(names, environ={"SHELL": "-dash"}, ppid=os.getpid()) == "sh"
