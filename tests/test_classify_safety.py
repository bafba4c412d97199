"""classify_safety and caro_core.risk: rules over the parse, the labelled corpus, safety modes."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caro_core.plugins import make_plugin_manager
from caro_core.risk import MODES, Assessment, Finding, RiskLevel, assess

CORPUS = Path(__file__).parent / "corpus" / "safety.tsv"


def load_corpus():
    rows = []
    for number, line in enumerate(CORPUS.read_text().splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            risk, category, command = line.split("\t")
            rows.append(pytest.param(RiskLevel.parse(risk), category, command, id=f"{number}"))
    return rows


ROWS = load_corpus()


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(environ={})


def test_the_corpus_is_large_and_covers_every_level():
    assert len(ROWS) >= 250
    assert {row.values[0] for row in ROWS} == set(RiskLevel)


@pytest.mark.parametrize("risk, category, command", ROWS)
def test_corpus_row(pm, risk, category, command):
    result = assess(pm, command)
    assert (result.risk.label, result.category) == (risk.label, category), result.reasons


def test_no_destructive_command_is_ever_rated_safe(pm):
    missed = [row.values[2] for row in ROWS if row.values[0] >= RiskLevel.HIGH
              and assess(pm, row.values[2]).risk == RiskLevel.SAFE]
    assert missed == []


@pytest.mark.parametrize("text, rule, reason", [
    ("rm -rf /", "rm.recursive-system", "recursive forced delete of / (the root filesystem)"),
    ("rm -r ~", "rm.recursive-system", "recursive delete of ~ (your home directory)"),
    ("curl -s x | sudo bash", "shell.remote-script",
     "pipes a script downloaded by curl into bash via sudo (remote code execution)"),
    ("git push -f", "git.force-push", "git push --force overwrites the remote history"),
    (":(){ :|:& };:", "proc.fork-bomb",
     "fork bomb: a function that spawns itself until the system stalls"),
])
def test_findings_have_stable_rule_ids_and_readable_reasons(pm, text, rule, reason):
    findings = assess(pm, text).findings
    assert Finding(findings[0].level, rule, reason) in findings


def test_reasons_are_sorted_by_level(pm):
    result = assess(pm, "sudo rm -rf /")
    assert [f.level for f in result.findings] == sorted((f.level for f in result.findings),
                                                        reverse=True)
    assert result.reasons[0].startswith("recursive forced delete of /")


def test_unparseable_lines_are_at_least_moderate(pm):
    result = assess(pm, "echo 'unterminated")
    assert result.risk == RiskLevel.MODERATE
    assert "could not be parsed" in result.reasons[0]
    assert assess(pm, "[[ -f x ]] && rm -rf /").risk == RiskLevel.CRITICAL


def test_json_has_exactly_the_public_keys(pm):
    data = assess(pm, "rm -rf /").to_json()
    assert data == {"category": "file-ops", "risk": "critical",
                    "reasons": ["recursive forced delete of / (the root filesystem)"],
                    "blocked": True, "needs_confirmation": False}


@pytest.mark.parametrize("mode, text, blocked, confirm", [
    ("strict", "rm -rf /", True, False),
    ("strict", "git push -f", True, False),
    ("strict", "rm notes.txt", False, True),
    ("moderate", "rm -rf /", True, False),
    ("moderate", "git push -f", False, True),
    ("moderate", "rm notes.txt", False, True),
    ("permissive", "rm -rf /", False, True),
    ("permissive", "git push -f", False, True),
    ("permissive", "rm notes.txt", False, False),
    ("strict", "ls", False, False),
])
def test_modes(pm, mode, text, blocked, confirm):
    result = assess(pm, text, mode)
    assert (result.blocked, result.needs_confirmation) == (blocked, confirm)


def test_every_mode_has_a_decision_for_every_level():
    for mode in MODES.values():
        assert not mode.blocked & mode.confirm
    with pytest.raises(ValueError, match="unknown safety mode"):
        assess(make_plugin_manager(environ={}), "ls", "yolo")


def test_risk_level_labels_and_parse():
    assert [level.label for level in RiskLevel] == ["safe", "moderate", "high", "critical"]
    assert RiskLevel.parse("HIGH") is RiskLevel.HIGH
    with pytest.raises(ValueError):
        RiskLevel.parse("extreme")


def test_without_the_safety_plugin_nothing_is_risky():
    pm = make_plugin_manager({"disable": ["classify_safety"], "autoload": False}, environ={})
    assert assess(pm, "rm -rf /").risk == RiskLevel.SAFE
    assert isinstance(assess(pm, "ls"), Assessment)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_assess_never_raises(text):
    assess(_PM, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(
    ["rm", "-rf", "/", "sudo", "bash", "-c", "'", '"', "|", "&&", ";", ">", "/dev/sda", "$(",
     ")", "curl", "sh", "git", "push", "-f", "find", "-exec", "{}", "\\;", "chmod", "777", "~",
     "eval", "xargs", "dd", "of=/dev/sda", ":(){", ":|:&", "};:", "<(", "\n"]), max_size=12))
def test_assess_never_raises_on_shell_soup(words):
    assess(_PM, " ".join(words))


_PM = make_plugin_manager(environ={})


@pytest.mark.slow
def test_caro_check_cli(caro, caro_home):
    env = {"CARO_HOME": str(caro_home)}
    done = caro("check", "--json", "rm", "-rf", "/", env=env)
    assert done.returncode == 0, done.stderr
    assert '"risk": "critical"' in done.stdout and '"blocked": true' in done.stdout
    done = caro("check", "--mode", "permissive", "git push --force", env=env)
    assert done.returncode == 0 and "HIGH" in done.stdout and "needs confirmation" in done.stdout
    done = caro("check", "export API_TOKEN=abc123", env=env)
    assert "abc123" not in done.stdout and "<redacted:assignment>" in done.stdout
    assert caro("check", env=env).returncode == 2
