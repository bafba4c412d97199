"""``caro anomalies`` as a real process: the table, the JSON, the errors, and no raw detail."""

import datetime as dt
import json

import test_anomaly
from test_anomaly import MARKER, NOW, TODAY, add, at, spread

usual = test_anomaly.usual  # shared fixture

SINCE, UNTIL = (dt.datetime.fromtimestamp(t).astimezone().isoformat() for t in (TODAY, NOW))


def burst(node):
    add(node, f"rm -rf /srv/{MARKER}-data", spread(4, at(13), 3))
    add(node, f"git push --force origin {MARKER}-branch", [at(13, 5)])
    add(node, f"git push origin {MARKER}-branch", spread(30, at(10), 60), exit_code=1)


def test_json(usual, caro):
    burst(usual)
    result = caro("anomalies", "--since", SINCE, "--until", UNTIL, "--json")
    assert result.returncode == 0, result.stderr
    assert MARKER not in result.stdout
    data = json.loads(result.stdout)
    assert data["since"] == SINCE and data["until"] == UNTIL and data["failures"] == []
    assert data["baseline"] == {"since": dt.datetime.fromtimestamp(TODAY - 30 * 86400)
                                .astimezone().isoformat(), "days": 30.0, "events": 1200,
                                "ready": True}
    kinds = [a["kind"] for a in data["anomalies"]]
    assert {"RepeatedRisky", "UnusualPattern", "HighFailureRate"} <= set(kinds)
    severities = [a["severity"] for a in data["anomalies"]]
    assert severities == sorted(severities, reverse=True)
    risky = data["anomalies"][kinds.index("RepeatedRisky")]
    assert risky == {"kind": "RepeatedRisky", "severity": 5, "level": "medium",
                     "description": "5 high-risk commands within 5 minutes "
                                    "(rm ×4, git push ×1)",
                     "count": 5, "first_seen": dt.datetime.fromtimestamp(at(13)).astimezone()
                     .isoformat(), "last_seen": dt.datetime.fromtimestamp(at(13, 5)).astimezone()
                     .isoformat()}


def test_table_and_baseline_days(usual, caro):
    burst(usual)
    result = caro("anomalies", "--since", SINCE, "--until", UNTIL, "--baseline-days", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SEV", "LEVEL", "TYPE", "WHEN", "DESCRIPTION"]
    assert any("RepeatedRisky" in line and "rm ×4" in line for line in lines)
    assert lines[-1] == "Baseline: the last 7 days (280 commands)."
    assert MARKER not in result.stdout


def test_an_empty_node(caro):
    result = caro("anomalies")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "No anomalies in this period."
    assert "Baseline still short (0 commands over 0.0 days)" in result.stdout


def test_bad_times_are_one_line_errors(caro):
    for args, message in ((["--since", "soon"], "cannot read time 'soon'"),
                          (["--since", "1h", "--until", "2h"], "must start before it ends")):
        result = caro("anomalies", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert message in result.stderr.strip().splitlines()[-1]
    assert caro("anomalies", "--baseline-days", "0").returncode == 2
