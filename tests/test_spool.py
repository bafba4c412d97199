"""The spool: the record format, the tolerant reader, the race-free drain."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from caro_core import spool
from caro_core.spool import SpoolRecord, drain, read_records, spool_dir

CARO = Path(sys.executable).with_name("caro")


# --------------------------------------------------------------------------- the reader

def rec(cmd=b"ls", ts=b"1700000000.250000", dur=b"12", status=b"0", shell=b"bash",
        session=b"bash-1-2", user=b"ann", elevated=b"0", gen=b"0", cwd=b"/tmp"):
    return b"\0".join([b"caro1", ts, dur, status, shell, session, user, elevated, gen, cwd, cmd]) + b"\0"


def test_a_record_has_eleven_fields_and_round_trips():
    (r,) = read_records(rec())
    assert r == SpoolRecord(1700000000.25, 12, 0, "bash", "bash-1-2", "ann", False, False, "/tmp", "ls")


def test_any_bytes_but_nul_are_carried_losslessly():
    text = b"printf 'a\tb' \"q\" \n second line \xff\xfe done"
    (r,) = read_records(rec(cmd=text, cwd=b"/d\xe9j\xe0"))
    assert r.command_bytes == text
    assert r.cwd_bytes == b"/d\xe9j\xe0"
    assert "\n" in r.command and "\t" in r.command


def test_empty_duration_and_flags():
    (r,) = read_records(rec(dur=b"", status=b"", elevated=b"1", gen=b"1", cmd=b"", shell=b"sh"))
    assert r.duration_ms is None and r.exit_code is None
    assert r.elevated and r.caro_generated and r.command == "" and r.shell == "sh"


def test_the_reader_resyncs_after_garbage_and_torn_records():
    torn = rec(cmd=b"one")[:25]  # a writer died mid-record
    data = b"junk\0\xff" + rec(cmd=b"one") + torn + rec(cmd=b"two") + b"caro1\0bad\0" + rec(cmd=b"three")
    data += rec(cmd=b"tail")[:-3]
    assert [r.command for r in read_records(data)] == ["one", "two", "three"]


def test_caro1_inside_a_field_is_not_a_header():
    data = rec(cmd=b"xcaro1") + rec(cmd=b"caro1") + rec(cwd=b"caro1", cmd=b"ok")
    assert [r.command for r in read_records(data)] == ["xcaro1", "caro1", "ok"]


@pytest.mark.parametrize("bad", [
    {"ts": b"soon"}, {"dur": b"1.5"}, {"status": b"x"}, {"elevated": b"2"}, {"gen": b"yes"},
    {"shell": b"Bad Shell"}, {"session": b"a/b"}, {"ts": b"-1"},
])
def test_invalid_records_are_skipped(bad):
    assert [r.command for r in read_records(rec(**bad) + rec(cmd=b"next"))] == ["next"]


def test_the_reader_never_raises_on_random_bytes():
    import random

    rng = random.Random(7)
    pieces = [rec(), b"caro1\0", b"\0", b"\xff", b"1\0", b"bash\0"]
    for _ in range(300):
        data = b"".join(rng.choice(pieces) if rng.random() < 0.7 else bytes([rng.randrange(256)])
                        for _ in range(rng.randrange(60)))
        read_records(data)


# --------------------------------------------------------------------------- the drain

def write(home, name, data, mode=0o600):
    d = spool_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    path = d / name
    with open(path, "ab") as f:
        f.write(data)
    path.chmod(mode)
    return path


def test_drain_claims_reads_and_commit_deletes(tmp_path):
    write(tmp_path, "bash-1-1.spool", rec(cmd=b"a", ts=b"2.0") + rec(cmd=b"b", ts=b"3.0"))
    write(tmp_path, "zsh-2-1.spool", rec(cmd=b"c", ts=b"1.0", shell=b"zsh", session=b"zsh-2-1"))
    claim = drain(tmp_path)
    assert [r.command for r in claim.records] == ["c", "a", "b"]  # by start time
    assert not list(spool_dir(tmp_path).glob("*.spool"))
    assert len(claim.paths) == 2
    claim.commit()
    assert list(spool_dir(tmp_path).iterdir()) == []
    assert drain(tmp_path).records == []


def test_drain_of_a_missing_spool_is_empty(tmp_path):
    claim = drain(tmp_path / "nowhere")
    assert claim.records == []
    claim.commit()


def test_a_released_claim_is_read_again(tmp_path):
    write(tmp_path, "bash-1-1.spool", rec(cmd=b"keep"))
    with drain(tmp_path) as claim:
        assert [r.command for r in claim.records] == ["keep"]
        # while held, a second drain in this process does not read it twice
        assert drain(tmp_path).records == []
    again = drain(tmp_path)
    assert [r.command for r in again.records] == ["keep"]
    again.commit()
    assert drain(tmp_path).records == []


def test_leftovers_of_a_dead_drain_are_read_and_a_live_ones_are_not(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    write(tmp_path, f"bash-1-1.spool.claimed-{dead}-1", rec(cmd=b"orphan"))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write(tmp_path, f"bash-1-2.spool.claimed-{live.pid}-1", rec(cmd=b"busy"))
        claim = drain(tmp_path)
        assert [r.command for r in claim.records] == ["orphan"]
        claim.commit()
    finally:
        live.kill()
        live.wait()
    assert [r.command for r in drain(tmp_path).records] == ["busy"]


def test_commit_wipes_before_unlinking(tmp_path, monkeypatch):
    path = write(tmp_path, "bash-1-1.spool", rec(cmd=b"secret-token"))
    claim = drain(tmp_path)
    (claimed,) = claim.paths
    seen = {}
    real_unlink = os.unlink

    def spy(p, *a, **k):
        seen["bytes"] = Path(p).read_bytes()
        return real_unlink(p, *a, **k)

    monkeypatch.setattr(spool.os, "unlink", spy)
    claim.commit()
    assert set(seen["bytes"]) == {0} and not claimed.exists() and not path.exists()


def test_a_writer_that_opened_before_the_claim_is_waited_for(tmp_path):
    path = write(tmp_path, "bash-1-1.spool", rec(cmd=b"first"))
    late = open(path, "ab")  # opened before the rename, writes after it

    def writer():
        time.sleep(0.005)
        late.write(rec(cmd=b"late"))
        late.flush()
        late.close()

    t = threading.Thread(target=writer)
    t.start()
    claim = drain(tmp_path, settle=0.05)
    t.join()
    assert [r.command for r in claim.records] == ["first", "late"]
    claim.commit()


def test_bytes_appended_after_the_read_survive_the_commit(tmp_path):
    path = write(tmp_path, "bash-1-1.spool", rec(cmd=b"first") + rec(cmd=b"torn")[:20])
    late = open(path, "ab")  # opened before the claim, held up past the settle time
    claim = drain(tmp_path, settle=0.001)
    assert [r.command for r in claim.records] == ["first"]
    late.write(rec(cmd=b"torn")[20:] + rec(cmd=b"late"))
    late.close()
    claim.commit()
    again = drain(tmp_path)
    assert [r.command for r in again.records] == ["torn", "late"]
    again.commit()
    assert list(spool_dir(tmp_path).iterdir()) == []


def test_stale_scratch_files_are_removed(tmp_path):
    old = write(tmp_path, "bash-1-1.hist", b"")
    fresh = write(tmp_path, "bash-1-2.hist", b"")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    drain(tmp_path).commit()
    assert not old.exists() and fresh.exists()


def test_concurrent_appenders_and_drainers_lose_and_duplicate_nothing(tmp_path):
    """Four writer processes appending like the shells do (open-append-close per record)."""
    code = (
        "import sys, os\n"
        "d, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
        "for i in range(n):\n"
        "    rec = b'\\0'.join([b'caro1', b'1700000000.5', b'1', b'0', b'bash', who.encode(), b'u',"
        " b'0', b'0', b'/', f'cmd {i}'.encode()]) + b'\\0'\n"
        "    fd = os.open(os.path.join(d, who + '.spool'), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)\n"
        "    os.write(fd, rec); os.close(fd)\n"
    )
    d = spool_dir(tmp_path)
    d.mkdir()
    writers = [subprocess.Popen([sys.executable, "-c", code, str(d), "400", f"bash-{k}-1"])
               for k in range(4)]
    got = []
    while any(w.poll() is None for w in writers):
        claim = drain(tmp_path, settle=0.005)
        got.extend(claim.records)
        claim.commit()
    for w in writers:
        assert w.wait(timeout=60) == 0
    claim = drain(tmp_path)
    got.extend(claim.records)
    claim.commit()
    keys = sorted((r.session, r.command) for r in got)
    assert keys == sorted((f"bash-{k}-1", f"cmd {i}") for k in range(4) for i in range(400))


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_four_real_shells_with_a_concurrent_drain_loop(shell_factory, tmp_path, shell):
    """4 shells x 50 commands typed at once while a drain loop runs: every record exactly once."""
    home = tmp_path / "shared-home"
    shells = [shell_factory(shell, home=home) for _ in range(4)]
    got, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            claim = drain(home, settle=0.02)
            got.extend(claim.records)
            claim.commit()
            time.sleep(0.01)

    drainer = threading.Thread(target=loop)
    drainer.start()
    try:
        for k, s in enumerate(shells):
            s._tmux("send-keys", "-t", "t", "-l", "".join(f": s{k} c{i}\r" for i in range(50)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(got) < 200:
            time.sleep(0.1)
    finally:
        stop.set()
        drainer.join(timeout=30)
    claim = drain(home)
    got.extend(claim.records)
    claim.commit()
    keys = sorted(r.command for r in got)
    assert keys == sorted(f": s{k} c{i}" for k in range(4) for i in range(50))
    assert len({r.session for r in got}) == 4
