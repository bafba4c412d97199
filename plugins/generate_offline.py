"""The built-in offline engine: natural language to commands from Caro's own knowledge, no model.

The engine (:mod:`caro_plugins.offline`) matches a request against the intents
written for each area (files, archives, text, processes, disk, network, git,
docker, kubectl, packages, permissions, cron, logs), fills the parameters the
request gives and adapts the commands to the platform.  It answers only when
the ``offline`` backend is chosen, and returns nothing rather than guess when
no intent explains the request well enough.  The engine is imported on the
first request, so start-up never pays for it.
"""

from caro_core import hookimpl


@hookimpl(trylast=True)
def caro_generate_commands(request, context):
    """Candidates from the offline engine, best first; ``[]`` when not understood."""
    if context.backend != "offline":
        return []
    from caro_plugins.offline.engine import suggest
    return suggest(request, context)
