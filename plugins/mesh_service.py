"""The mesh listener and connections, hosted by the daemon (:mod:`caro_core.mesh`).

Started at ``caro_lifecycle_start`` on ``[mesh] listen`` (loopback by default,
FR-206); publishes the bound address as ``mesh_listen`` for ``caro daemon
status``.  ``caro peers trust|revoke`` and ``caro summary generate`` signal the daemon
(SIGHUP) so a trust change or a new summary takes effect at once.
"""

import logging
import signal

from caro_core import hookimpl
from caro_core.config import Setting

log = logging.getLogger("caro.mesh")


@hookimpl
def caro_config_schema():
    """Declare the ``[mesh]`` section."""
    return {"mesh": {
        "enabled": Setting(bool, True, "run the mesh listener and connect to peers"),
        "listen": Setting(str, "127.0.0.1:9238", "address the mesh listener binds "
                                                 "(port 0 = any free port)"),
        "ping_interval_s": Setting(float, 30.0, "keep-alive ping after this much silence; a peer "
                                                "silent for three intervals is dropped"),
        "max_connections": Setting(int, 64, "concurrent incoming connections"),
        "max_backoff_s": Setting(float, 60.0, "longest wait between attempts to reach a peer "
                                              "(the wait doubles from 1 s after each failure)"),
    }}


class MeshService:
    """Holds the running :class:`caro_core.mesh.Mesh` between the lifecycle hooks."""

    def __init__(self, mesh):
        self.mesh = mesh

    @hookimpl
    def caro_trust_changed(self, node, node_id, level, source):
        self.mesh.trust_changed.set()

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.mesh.stop()
        node.mesh = None


@hookimpl
def caro_lifecycle_start(node):
    settings = node.config["mesh"]
    if not settings["enabled"]:
        return
    from caro_core.mesh import Mesh

    mesh = Mesh(node, settings["listen"], ping_interval_s=settings["ping_interval_s"],
                max_connections=settings["max_connections"],
                max_backoff_s=settings["max_backoff_s"])
    mesh.start()
    node.mesh = mesh
    node.pm.register(MeshService(mesh), name="mesh_service.running")
    if node.runtime is not None:
        node.runtime.publish(mesh_listen=mesh.listen_address)
    signal.signal(signal.SIGHUP, lambda *_: mesh.poke())
    methods = node.config["discovery"]["methods"] if "discovery" in node.config else ["static"]
    node.pm.hook.caro_discovery_announce(node=node, methods=methods, listen=mesh.bound)
    log.info("mesh listening on %s", mesh.listen_address)
