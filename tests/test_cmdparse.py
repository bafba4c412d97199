"""caro_core.cmdparse: one parse per line, wrappers and payloads looked through, never a raise."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caro_core.cmdparse import MAX_DEPTH, clear_cache, parse


def programs(text):
    return [c.program for c in parse(text).simple_commands]


def only(text):
    (cmd,) = parse(text).simple_commands
    return cmd


def test_simple_line_takes_the_fast_path_and_is_a_real_parse():
    cmd = only("git commit -am wip")
    assert cmd.argv == ("git", "commit", "-am", "wip")
    assert cmd.program == "git" and cmd.origin == "top" and not cmd.nested
    assert parse("git commit -am wip").parse_error is None


def test_absolute_program_paths_are_reduced_to_their_basename():
    cmd = only("/bin/rm -rf x")
    assert cmd.program == "rm" and cmd.argv[0] == "/bin/rm"


def test_quotes_are_removed_and_quoted_text_stays_one_word():
    cmd = only("git commit -m \"fix rm -rf /\"")
    assert cmd.argv == ("git", "commit", "-m", "fix rm -rf /")
    assert only("r''m -rf /").program == "rm"
    assert only("\\rm -rf /").program == "rm"


@pytest.mark.parametrize("text, wrappers", [
    ("sudo -u deploy rm -rf x", ["sudo"]),
    ("doas rm x", ["doas"]),
    ("env -i FOO=1 BAR=2 rm x", ["env"]),
    ("command rm x", ["command"]),
    ("exec rm x", ["exec"]),
    ("time rm x", ["time"]),
    ("nohup rm x", ["nohup"]),
    ("nice -n 10 rm x", ["nice"]),
    ("ionice -c 3 rm x", ["ionice"]),
    ("timeout -s KILL 10s rm x", ["timeout"]),
    ("stdbuf -oL rm x", ["stdbuf"]),
    ("strace -f -o log rm x", ["strace"]),
    ("sudo env PATH=/x nice -n 5 timeout 3 rm x", ["sudo", "env", "nice", "timeout"]),
])
def test_wrappers_are_looked_through(text, wrappers):
    cmd = only(text)
    assert cmd.program == "rm" and cmd.argv[-1] == "x"
    assert list(cmd.wrappers) == wrappers


def test_sudo_elevates_and_a_query_is_not_a_wrapper():
    assert only("sudo rm x").elevated
    assert not only("rm x").elevated
    assert only("sudo -i").program == "sudo" and only("sudo -i").elevated
    assert only("command -v rm").program == "command"


def test_leading_assignments_are_kept_apart():
    cmd = only("FOO=1 BAR=x make")
    assert cmd.assignments == ("FOO=1", "BAR=x") and cmd.program == "make"


def test_xargs_commands_are_nested():
    cmd = parse("find . | xargs -0 -I{} rm -rf {}").simple_commands[1]
    assert cmd.program == "rm" and cmd.wrappers == ("xargs",) and cmd.nested


def test_pipelines_record_positions_and_neighbours():
    p = parse("curl -s x | sudo bash")
    curl, bash = p.simple_commands
    assert (curl.pipeline_position, bash.pipeline_position) == (0, 1)
    assert curl.pipes_to == "bash" and bash.pipes_from == "curl"
    assert [c.program for c in p.pipelines[0]] == ["curl", "bash"]
    assert bash.elevated


def test_operators_and_subshells():
    p = parse("cd x && (make; make install) || echo failed &")
    assert programs("cd x && (make; make install) || echo failed &") == [
        "cd", "make", "make", "echo"]
    assert "&&" in p.operators and "||" in p.operators


def test_redirections_carry_their_descriptor():
    cmd = only("ls > out.txt 2>&1 2>/dev/null")
    assert cmd.redirects == ((">", "out.txt"), ("2>&", "&1"), ("2>", "/dev/null"))
    assert only("exec 3<&-").redirects == (("3<&", "-"),)  # closing a descriptor


@pytest.mark.parametrize("text", [
    "bash -c 'rm -rf /'", "sh -c \"rm -rf /\"", "zsh -lc 'rm -rf /'", "eval 'rm -rf /'",
    "su -c 'rm -rf /' root", "echo 'rm -rf /' | sh", "ssh host 'rm -rf /'",
    "find . -exec rm -rf / \\;",
])
def test_payloads_are_parsed_as_nested_commands(text):
    nested = [c for c in parse(text).simple_commands if c.nested]
    assert [c.argv for c in nested] == [("rm", "-rf", "/")]


def test_substitutions_are_commands_of_their_own():
    p = parse('echo "$(rm -rf /)"')
    rm, echo = p.simple_commands
    assert rm.origin == "cmdsub" and echo.substitutions == (rm,)
    assert parse("bash <(curl -s x)").simple_commands[0].origin == "procsub"
    assert programs("echo '$(rm -rf /)'") == ["echo"]


def test_payload_depth_is_bounded():
    text = "rm x"
    for _ in range(MAX_DEPTH + 3):
        text = "bash -c " + repr(text).replace("\\'", "'")
    assert parse(text).simple_commands  # parses, stops following at the bound


@pytest.mark.parametrize("text", [":(){ :|:& };:", "bomb(){ bomb|bomb& };bomb",
                                  "function f { f | f & }; f", "bash -c ':(){ :|:& };:'"])
def test_fork_bombs_are_detected(text):
    assert parse(text).fork_bomb


@pytest.mark.parametrize("text", ["echo ':(){ :|:& };:'", "f(){ echo hi; }; f", ":(){ :|:& }"])
def test_harmless_functions_are_not_fork_bombs(text):
    assert not parse(text).fork_bomb


@pytest.mark.parametrize("text", ["echo 'unterminated | sh", "[[ -f x ]] && rm -rf y",
                                  "echo $((1 + 2)) > f", "cat <<EOF"])
def test_unparseable_input_falls_back_to_tokens(text):
    p = parse(text)
    assert p.parse_error
    assert p.simple_commands


def test_fallback_still_sees_commands_pipes_and_redirects():
    p = parse("[[ -f x ]] && rm -rf / | sh > /dev/sda")
    rm, sh = p.simple_commands[1:]
    assert rm.argv == ("rm", "-rf", "/") and sh.pipes_from == "rm"
    assert sh.redirects == ((">", "/dev/sda"),)


def test_parse_is_cached():
    clear_cache()
    assert parse("ls -la") is parse("ls -la")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab rm-f/|&;<>()$`'\"\\{}:*~=#!\n\t")) , max_size=40))
def test_parse_never_raises_on_shell_like_text(text):
    parse(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parse_never_raises_on_arbitrary_text(text):
    parse(text)


def test_ssh_with_an_option_missing_its_argument_has_no_payload():
    parsed = parse("ssh host -o")
    assert parsed.programs == ("ssh",) and parsed.parse_error is None
