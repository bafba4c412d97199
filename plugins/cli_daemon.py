"""``caro daemon run|start|stop|status``: the node's background service.

Plugins start their services through ``caro_lifecycle_start`` and stop them in
``caro_lifecycle_stop``; :mod:`caro_core.daemon` hosts them, one daemon per
``CARO_HOME``.  ``status`` exits 0 when the daemon runs and 3 when it does not
(the LSB convention), printing the same facts either way.
"""

import sys

import click

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.logs import LEVELS

NOT_RUNNING = 3


@hookimpl
def caro_config_schema():
    """Declare the ``[daemon]`` section (the log file's rotation and level)."""
    return {"daemon": {
        "log_level": Setting(str, "info", "lowest level written to caro.log", choices=LEVELS),
        "log_max_kb": Setting(int, 5120, "caro.log is rotated when it grows past this size"),
        "log_backups": Setting(int, 3, "rotated logs kept (caro.log.1 … caro.log.N)"),
    }}


def _print_status(info):
    if not info["running"]:
        stale = f" (stale pid file of pid {info['stale_pid']})" if info["stale_pid"] else ""
        click.echo(f"not running{stale}; home {info['home']}")
    else:
        click.echo(f"running, pid {info['pid']}, up {info['uptime_s']:g} s, home {info['home']}")
        click.echo(f"dashboard: {info['dashboard_url'] or 'off'}")
        click.echo(f"mesh:      {info['mesh_listen'] or 'not listening'}")
    if info["events"] is not None:
        click.echo(f"events:    {info['events']}")
    if info["store_error"]:
        click.echo(f"store:     {info['store_error']}")


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def daemon():
        """The node's background service."""

    @daemon.command("run")
    @pass_node
    def run(node):
        """Run the node in the foreground until Ctrl-C (what `make run` starts)."""
        from caro_core.daemon import run_foreground

        run_foreground(node, echo=click.echo)

    @daemon.command("start")
    @click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait until ready.")
    @pass_node
    def start(node, timeout):
        """Start the daemon in the background; return once it is ready."""
        from caro_core.daemon import start_background
        from caro_core.runtime import read_state

        pid = start_background(node.home, timeout)
        url = read_state(node.home).get("dashboard_url")
        click.echo(f"caro daemon started (pid {pid})" + (f"; dashboard {url}" if url else ""))

    @daemon.command("stop")
    @click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for it.")
    @pass_node
    def stop(node, timeout):
        """Stop the daemon gracefully (finishes ingest, closes the store)."""
        from caro_core.daemon import stop_background

        pid = stop_background(node.home, timeout)
        click.echo(f"caro daemon (pid {pid}) stopped" if pid else "caro daemon is not running")

    @daemon.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def status(node, as_json):
        """Whether the daemon runs, its pid, dashboard URL, mesh address, uptime and events."""
        from caro_core.daemon import status as daemon_status
        from caro_core.output import echo_json

        info = daemon_status(node)
        echo_json(info) if as_json else _print_status(info)
        if not info["running"]:
            sys.exit(NOT_RUNNING)
