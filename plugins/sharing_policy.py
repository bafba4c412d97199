"""The sharing policy's configuration: the ``[sharing]`` section (FR-603, FR-7xx).

The rules themselves are applied by :mod:`caro_core.policy`, which the query
and summary-exchange code ask for every answer and push.  The section follows
the ADR's example::

    [sharing]
    max_level = 2            # 0 = share nothing, 1 = summaries to peers, 2 = also aggregates
    [sharing.allow]
    peers = ["*"]            # every trusted node
    supervisors = ["fingerprint:0123456789abcdef"]
    [sharing.deny]
    peers = ["caro:ed25519:…"]
    [sharing.categories]
    anomalies = false

Types are checked when the configuration loads; the entries, the categories
and the ranges when the policy is used (every command and the daemon's
start-up report a bad one in one line, and a node with a bad policy shares nothing).
"""

from caro_core import hookimpl
from caro_core.config import Setting


@hookimpl
def caro_config_schema():
    """Declare the ``[sharing]`` section."""
    return {"sharing": {
        "max_level": Setting(int, 2, "most this node shares: 0 nothing, 1 Level-1 summaries to "
                                     "trusted peers, 2 also Level-2 aggregates to supervisors",
                             choices=(0, 1, 2)),
        "allow": Setting(dict, {"peers": ["*"]}, "who may receive data: audience -> node ids, "
                                                 "\"fingerprint:…\", trust levels or \"*\""),
        "deny": Setting(dict, {}, "who never receives data (beats allow); same shape as allow"),
        "categories": Setting(dict, {}, "category -> false to withhold it (tool_usage, "
                                        "activity_patterns, safety_stats, anomalies, health)"),
        "min_cohort": Setting(int, 3, "an aggregate over fewer nodes is not shown at Level 2"),
        "epsilon": Setting(float, 0.0, "Laplace noise on counts of Level-2 answers (0: none; "
                                       "smaller: more noise)"),
    }}


@hookimpl
def caro_lifecycle_start(node):
    """Report a malformed policy when the daemon starts (it shares nothing meanwhile)."""
    from caro_core import policy

    policy.load(node)
