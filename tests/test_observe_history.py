"""From spool to history: ingest, redaction, filters, history/stats/import commands."""

import json
import time

import pytest

from caro_core.spool import spool_dir
from spooltools import spool_record, write_spool


def history(caro, *args):
    result = caro("history", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_history_ingests_the_spool_with_the_daemon_down(caro_home, caro):
    now = time.time()
    write_spool(caro_home,
                spool_record("git status", 0, 12, start=now - 3),
                spool_record("make test", 2, 1500, start=now - 2),
                spool_record(b"printf 'a\tb'\necho \"two\" \xff", 0, 1, start=now - 1))
    events = history(caro)
    assert [e["command"] for e in events] == ["printf 'a\tb'\necho \"two\" \\xff", "make test", "git status"]
    first = events[-1]
    assert set(first) >= {"command", "exit_code", "duration_ms", "cwd", "shell", "timestamp",
                          "category", "risk"}
    assert (first["exit_code"], first["duration_ms"], first["cwd"], first["shell"]) == (0, 12, "/home/ann/project", "bash")
    assert first["category"] == "git" and first["risk"] == "safe"
    assert events[1]["exit_code"] == 2
    assert list(spool_dir(caro_home).glob("*.spool*")) == []  # ingested spool files are gone
    assert history(caro) == events  # nothing ingested twice


def test_secrets_are_redacted_before_storage_and_the_spool_is_wiped(caro_home, caro):
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    write_spool(caro_home, spool_record(f"GITHUB_TOKEN={secret} gh repo list"))
    (event,) = history(caro)
    assert secret not in event["command"] and "gh repo list" in event["command"]
    for path in caro_home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_filters_from_config_exclude_commands_and_directories(caro_home, caro):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text(
        '[observe]\nhistory_filter = ["^pass "]\ncwd_filter = ["/secret-project"]\n')
    write_spool(caro_home, spool_record("pass show bank"), spool_record("ls", cwd="/x/secret-project/a"),
                spool_record("ls -la"))
    assert [e["command"] for e in history(caro)] == ["ls -la"]


def test_a_bad_filter_regex_is_a_config_error(caro_home, caro):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text('[observe]\nhistory_filter = ["("]\n')
    write_spool(caro_home, spool_record("ls"))
    result = caro("history")
    assert result.returncode == 2 and "[observe] history_filter: invalid regular expression" in result.stderr
    assert list(spool_dir(caro_home).glob("*.spool"))  # nothing lost


def test_history_filters_and_alias(caro_home, caro):
    now = time.time()
    write_spool(caro_home,
                spool_record("docker ps", start=now - 7200),
                spool_record("rm -rf /", start=now - 60),
                spool_record("git push --force origin main", start=now - 30),
                spool_record("git log", start=now - 10))
    assert [e["command"] for e in history(caro, "--category", "git")] == ["git log", "git push --force origin main"]
    assert {e["command"] for e in history(caro, "--risk", "high")} == {"rm -rf /", "git push --force origin main"}
    assert [e["risk"] for e in history(caro, "--risk", "critical")] == ["critical"]
    assert len(history(caro, "--since", "1h")) == 3
    assert [e["command"] for e in history(caro, "--limit", "1")] == ["git log"]
    alias = caro("--history", "--json", "--limit", "2")
    assert [e["command"] for e in json.loads(alias.stdout)] == ["git log", "git push --force origin main"]
    bad = caro("history", "--since", "last tuesday")
    assert bad.returncode == 2 and "cannot read time" in bad.stderr


def test_stats_summarise_the_period(caro_home, caro):
    now = time.time()
    write_spool(caro_home, *[spool_record("git status", start=now - i) for i in range(3)],
                spool_record("make", exit_code=1, start=now - 5),
                spool_record("sudo rm -rf /var/lib/thing", start=now - 6))
    result = caro("stats", "--period", "day", "--json")
    data = json.loads(result.stdout)
    assert data["total_commands"] == 5 and data["unique_commands"] == 3
    assert data["top_commands"][0] == {"command": "git", "count": 3}
    assert data["top_categories"][0] == {"category": "git", "count": 3}
    assert data["failure_rate"] == 0.2
    assert data["busiest_hour"]["count"] >= 1
    assert [r["command"] for r in data["risky_commands"]] == ["sudo rm -rf /var/lib/thing"]
    elevated = [e["command"] for e in history(caro) if e["elevated"]]
    assert elevated == ["sudo rm -rf /var/lib/thing"]  # sudo in the line counts as elevated
    human = caro("stats", "--period", "day")
    assert "5 commands (3 unique)" in human.stdout


HISTORIES = {
    "bash": b"#1700000000\ngit status\n#1700000100\nls -la\n",
    "zsh": b": 1700000000:3;git status\n: 1700000100:0;for f in *; do\\\n  echo $f\\\ndone\n",
    "fish": b"- cmd: git status\n  when: 1700000000\n- cmd: ls -la\n  when: 1700000100\n",
}


@pytest.mark.parametrize("shell", sorted(HISTORIES))
def test_import_history_once(caro_home, caro, tmp_path, shell):
    path = tmp_path / f"{shell}_history"
    path.write_bytes(HISTORIES[shell])
    result = caro("import", "--shell", shell, str(path))
    assert result.returncode == 0, result.stderr
    assert "imported 2 commands" in result.stdout
    events = history(caro, "--since", "2020-01-01")
    assert len(events) == 2 and events[-1]["command"] == "git status"
    assert events[-1]["timestamp"].startswith(time.strftime("%Y-%m-%d", time.localtime(1700000000)))
    again = caro("import", "--shell", shell, str(path))
    assert "imported 0 commands" in again.stdout and "2 were already present" in again.stdout


def test_import_of_a_missing_file_is_one_line(caro, tmp_path):
    result = caro("import", "--shell", "bash", str(tmp_path / "nope"))
    assert result.returncode != 0 and "cannot read history file" in result.stderr
    assert "Traceback" not in result.stderr
