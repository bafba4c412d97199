"""``caro dashboard``: print the running daemon's dashboard URL with its token, and open it.

The browser is opened only where there is one: not with ``--url``, not on a
Linux session without ``DISPLAY`` or ``WAYLAND_DISPLAY`` (a console browser
would take over the terminal), and never when ``CARO_NO_BROWSER`` is set.
"""

import os
import sys

import click

from caro_core import hookimpl
from caro_core.errors import CaroError


class DashboardUnavailable(CaroError):
    """No running daemon serves the dashboard."""


def dashboard_url(node):
    """The full URL with the token, from the running daemon's state."""
    from caro_core.daemon import probe
    from caro_core.dashboard import load_token
    from caro_core.runtime import read_state

    running, _ = probe(node.home)
    if not running:
        raise DashboardUnavailable("the daemon is not running, so neither is the dashboard; "
                                   "start it with 'caro daemon start'")
    url = read_state(node.home).get("dashboard_url")
    if not url:
        raise DashboardUnavailable("the daemon runs without the dashboard ([dashboard] enabled, "
                                   "or see caro.log for why it did not start)")
    return f"{url}/?token={load_token(node.home, create=False)}"


def can_open_browser(environ=os.environ, platform=sys.platform):
    """True when a graphical browser can be opened for this session."""
    if environ.get("CARO_NO_BROWSER"):
        return False
    if platform.startswith("linux"):
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.option("--url", "url_only", is_flag=True, help="Only print the URL.")
    @pass_node
    def dashboard(node, url_only):
        """Open the local dashboard (prints its URL with the access token)."""
        url = dashboard_url(node)
        click.echo(url)
        if not url_only and can_open_browser():
            import webbrowser

            if not webbrowser.open(url):
                click.echo("caro: no browser found; open the URL above", err=True)
