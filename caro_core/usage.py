"""Resource usage of observed commands: the ``process_usage`` table.

The process-monitor plugin (``observe_procmon``) declares the table and fills
it; :func:`usage_for` reads it for ``caro history --json`` and anyone else.
Level-0 data: it never leaves the node.
"""

from .store import Migration

MIGRATIONS = [
    Migration("procmon.001-process-usage", """
        CREATE TABLE process_usage (
            event_id INTEGER PRIMARY KEY,
            peak_rss_kb INTEGER,
            cpu_ms INTEGER,
            processes INTEGER NOT NULL
        )
    """),
]


def usage_for(store, event_ids):
    """``{event_id: {"peak_rss_kb", "cpu_ms", "processes"}}`` for the measured ``event_ids``.

    ``peak_rss_kb`` and ``cpu_ms`` may be None (not known); events never
    measured are absent.  An empty dict when the plugin's table does not exist.
    """
    import apsw

    ids = list(event_ids)
    usage = {}
    try:
        for at in range(0, len(ids), 500):
            chunk = ids[at:at + 500]
            for event_id, peak, cpu, processes in store.query(
                    "SELECT event_id, peak_rss_kb, cpu_ms, processes FROM process_usage "
                    f"WHERE event_id IN ({', '.join('?' * len(chunk))})", chunk):
                usage[event_id] = {"peak_rss_kb": peak, "cpu_ms": cpu, "processes": processes}
    except apsw.SQLError:  # the plugin is disabled: no table
        return {}
    return usage
