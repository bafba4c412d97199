"""The shell spool: how shell hooks hand commands to Caro without starting Python.

Writer side (``shell/caro.*``): every shell session appends to its own file
``$CARO_HOME/spool/<session>.spool`` with one builtin ``printf`` per command.
A record is 11 NUL-terminated fields::

    caro1 \\0 start \\0 duration_ms \\0 exit \\0 shell \\0 session \\0 user \\0
    elevated \\0 caro_generated \\0 cwd \\0 command \\0

``start`` is epoch seconds with a fraction; ``duration_ms`` and ``exit`` may be
empty (``sh`` knows no duration); ``elevated`` and ``caro_generated`` are ``0``
or ``1``. A shell string can never contain NUL, so any command text (newlines,
tabs, quotes, bytes that are not UTF-8) is carried unchanged.

Reader side (here): :func:`drain` claims the spool files atomically and returns
a :class:`Claim`; the caller stores ``claim.records`` and only then calls
``claim.commit()``, which wipes and deletes the claimed files. A claim that is
never committed (a crash, a failed store) is read again by the next drain.
"""

import fcntl
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"caro1"
#: Fields in a record, the magic included.
FIELD_COUNT = 11
SPOOL_SUFFIX = ".spool"
CLAIM_MARK = ".claimed-"
#: Helper files the bash hook leaves next to its spool (always truncated after use).
SCRATCH_SUFFIX = ".hist"
SCRATCH_MAX_AGE = 24 * 3600

_HEADER = MAGIC + b"\0"
_SESSION = re.compile(rb"[A-Za-z0-9_.-]{1,200}")
_SHELL = re.compile(rb"[a-z][a-z0-9_-]{0,31}")
_CLAIMED = re.compile(r"^(?P<base>.+\.spool)\.claimed-(?P<pid>\d+)-(?P<n>\d+)$")
_claim_lock = threading.Lock()
_claim_counter = 0


@dataclass(frozen=True)
class SpoolRecord:
    """One command as a shell hook recorded it.

    ``cwd`` and ``command`` are decoded from UTF-8 with
    ``errors="surrogateescape"``: lossless, and ``command_bytes`` / ``cwd_bytes``
    give back the exact bytes. Text holding undecodable bytes contains lone
    surrogates, which a strict ``.encode()`` rejects: store it as bytes or
    re-encode with ``errors="surrogateescape"`` (or ``"replace"`` for display).
    ``command`` is empty for shells that cannot see the command text (``sh``).
    """

    timestamp: float
    duration_ms: int | None
    exit_code: int | None
    shell: str
    session: str
    user: str
    elevated: bool
    caro_generated: bool
    cwd: str
    command: str

    @property
    def command_bytes(self):
        return self.command.encode("utf-8", "surrogateescape")

    @property
    def cwd_bytes(self):
        return self.cwd.encode("utf-8", "surrogateescape")


def spool_dir(home):
    """The spool directory of the node whose home is ``home``."""
    return Path(home) / "spool"


def _int_or_none(raw):
    if raw == b"":
        return None
    if not raw.lstrip(b"-").isdigit() or len(raw) > 18:
        raise ValueError(raw)
    return int(raw)


def _flag(raw):
    if raw not in (b"0", b"1"):
        raise ValueError(raw)
    return raw == b"1"


def _decode(raw):
    return raw.decode("utf-8", "surrogateescape")


def _parse(fields):
    """Build a record from the 10 fields after the magic; None when they are not one."""
    ts, dur, status, shell, session, user, elevated, generated, cwd, command = fields
    try:
        if MAGIC in (ts, dur, status, shell, session, user, elevated, generated):
            return None
        if not _SHELL.fullmatch(shell) or not _SESSION.fullmatch(session):
            return None
        timestamp = float(ts)
        if not 0 <= timestamp < 1e11:
            return None
        duration = _int_or_none(dur)
        return SpoolRecord(
            timestamp=timestamp,
            duration_ms=None if duration is None else max(duration, 0),
            exit_code=_int_or_none(status),
            shell=shell.decode("ascii"),
            session=session.decode("ascii"),
            user=_decode(user),
            elevated=_flag(elevated),
            caro_generated=_flag(generated),
            cwd=_decode(cwd),
            command=_decode(command),
        )
    except (ValueError, UnicodeDecodeError):
        return None


def _next_header(data, pos):
    """Offset of the next ``caro1\\0`` at or after ``pos``, or -1.

    Inside a record a field could end in ``caro1``; that is harmless because
    records are parsed field by field from a valid start, and a false start
    found while resynchronising fails validation.
    """
    return data.find(_HEADER, pos)


def read_records(data):
    """Parse spool bytes into records; never raises.

    Garbage, a torn record (a writer that died mid-record) or a record whose
    fields do not validate is skipped: parsing resumes at the next ``caro1\\0``
    after the bad start. An incomplete record at the end is ignored.
    """
    return _scan(data)[0]


def _scan(data):
    """``(records, end)``: ``end`` is the offset just after the last good record."""
    records = []
    end = 0
    data = bytes(data)
    pos = 0
    while True:
        start = _next_header(data, pos)
        if start < 0:
            return records, end
        fields = []
        at = start + len(_HEADER)
        for _ in range(FIELD_COUNT - 1):
            nul = data.find(b"\0", at)
            if nul < 0:
                break
            fields.append(data[at:nul])
            at = nul + 1
        if len(fields) < FIELD_COUNT - 1:
            pos = start + 1  # incomplete here; a later header may still be whole
            continue
        record = _parse(fields)
        if record is None:
            pos = start + 1
            continue
        records.append(record)
        pos = end = at


