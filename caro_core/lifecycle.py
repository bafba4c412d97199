"""Running the lifecycle hooks so that one failing plugin never stops the others."""

import logging

from .errors import CaroError

log = logging.getLogger("caro")


def call_each(hook, **kwargs):
    """Call every implementation of ``hook`` in order; return ``(results, failures)``.

    ``failures`` lists ``(plugin_name, exception)``; each is also logged.
    """
    results, failures = [], []
    for impl in reversed(hook.get_hookimpls()):  # pluggy's own call order
        try:
            results.append(impl.function(**{name: kwargs[name] for name in impl.argnames}))
        except CaroError as e:  # expected (a busy port, a bad setting): the caller reports it
            log.info("plugin %s failed in %s: %s", impl.plugin_name, hook.name, e)
            failures.append((impl.plugin_name, e))
        except Exception as e:
            log.exception("plugin %s failed in %s", impl.plugin_name, hook.name)
            failures.append((impl.plugin_name, e))
    return results, failures
