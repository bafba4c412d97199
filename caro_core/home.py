"""The node's home directory: ``$CARO_HOME`` or ``~/.local/share/caro``."""

import os
from pathlib import Path

DEFAULT_HOME = Path("~/.local/share/caro")


def resolve_home(environ=os.environ):
    """Return the home path selected by ``CARO_HOME`` (not created)."""
    chosen = environ.get("CARO_HOME")
    return Path(chosen).expanduser().absolute() if chosen else DEFAULT_HOME.expanduser()


def ensure_home(path):
    """Create ``path`` with mode 0700 when missing and return it.

    An existing home keeps its mode: ``caro doctor`` reports one that other
    users can read rather than silently changing it.
    """
    path = Path(path)
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path
