"""POSIX sh integration: `eval "$(caro init sh)"` in a real interactive dash, driven through tmux.

dash has no pre-exec hook and no history: each prompt after the first records
the exit status and time, with no command text and no duration.
"""

import subprocess

import pytest

from shellharness import CARO, need, unwritable_spool


@pytest.mark.slow
def test_each_prompt_records_status_time_and_cwd(shell_factory):
    sh = shell_factory("sh")
    recs = sh.run("true", "false", "cd /tmp")
    assert [r.exit_code for r in recs] == [0, 1, 0]  # the first command too
    assert all(r.shell == "sh" and r.command == "" and r.duration_ms is None for r in recs)
    assert recs[2].cwd == "/tmp"  # sh sees the cwd at the prompt, after the command
    assert recs[0].timestamp <= recs[2].timestamp
    assert all(r.user == "tester" and r.session.startswith("sh-") for r in recs)


@pytest.mark.slow
def test_users_options_do_not_break_the_hook(shell_factory):
    sh = shell_factory("sh", setup="set -u")
    recs = sh.run("true", "echo alive")
    assert [r.exit_code for r in recs] == [0, 0] and sh.alive()


@pytest.mark.slow
def test_unwritable_spool_does_not_break_the_shell(shell_factory, tmp_path):
    with unwritable_spool(tmp_path) as home:
        sh = shell_factory("sh", home=home)
        sh.send("echo still-$((40+2))")
        sh.wait_for(lambda: "still-42" in sh.screen(), "the shell to answer")
        assert "annot" not in sh.screen() and sh.alive()


@pytest.mark.slow
def test_the_script_is_eval_able_by_dash(tmp_path):
    need("dash")
    if not CARO.exists():
        pytest.skip("the caro console script is not installed")
    out = subprocess.run(["dash", "-c", f'eval "$({CARO} init sh)" && echo ok'],
                         capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "CARO_HOME": str(tmp_path / "h")})
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr
