"""What a running daemon tells other processes: ``$CARO_HOME/daemon.json``.

The daemon creates a :class:`RuntimeState` before the lifecycle hooks run and
puts it on ``node.runtime``; services publish what they bound (the dashboard
URL, the mesh address) with :meth:`RuntimeState.publish`.  ``caro daemon
status`` and ``caro dashboard`` read the file with :func:`read_state`.  The file
is replaced atomically, so a reader never sees half of it.
"""

import json
import os
import threading
import time
from pathlib import Path

STATE_FILE = "daemon.json"


class RuntimeState:
    """The running daemon's published facts: pid, start time and what plugins publish."""

    def __init__(self, home, pid=None, started=None):
        self.path = Path(home) / STATE_FILE
        self.fields = {"pid": pid or os.getpid(), "started": started or time.time()}
        self._lock = threading.Lock()
        self._write()

    def publish(self, **fields):
        """Add or replace fields (JSON values) and rewrite the file."""
        with self._lock:
            self.fields.update(fields)
            self._write()

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def _write(self):
        tmp = self.path.with_name(f"{STATE_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.fields, f)
        os.replace(tmp, self.path)

    def remove(self):
        """Forget the state when the daemon stops."""
        self.path.unlink(missing_ok=True)


def read_state(home):
    """The last published state of the home's daemon, or ``{}`` (none, or unreadable)."""
    try:
        state = json.loads((Path(home) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}
