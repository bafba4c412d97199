"""Summary exchange over the mesh (Scenario 3): see :mod:`caro_core.exchange`.

Started after the mesh (``trylast``) when the daemon runs with the mesh on;
pushes summaries to the peers in their signed audience and stores the ones
pushed to this node.
"""

from caro_core import hookimpl


class ExchangeService:
    """Holds the running :class:`caro_core.exchange.SummaryExchange` until the daemon stops."""

    def __init__(self, exchange):
        self.exchange = exchange

    @hookimpl
    def caro_lifecycle_stop(self, node):
        self.exchange.stop()


@hookimpl(trylast=True)
def caro_lifecycle_start(node):
    if node.mesh is None:
        return
    from caro_core.exchange import SummaryExchange

    exchange = SummaryExchange(node, node.mesh)
    node.pm.register(ExchangeService(exchange), name="mesh_summaries.running")
    exchange.start()
    exchange.wake.set()