class Claim:
    """Spool files taken out of the writers' way, and the records in them.

    Store ``records``, then call :meth:`commit` to wipe and delete the files.
    :meth:`release` (or leaving a ``with`` block without commit) keeps the files
    for the next :func:`drain`. The files stay locked (``flock``) until then,
    so no other drain, in this process or another, reads them twice.
    """

    def __init__(self, records, files):
        self.records = records
        self._files = files  # [_Claimed]

    @property
    def paths(self):
        return [c.path for c in self._files]

    def commit(self):
        """Wipe (zeros) and delete the claimed files, then drop the locks.

        Bytes a late writer appended after the file was read (it opened the
        file before the claim and was held up longer than the settle time)
        are first moved to a new claimed file, which the next drain reads.
        """
        for c in self._files:
            try:
                size = os.fstat(c.fd).st_size
                if size > c.read:
                    _rescue_tail(c, size)
                with open(c.path, "r+b", buffering=0) as f:
                    zeros = b"\0" * min(size, 1 << 16)
                    done = 0
                    while done < size:
                        done += f.write(zeros[: size - done])
                    os.fsync(f.fileno())
                os.unlink(c.path)
            except OSError:
                pass
            finally:
                os.close(c.fd)
        self._files = []

    def release(self):
        """Keep the files: the next :func:`drain` reads them again."""
        for c in self._files:
            os.close(c.fd)
        self._files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        if getattr(self, "_files", None):
            self.release()


@dataclass
class _Claimed:
    path: Path
    fd: int
    read: int = 0  # bytes read
    used: int = 0  # offset after the last whole record read


def _rescue_tail(claimed, size):
    global _claim_counter
    tail = os.pread(claimed.fd, size - claimed.used, claimed.used)
    match = _CLAIMED.match(claimed.path.name)
    with _claim_lock:
        _claim_counter += 1
        name = f"{match['base']}{CLAIM_MARK}{os.getpid()}-{_claim_counter}"
    fd = os.open(claimed.path.with_name(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, tail)
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock(path):
    """Open ``path`` and take an exclusive flock; None when locked elsewhere or gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    try:  # renamed or deleted between open and lock: not ours to read
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd


def _wait_quiescent(fds, settle, max_wait):
    """Wait until no claimed file grows for ``settle`` seconds (at most ``max_wait``)."""
    deadline = time.monotonic() + max_wait
    sizes = [os.fstat(fd).st_size for fd in fds]
    while True:
        time.sleep(settle)
        now = [os.fstat(fd).st_size for fd in fds]
        if now == sizes or time.monotonic() >= deadline:
            return
        sizes = now


def _read_all(fd):
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def drain(home, settle=0.02, max_wait=1.0):
    """Claim every spool file under ``home`` and read its records.

    Each ``*.spool`` is renamed to ``*.spool.claimed-<pid>-<n>``; the shells
    reopen the path for every append, so their next record starts a fresh
    file. A writer that opened the file just before the rename may still be
    writing, so the claimed files are read only once their sizes have stayed
    unchanged for ``settle`` seconds (bounded by ``max_wait``). Claimed files
    left by a drain that died (its pid is gone) or was released are read again.

    :returns: a :class:`Claim`, its records sorted by start time. Never raises
        for a missing or unreadable spool; such files are skipped.
    """
    global _claim_counter
    directory = spool_dir(home)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return Claim([], [])
    claimed, fresh = [], []
    with _claim_lock:
        me = os.getpid()
        for name in names:
            path = directory / name
            match = _CLAIMED.match(name)
            if match:
                pid = int(match["pid"])
                if pid != me and _pid_alive(pid):
                    continue  # another live drain owns it
                fd = _lock(path)
                if fd is not None:
                    claimed.append(_Claimed(path, fd))
            elif name.endswith(SPOOL_SUFFIX):
                _claim_counter += 1
                target = directory / f"{name}{CLAIM_MARK}{me}-{_claim_counter}"
                try:
                    os.rename(path, target)
                except OSError:  # taken by another drain, or not ours to move
                    continue
                fd = _lock(target)
                if fd is not None:
                    claimed.append(_Claimed(target, fd))
                    fresh.append(fd)
            elif name.endswith(SCRATCH_SUFFIX):
                _remove_stale(path)
    if fresh:
        try:
            _wait_quiescent(fresh, settle, max_wait)
        except OSError:
            pass
    records = []
    for c in claimed:
        try:
            data = _read_all(c.fd)
        except OSError:
            continue
        found, c.used = _scan(data)
        c.read = len(data)
        records.extend(found)
    records.sort(key=lambda r: r.timestamp)
    return Claim(records, claimed)


def _remove_stale(path):
    """Delete a hook scratch file untouched for a day (its shell is long gone or idle)."""
    try:
        if time.time() - os.stat(path, follow_symlinks=False).st_mtime > SCRATCH_MAX_AGE:
            os.unlink(path)
    except OSError:
        pass
