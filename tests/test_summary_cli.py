"""``caro summary preview|generate|list`` through the installed CLI: output, storage and
one-line errors."""

import json
import time

from caro_core.node import Node
from caro_core.summary import Period
from spooltools import spool_record, write_spool


def one_line_error(result, code=None):
    assert result.returncode != 0 and (code is None or result.returncode == code), result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_preview_is_labelled_signed_and_not_stored(caro_home, caro):
    write_spool(caro_home, spool_record("git status", start=time.time() - 5),
                spool_record("make test", exit_code=2, start=time.time() - 4))
    human = caro("summary", "preview", "--granularity", "hourly")
    assert human.returncode == 0, human.stderr
    assert "PREVIEW, current period so far (not stored, not shared): hourly" in human.stdout
    assert "Signed (Ed25519) by" in human.stdout and "git" in human.stdout
    shared = json.loads(caro("summary", "preview", "--json").stdout)
    assert shared["period"] == Period.containing(time.time(), "daily").to_json()
    assert shared["total_commands"] == 2
    assert json.loads(caro("summary", "list", "--json").stdout) == []
    assert caro("summary", "list").stdout == "no summaries stored\n"


def test_generate_writes_the_last_complete_period_once(caro_home, caro):
    yesterday = Period.last_complete(time.time(), "daily")
    write_spool(caro_home, spool_record("git status", start=yesterday.start + 10))
    first = caro("summary", "generate", "--json")
    assert first.returncode == 0, first.stderr
    written = json.loads(first.stdout)
    assert written["period"] == yesterday.to_json() and written["total_commands"] == 1
    again = caro("summary", "generate", "--json")
    assert json.loads(again.stdout) == written
    assert "already written; it is kept" in again.stderr
    listed = caro("summary", "list")
    assert "daily" in listed.stdout and "own" in listed.stdout and written["id"] in listed.stdout
    node = Node.load(caro_home, environ={})
    assert [e["details"] for e in node.audit.entries() if e["event_type"] == "SummaryGenerated"] \
        == [f"{yesterday.describe()} id {written['id']}"]
    assert json.loads(caro("summary", "list", "--json", "--peer",
                           node.identity.fingerprint).stdout) == [written]
    assert json.loads(caro("summary", "list", "--json", "--granularity", "weekly").stdout) == []
    node.close()


def test_errors_are_one_line(caro_home, caro):
    bad = caro("summary", "preview", "--granularity", "monthly")
    assert bad.returncode == 2 and "Invalid value for '--granularity'" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert "has not ended yet" in one_line_error(caro("summary", "generate", "--period-start",
                                                      time.strftime("%Y-%m-%d", time.gmtime())))
    assert "not an ISO-8601 time" in one_line_error(caro("summary", "generate", "--period-start",
                                                         "last tuesday"))


def test_a_corrupt_stored_summary_is_one_line(caro_home, caro):
    yesterday = Period.last_complete(time.time(), "daily")
    assert caro("summary", "generate", "--period-start",
                yesterday.to_json()["start"]).returncode == 0
    node = Node.load(caro_home, environ={})
    (summary_id,) = node.store.query_one("SELECT id FROM summaries")
    node.store.execute("UPDATE summaries SET body = substr(body, 1, 40)")
    node.close()
    error = one_line_error(caro("summary", "list"), code=1)
    assert f"stored summary {summary_id} (daily {yesterday.to_json()['start']}) is damaged" in error
    assert "damaged" in one_line_error(caro("summary", "list", "--json"))
