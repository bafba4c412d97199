"""``caro daemon run``: host the node in the foreground until Ctrl-C or SIGTERM.

Plugins start their services through ``caro_lifecycle_start`` and stop them in
``caro_lifecycle_stop``.  One daemon per ``CARO_HOME``, enforced by a lock file.
"""

import fcntl
import os
import signal
import threading

import click

from caro_core import hookimpl
from caro_core.errors import CaroError, StoreCorrupt
from caro_core.lifecycle import call_each
from caro_core.store import corrupt_message

LOCK_FILE = "daemon.lock"


class AlreadyRunning(CaroError):
    exit_code = 6


def acquire_lock(home):
    """Hold an exclusive lock on the home's lock file for the process' life."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(f"a Caro daemon (pid {other}) already runs for {home}") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def run_foreground(node, echo=click.echo):
    node.ensure_home()
    lock = acquire_lock(node.home)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        identity = node.identity
        problems = node.store.integrity_problems(quick=True)
        if problems:
            raise StoreCorrupt(corrupt_message(node.db_path, problems[0]))
        _, failures = call_each(node.pm.hook.caro_lifecycle_start, node=node)
        for name, error in failures:
            echo(f"caro: warning: plugin '{name}' failed to start: {error}", err=True)
        echo(f"caro node {identity.fingerprint} running (home {node.home}); Ctrl-C to stop")
        stop.wait()
        echo("caro: stopping")
        call_each(node.pm.hook.caro_lifecycle_stop, node=node)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(lock)


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def daemon():
        """The node's background service."""

    @daemon.command("run")
    @pass_node
    def run(node):
        """Run the node in the foreground until Ctrl-C."""
        run_foreground(node)
