"""generate_offline and caro_plugins.offline: the built-in engine turning requests into commands."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caro_core.cmdparse import parse
from caro_core.generate import Candidate, GenerateContext
from caro_core.plugins import make_plugin_manager
from caro_core.risk import RiskLevel, assess
from caro_plugins import generate_offline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import nl2cmd  # noqa: E402  (the benchmark's case file and its checks)

LINUX = GenerateContext(platform="linux", backend="offline", gnu=True)
MAC = GenerateContext(platform="darwin", backend="offline", gnu=False)


def suggest(request, context=LINUX):
    return generate_offline.caro_generate_commands(request=request, context=context)


def top(request, context=LINUX):
    found = suggest(request, context)
    assert found, f"no suggestion for {request!r}"
    return found[0].command


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(environ={})


# ------------------------------------------------------------------ the hook

def test_the_node_offers_the_engine_through_the_hook(node):
    context = GenerateContext(platform="linux", backend="offline", node=node)
    found = [c for batch in node.pm.hook.caro_generate_commands(
        request="list all files modified today", context=context) for c in batch]
    ours = [c for c in found if c.backend == "offline"]
    assert ours[0].command == "find . -daystart -type f -mtime 0"


def test_candidates_carry_the_engine_fields():
    found = suggest("what is listening on port 8080")
    assert all(isinstance(c, Candidate) for c in found)
    assert {(c.backend, c.source) for c in found} == {("offline", "caro")}
    assert all(0 < c.confidence <= 1 and c.explanation and "\n" not in c.explanation
               for c in found)
    assert [c.command for c in found][:2] == ["ss -ltnp 'sport = :8080'", "lsof -i :8080"]
    assert found[0].confidence > found[1].confidence


def test_only_the_offline_backend_answers():
    other = GenerateContext(platform="linux", backend="openai-compatible")
    assert suggest("list running containers", other) == []


@pytest.mark.parametrize("request_text", [
    "what is the meaning of life", "make me a sandwich", "write a poem about the sea",
    "translate hello into french", "book a flight to paris tomorrow", "please", "hello", ""])
def test_an_unknown_request_gets_no_suggestion(request_text):
    assert suggest(request_text) == []


@pytest.mark.parametrize("request_text", [
    "asdf qwerty zxcv", "banana helicopter purple", "!!! ??? ...", "'''", "x" * 500,
    "the the the of of", "42"])
def test_nonsense_gets_no_suggestion(request_text):
    assert suggest(request_text) == []


WORDS = ["find", "files", "larger", "than", "100MB", "in", "/var/log", "every", "day", "at",
         "3am", "port", "8080", "branch", "main", "container", "web", "'x y'", "older", "7", "days",
         "named", "as", "to", "kill", "install", "the", "user@host:/tmp", "*.py", "-9", "today's"]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(WORDS), max_size=9).map(" ".join)))
def test_any_text_gives_commands_that_parse_or_nothing(text):
    for context in (LINUX, MAC):
        for candidate in suggest(text, context):
            assert candidate.command and "\n" not in candidate.command
            assert parse(candidate.command).parse_error is None, candidate.command


def test_the_plugin_module_does_not_import_the_engine_and_the_engine_compiles_lazily():
    code = ("import sys, caro_plugins.generate_offline\n"
            "print('caro_plugins.offline.engine' in sys.modules)\n"
            "from caro_plugins.offline import parse, engine\n"
            "print(parse._rx.cache_info().currsize, engine.intents.cache_info().currsize)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False", "0", "0"]


# ------------------------------------------------------------------ parameters

@pytest.mark.parametrize("request_text, command", [
    # file names and globs / extensions
    ("find the file named settings.py", "find . -type f -name settings.py"),
    ("find all python files in src", "find src -type f -name '*.py'"),
    ("list *.log files", "find . -type f -name '*.log'"),
    ("find jpg and png images", "find . -type f \\( -name '*.jpg' -o -name '*.png' \\)"),
    ("remove files ending in .orig", "find . -type f -name '*.orig' -delete"),
    # sizes
    ("find files larger than 100MB", "find . -type f -size +100M"),
    ("find files smaller than 10 kilobytes", "find . -type f -size -10k"),
    ("files over 1.5GB", "find . -type f -size +1536M"),
    # times
    ("list all files modified today", "find . -daystart -type f -mtime 0"),
    ("find files modified in the last 2 hours", "find . -type f -mmin -120"),
    ("delete .tmp files older than 7 days", "find . -type f -name '*.tmp' -mtime +7 -delete"),
    ("files edited yesterday", "find . -daystart -type f -mtime 1"),
    # ports
    ("what is running on port 5432", "ss -ltnp 'sport = :5432'"),
    ("check if port 443 is open on example.com", "nc -zv example.com 443"),
    ("run nginx image on port 8080", "docker run -d -p 8080:8080 nginx"),
    # counts
    ("top 5 largest files in /home", "find /home -type f -exec du -h {} + | sort -rh | head -n 5"),
    ("show the last 10 commits", "git log --oneline -n 10"),
    ("ping 8.8.8.8 three times", "ping -c 3 8.8.8.8"),
    # branch names
    ("create a new branch called feature/login", "git switch -c feature/login"),
    ("delete the branch old-ui", "git branch -d old-ui"),
    ("switch to main", "git switch main"),
    # container, pod and deployment names
    ("restart the web container", "docker restart web"),
    ("show logs of pod api-123 in namespace prod", "kubectl logs api-123 -n prod"),
    ("scale deployment web to 3 replicas", "kubectl scale deployment web --replicas=3"),
    # users
    ("find files owned by alice in /srv", "find /srv -type f -user alice"),
    ("add user bob to group docker", "sudo usermod -aG docker bob"),
    ("ssh into 192.168.1.20 as pi", "ssh pi@192.168.1.20"),
    # directories
    ("show disk usage of /var/log", "du -sh /var/log"),
    ("list all files in my home directory", "ls -lah ~"),
    ("extract backup.tar.bz2 to /tmp/restore", "tar -xjf backup.tar.bz2 -C /tmp/restore"),
    # patterns in quotes
    ("search for 'connection refused' in app.log", "grep -n 'connection refused' app.log"),
    ("replace 'http://' with 'https://' in site.html", "sed -i 's|http://|https://|g' site.html"),
    ("commit all changes with message 'fix bug'", "git commit -am 'fix bug'"),
])
def test_parameters_are_filled_from_the_request(request_text, command):
    assert top(request_text) == command


def test_schedules_become_cron_lines():
    assert top("run /opt/backup.sh every day at 2am") == \
        "(crontab -l 2>/dev/null; echo '0 2 * * * /opt/backup.sh') | crontab -"
    assert "'*/15 * * * * /opt/poll.sh'" in top("run /opt/poll.sh every 15 minutes")
    assert "'30 8 * * 1 /home/me/report.sh'" in top("run /home/me/report.sh every monday at 8:30")
    assert "'@reboot /srv/start.sh'" in top("run /srv/start.sh at reboot with cron")


def test_a_path_inside_a_word_is_not_a_schedule():
    assert "'0 0 * * 0 /opt/weekly.sh'" in top("run /opt/weekly.sh every sunday at midnight")


# ------------------------------------------------------------------ platforms

@pytest.mark.parametrize("request_text, gnu, bsd", [
    ("replace foo with bar in notes.txt", "sed -i s/foo/bar/g notes.txt",
     "sed -i '' s/foo/bar/g notes.txt"),
    ("when was notes.txt last modified", "stat -c '%y' notes.txt", "stat -f '%Sm' notes.txt"),
    ("list all files modified today", "find . -daystart -type f -mtime 0",
     'find . -type f -newermt "$(date +%Y-%m-%d)"'),
    ("what is listening on port 8080", "ss -ltnp 'sport = :8080'",
     "lsof -nP -iTCP:8080 -sTCP:LISTEN"),
    ("which process uses the most memory", "ps aux --sort=-%mem | head -n 11",
     "ps aux -m | head -n 11"),
    ("how much memory is free", "free -h", "vm_stat"),
    ("install htop", "sudo apt install htop", "brew install htop"),
    ("restart nginx", "sudo systemctl restart nginx", "brew services restart nginx"),
    ("find broken symlinks", "find . -xtype l", "find -L . -type l"),
    ("show permissions of notes.txt", "ls -ld notes.txt", "ls -ld notes.txt"),
])
def test_commands_adapt_to_gnu_and_bsd(request_text, gnu, bsd):
    assert top(request_text, LINUX) == gnu
    assert top(request_text, MAC) == bsd


def test_bsd_stat_and_gnu_only_find_options_stay_on_their_platform():
    linux = [c.command for c in suggest("top 5 largest files", LINUX)]
    mac = [c.command for c in suggest("top 5 largest files", MAC)]
    assert any("-printf" in c for c in linux) and not any("-printf" in c for c in mac)
    assert suggest("show permissions of notes.txt", MAC)[1].command.startswith("stat -f")


@pytest.mark.parametrize("programs, request_text, command", [
    ({"podman"}, "list running containers", "podman ps"),
    ({"dnf"}, "install jq", "sudo dnf install jq"),
    ({"pacman"}, "install git", "sudo pacman -S git"),
    ({"netstat"}, "what is running on port 80", "netstat -tlnp | grep ':80 '"),
])
def test_the_programs_on_path_are_preferred(programs, request_text, command):
    context = GenerateContext(platform="linux", backend="offline", programs=frozenset(programs))
    assert top(request_text, context) == command


def test_optional_tools_are_offered_only_when_installed():
    plain = [c.command for c in suggest("grep TODO in all python files")]
    with_rg = GenerateContext(platform="linux", backend="offline",
                           programs=frozenset({"rg", "grep"}))
    assert not any(c.startswith("rg ") for c in plain)
    assert any(c.startswith("rg ") for c in (x.command for x in suggest(
        "grep TODO in all python files", with_rg)))


# ------------------------------------------------------------------ safety of what is offered

def benign_requests():
    return [case["request"] for case in nl2cmd.load_cases()
            if not case.get("nothing") and not case.get("held_out")]


def test_every_command_parses_and_none_is_critical(pm):
    checked = 0
    for request_text in benign_requests():
        for context in (LINUX, MAC):
            for candidate in suggest(request_text, context):
                parsed = parse(candidate.command)
                assert parsed.parse_error is None, (request_text, candidate.command)
                assert parsed.simple_commands, candidate.command
                risk = assess(pm, candidate.command).risk
                assert risk < RiskLevel.CRITICAL, (request_text, candidate.command)
                checked += 1
    assert checked > 500


# ------------------------------------------------------------------ asked to make something

@pytest.mark.parametrize("request_text, command", [
    ("create a docker network called backend", "docker network create backend"),
    ("create a docker volume called pgdata", "docker volume create pgdata"),
    ("create a new namespace called staging", "kubectl create namespace staging"),
    ("switch to namespace staging", "kubectl config set-context --current --namespace=staging"),
    ("set the default namespace to dev", "kubectl config set-context --current --namespace=dev"),
])
def test_create_makes_the_thing_named(request_text, command):
    assert top(request_text) == command


@pytest.mark.parametrize("request_text, wrong", [
    ("create a docker network", "docker network ls"),          # a listing answers no "create"
    ("add a remote called upstream", "git remote -v"),         # adding needs the URL
    ("create a backup of config.yaml", "kubectl apply"),       # not about Kubernetes
    ("create a virtualenv in .venv", "kubectl apply"),
    ("create a virtualenv", "tar "),                           # not an archive request
    ("sync ./site to s3://team-web/", "rsync"),                # rsync cannot write to s3://
    ("which aws account am i using", "whoami"),                # another system's account
])
def test_create_is_never_answered_with_something_else(request_text, wrong):
    assert not any(c.command.startswith(wrong) for c in suggest(request_text))


def test_names_taken_from_unknown_words_lower_the_confidence():
    """The confidence counts what the engine understood: a guessed name is not understood, so
    a skill recipe written for the phrase ("run clippy") outranks the engine's reading of it."""
    [understood] = suggest("find files larger than 100MB")
    assert understood.confidence == 0.95
    guessed = suggest("run clippy")[0]
    assert guessed.command == "pgrep -a clippy" and guessed.confidence < 0.675


# ------------------------------------------------------------------ the benchmark's cases

def tuning_cases():
    return [pytest.param(case, id=f"{case['area']}-{number}")
            for number, case in enumerate(nl2cmd.load_cases()) if not case.get("held_out")]


@pytest.mark.parametrize("case", tuning_cases()[::4])
def test_a_sample_of_the_benchmark_cases(case):
    found = suggest(case["request"], nl2cmd.context_for(case))
    assert nl2cmd.accepted(case, found[0].command if found else None), found[:1]


def test_the_case_file_is_large_covers_every_area_and_keeps_a_held_out_slice():
    cases = nl2cmd.load_cases()
    areas = {case["area"] for case in cases}
    assert len(cases) >= 150
    assert areas >= {"files", "archives", "text", "processes", "disk", "network", "git", "docker",
                     "kubectl", "packages", "permissions", "cron", "logs", "unknown"}
    held = [case for case in cases if case.get("held_out")]
    assert len(held) >= 30 and {case["area"] for case in held} == areas
