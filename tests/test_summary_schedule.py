"""The summary schedule: due periods with a fake clock, catch-up bounds, never twice, empty
periods skipped, retention, audit and runtime facts, and the real thread's start and stop."""

import datetime as dt
import time

import pytest

from caro_core.errors import ConfigError
from caro_core.events import insert_events
from caro_core.ingest import classify
from caro_core.node import Node
from caro_core.runtime import RuntimeState
from caro_core.summary import Period, build, list_summaries, store_summary
from caro_plugins import summary_schedule
from caro_plugins.summary_schedule import MAX_SLEEP_S, SummaryScheduler


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def add(node, *stamps):
    insert_events(node.store, [classify(node, "git status", timestamp=t, exit_code=0, duration_ms=5,
                                        cwd="/home/ann", shell="bash", session="bash-1-1",
                                        user="ann", elevated=False, caro_generated=False)
                               for t in stamps])


NOW = utc(2026, 11, 4, 10, 0, 45)  # a Wednesday, 45 s after 10:00 UTC


def written(node):
    return sorted((s["period"]["granularity"], s["period"]["start"])
                  for s in list_summaries(node.store))


@pytest.fixture
def history(node):
    add(node, utc(2026, 11, 4, 9, 10),  # this morning
        utc(2026, 11, 3, 15),  # yesterday
        utc(2026, 11, 1, 12),  # Sunday: 70 h ago, beyond the hourly catch-up
        utc(2026, 10, 1),  # beyond the daily catch-up, within the weekly one
        utc(2026, 8, 1))  # beyond every catch-up
    return node


def test_catch_up_writes_each_closed_period_once(history):
    node = history
    node.runtime = RuntimeState(node.home)
    clock = [NOW]
    scheduler = SummaryScheduler(node, ["hourly", "daily", "weekly"], keep_days=0,
                                 clock=lambda: clock[0])
    first = scheduler.run_once(clock[0])
    assert written(node) == [
        ("daily", "2026-11-01T00:00:00Z"), ("daily", "2026-11-03T00:00:00Z"),
        ("hourly", "2026-11-03T15:00:00Z"), ("hourly", "2026-11-04T09:00:00Z"),
        ("weekly", "2026-09-28T00:00:00Z"), ("weekly", "2026-10-26T00:00:00Z")]
    assert len(first) == 6
    assert scheduler.run_once(clock[0]) == []  # never twice
    generated = [e for e in node.audit.entries() if e["event_type"] == "SummaryGenerated"]
    assert len(generated) == 6
    assert any(e["details"].startswith("hourly 2026-11-04T09:00:00Z id ") for e in generated)
    assert node.runtime.get("last_summary")["id"] == first[-1]["id"]

    add(node, utc(2026, 11, 4, 10, 30))
    assert scheduler.run_once(utc(2026, 11, 4, 11, 0, 10)) == []  # closed, but settling
    (hourly,) = scheduler.run_once(utc(2026, 11, 4, 11, 0, 31))
    assert hourly["period"]["start"] == "2026-11-04T10:00:00Z"
    assert hourly["total_commands"] == 1
    assert scheduler.run_once(utc(2026, 11, 4, 12, 5)) == []  # 11:00 had no events: skipped


def test_only_the_configured_granularities(history):
    scheduler = SummaryScheduler(history, ["daily"], keep_days=0)
    scheduler.run_once(NOW)
    assert {g for g, _ in written(history)} == {"daily"}


def test_retention_prunes_own_summaries_and_limits_catch_up(history, tmp_path):
    node = history
    old = build(node, Period.containing(utc(2026, 10, 20), "daily"))
    store_summary(node.store, old)
    other = Node.load(tmp_path / "peer", environ={})
    received = build(other, Period.containing(utc(2026, 10, 20), "daily"))
    store_summary(node.store, received, received_from=other.identity.node_id)
    scheduler = SummaryScheduler(node, ["hourly", "daily", "weekly"], keep_days=2)
    scheduler.run_once(NOW)
    own = [s for s in list_summaries(node.store) if s["node_id"] == node.identity.node_id]
    # ended within the last 2 days: the hourly ones and Tuesday; Sunday and the weeks are too old
    assert sorted((s["period"]["granularity"], s["period"]["start"]) for s in own) == [
        ("daily", "2026-11-03T00:00:00Z"),
        ("hourly", "2026-11-03T15:00:00Z"), ("hourly", "2026-11-04T09:00:00Z")]
    assert list_summaries(node.store, peer=other.identity.node_id) == [received]
    assert scheduler.run_once(NOW + 60) == []  # pruned periods are not written again
    other.close()


def test_wake_ups_are_bounded():
    scheduler = SummaryScheduler(None, ["hourly", "daily"], keep_days=0)
    assert scheduler.seconds_to_next(NOW) == MAX_SLEEP_S
    assert scheduler.seconds_to_next(utc(2026, 11, 4, 10, 59, 50)) == 40  # due at 11:00:30
    assert scheduler.seconds_to_next(utc(2026, 11, 4, 11, 0, 30) - 0.2) == 1  # never a busy loop
    weekly = SummaryScheduler(None, ["weekly"], keep_days=0)
    assert weekly.seconds_to_next(NOW) == MAX_SLEEP_S


def test_the_thread_writes_on_start_and_stops_promptly(node):
    last_hour = Period.last_complete(time.time() - 60, "hourly")
    add(node, last_hour.start + 1)
    summary_schedule.caro_lifecycle_start(node)
    scheduler = node.pm.get_plugin("summary_schedule.scheduler")
    assert scheduler.thread.is_alive()
    for _ in range(200):  # at most 10 s
        if list_summaries(node.store, granularity="hourly"):
            break
        time.sleep(0.05)
    assert [s["period"]["start"] for s in list_summaries(node.store, granularity="hourly")] == \
        [last_hour.to_json()["start"]]
    scheduler.caro_lifecycle_stop(node)
    assert not scheduler.thread.is_alive()  # woken from its (up to 60 s) sleep


def test_disabled_schedule_starts_nothing(caro_home):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text("[summary]\nenabled = false\n")
    node = Node.load(caro_home, environ={})
    summary_schedule.caro_lifecycle_start(node)
    assert node.pm.get_plugin("summary_schedule.scheduler") is None


def test_unknown_granularity_in_config_is_one_line(caro_home):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text('[summary]\ngranularities = ["daily", "monthly"]\n')
    with pytest.raises(ConfigError, match=r"\[summary\] granularities: expected one of 'hourly', "
                                          r"'daily', 'weekly'"):
        Node.load(caro_home, environ={})
