"""Lifecycle hooks: services that run inside the node's daemon."""

from . import hookspec


@hookspec
def caro_lifecycle_start(node):
    """Start this plugin's long-running services.

    Called once by ``caro daemon run`` after the store is open, in plugin
    order.  A plugin that holds state (a server, a listener, a worker thread)
    creates it here and keeps it on the plugin instance; it must return
    promptly (start threads, do not block).

    :param node: the running :class:`caro_core.node.Node`.
    :returns: nothing.  An exception is reported with the plugin's name and
        the daemon carries on without that service.

    Example::

        class Heartbeat:
            @hookimpl
            def caro_lifecycle_start(self, node):
                self.thread = threading.Thread(target=self.beat, daemon=True)
                self.thread.start()
    """


@hookspec
def caro_lifecycle_stop(node):
    """Stop this plugin's services gracefully.

    Called once when the daemon shuts down (``caro daemon stop``, SIGTERM,
    Ctrl-C), before the store is closed.  Finish in-flight work, join
    threads, close sockets.

    :param node: the :class:`caro_core.node.Node` being stopped.
    :returns: nothing.  An exception is logged; the other plugins still stop.

    Example::

        class Heartbeat:
            @hookimpl
            def caro_lifecycle_stop(self, node):
                self.stopping.set()
                self.thread.join(timeout=5)
    """

