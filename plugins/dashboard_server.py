"""Serve the dashboard while the daemon runs: Bottle on cheroot, loopback only unless opted in.

At ``caro_lifecycle_start`` the plugin binds ``[dashboard] listen`` (port 0
picks a free port), lets plugins add routes (``caro_dashboard_routes``),
serves from a pool of :data:`THREADS` threads and publishes the real URL as
``dashboard_url`` in the daemon's state; ``caro_lifecycle_stop`` stops it.  A
non-loopback address needs ``[dashboard] allow_remote = true``.
"""

import ipaddress
import logging
import threading

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError

log = logging.getLogger("caro.dashboard")
#: worker threads for one person's browser on this machine; each keeps its own store connection
#: (and page cache), about 1.5 MB of the daemon's memory once it has served pages
THREADS = 2
DEFAULT_LISTEN = "127.0.0.1:9237"


@hookimpl
def caro_config_schema():
    """Declare the ``[dashboard]`` section."""
    return {"dashboard": {
        "enabled": Setting(bool, True, "serve the dashboard while the daemon runs"),
        "listen": Setting(str, DEFAULT_LISTEN, "address:port of the dashboard (port 0: any free "
                                               "port)"),
        "allow_remote": Setting(bool, False, "allow a listen address other machines can reach"),
    }}


def parse_listen(node):
    """``(host, port)`` of ``[dashboard] listen``; ConfigError when malformed or not allowed."""
    settings = node.config["dashboard"]
    text = settings["listen"]
    where = f"{node.config_path}: [dashboard] listen"
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{where}: expected address:port such as {DEFAULT_LISTEN!r} "
                          f"or '[::1]:9237', got {text!r}")
    if not _is_loopback(host) and not settings["allow_remote"]:
        raise ConfigError(f"{where}: {host} is reachable from other machines; use a loopback "
                          "address such as 127.0.0.1, or set [dashboard] allow_remote = true "
                          "to serve it anyway (unencrypted)")
    return host, int(port)


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


class DashboardServer:
    """The running dashboard: a :class:`caro_core.dashboard.Dashboard` on a cheroot server."""

    def __init__(self, node, host, port):
        from cheroot import wsgi

        from caro_core.dashboard import Dashboard, DashboardError

        self.dashboard = Dashboard(node)
        node.pm.hook.caro_dashboard_routes(app=self.dashboard.app, node=node)
        self.server = wsgi.Server((host, port), self.dashboard, numthreads=THREADS, max=THREADS,
                                  server_name="caro")
        try:
            self.server.prepare()
        except OSError as e:
            self.dashboard.close()
            raise DashboardError(f"cannot listen on {host}:{port} ({_reason(e)}); "
                                 "set [dashboard] listen to a free port, or port 0") from None
        self.dashboard.listen(host, self.server.bind_addr[1])
        self.thread = threading.Thread(target=self.server.serve, name="caro-dashboard",
                                       daemon=True)

    @property
    def url(self):
        return self.dashboard.url

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.stop()
        self.thread.join(timeout=10)
        self.dashboard.close()

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.stop()
        log.info("dashboard stopped")


def _reason(error):
    text = str(error)
    return "address already in use" if "in use" in text else text


@hookimpl
def caro_lifecycle_start(node):
    if not node.config["dashboard"]["enabled"]:
        log.info("dashboard disabled ([dashboard] enabled = false)")
        return
    host, port = parse_listen(node)
    server = DashboardServer(node, host, port)
    node.pm.register(server, name="dashboard_server.server")
    server.start()
    log.info("dashboard listening on %s", server.url)
    if node.runtime is not None:
        node.runtime.publish(dashboard_url=server.url)
