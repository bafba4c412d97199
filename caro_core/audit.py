"""The tamper-evident audit log (FR-901…905).

One JSON object per line in ``$CARO_HOME/audit.log``, appended under an
exclusive lock.  Each entry carries the BLAKE3 hash of the previous entry and
its own hash over its canonical content, so editing, deleting or reordering
any line breaks the chain.  ``audit.head`` anchors the last entry so that
cutting lines off the end is detected too.  The log is kept apart from the
database so that repairing a damaged database never touches it.
"""

import datetime as dt
import fcntl
import json
import os
import uuid
from pathlib import Path

import blake3

from .errors import CaroError

LOG_FILE = "audit.log"
HEAD_FILE = "audit.head"

#: The event types of the plan, then those added by Caro's features.
EVENT_TYPES = (
    "IdentityCreated", "PeerConnected", "PeerDisconnected", "QueryReceived", "ResponseSent",
    "PolicyViolation", "TrustChanged", "KeyRotated", "SummaryGenerated", "SummaryShared",
    "ProtocolViolation", "StoreRepaired", "SkillChanged", "CapabilityUsed", "PolicyChanged",
    "CommandBlocked", "PeerRefused", "PeerIntroduced", "SummaryReceived", "SummaryRejected",
    "QueryDenied", "AnswerRejected", "CommandExecuted", "SkillRejected",
)

_HASHED_FIELDS = ("seq", "id", "event_type", "timestamp", "peer", "details", "success", "prev_hash")


class AuditError(CaroError):
    """The audit log cannot be read or written."""


def entry_hash(entry):
    """BLAKE3 (hex) over the canonical JSON of an entry's hashed fields."""
    canonical = json.dumps({k: entry.get(k) for k in _HASHED_FIELDS}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return blake3.blake3(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    """Append and verify the audit chain of one node home."""

    def __init__(self, home):
        self.path = Path(home) / LOG_FILE
        self.head_path = Path(home) / HEAD_FILE

    def append(self, event_type, details="", peer=None, success=True):
        """Append one entry and return it."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown audit event type {event_type!r}")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            last = _last_entry(f, self.path)
            entry = {
                "seq": last["seq"] + 1 if last else 1,
                "id": str(uuid.uuid4()),
                "event_type": event_type,
                "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
                "peer": peer,
                "details": details,
                "success": bool(success),
                "prev_hash": last["hash"] if last else None,
            }
            entry["hash"] = entry_hash(entry)
            f.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
            f.flush()
            os.fsync(f.fileno())
            tmp = self.head_path.with_name(HEAD_FILE + ".tmp")
            tmp.write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
            os.replace(tmp, self.head_path)
        return entry

    def entries(self):
        """Every entry, in file order; a line that is not JSON raises :class:`AuditError`."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        result = []
        for number, line in enumerate(data.splitlines(), 1):
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                raise AuditError(f"{self.path}: line {number} is not an audit entry") from None
            result.append(entry)
        return result

    def verify(self):
        """Check the whole chain; return ``(ok, count, problem)``.

        ``problem`` names the first bad entry by line number and sequence.
        """
        try:
            entries = self.entries()
        except AuditError as e:
            return False, 0, str(e)
        prev = None
        for line, entry in enumerate(entries, 1):
            where = f"line {line} (seq {entry.get('seq')}, {entry.get('event_type')})"
            if entry.get("hash") != entry_hash(entry):
                return False, len(entries), f"{where}: content does not match its hash (edited)"
            expected_seq = prev["seq"] + 1 if prev else 1
            expected_prev = prev["hash"] if prev else None
            if entry.get("prev_hash") != expected_prev or entry.get("seq") != expected_seq:
                return False, len(entries), (f"{where}: does not follow the previous entry "
                                             f"(expected seq {expected_seq}: an entry was deleted "
                                             f"or reordered)")
            prev = entry
        head = self._head()
        if head is not None and (prev is None or head != {"seq": prev["seq"], "hash": prev["hash"]}):
            last = prev["seq"] if prev else 0
            return False, len(entries), (f"the log ends at seq {last} but {HEAD_FILE} records seq "
                                         f"{head.get('seq')}: entries were cut off the end")
        return True, len(entries), None

    def _head(self):
        try:
            head = json.loads(self.head_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return {"seq": "unreadable"}
        return head if isinstance(head, dict) else {"seq": "unreadable"}


def _last_entry(f, path):
    """The last entry of the open log, read backwards from the end."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return None
    chunk = 4096
    pos, data = end, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        data = f.read(step) + data
        lines = data.rstrip(b"\n").rsplit(b"\n", 1)
        if len(lines) == 2 or pos == 0:
            try:
                return json.loads(lines[-1])
            except ValueError:
                raise AuditError(f"{path}: the last line is not an audit entry; "
                                 "run 'caro audit verify'") from None
        chunk *= 2
    return None
