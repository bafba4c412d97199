"""The sharing policy (caro_core.policy): who may see what, deny over allow, Level 2 for
supervisors, strict validation, audit, minimum cohort, noise and signed templates."""

import math
import re
import statistics

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caro_core import ca, policy
from caro_core.audit import AuditLog
from caro_core.errors import ConfigError
from caro_core.identity import node_id_for
from caro_core.node import Node
from caro_core.peers import append_static, peer_from_node_id
from caro_core.trust import TrustLevel

QUERY_TYPES = tuple(policy.QUERY_CATEGORIES)


def new_node_id():
    key = Ed25519PrivateKey.generate().public_key()
    return node_id_for(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def fingerprint(node_id):
    return peer_from_node_id(node_id).fingerprint


@pytest.fixture
def mesh(tmp_path):
    """A node whose peers.toml trusts one node at each level; ``make(config)`` builds it."""
    ids = {label: new_node_id() for label in ("share-to", "query-from", "peer", "supervisor",
                                               "ciso", "untrusted")}
    made = []

    def make(config=""):
        home = tmp_path / f"node{len(made)}"
        home.mkdir(mode=0o700)
        (home / "config.toml").write_text(config)
        for label, node_id in ids.items():
            level = "supervisor" if label == "ciso" else label
            append_static(home, "127.0.0.1:1", node_id, TrustLevel.parse(level))
        node = Node.load(home, environ={})
        made.append(node)
        return node

    make.ids = ids
    yield make
    for node in made:
        node.close()


def levels(node, requester):
    return {q: policy.decide(node, requester, q).level for q in QUERY_TYPES}


def test_defaults_trusting_a_node_is_the_consent(mesh):
    node, ids = mesh(), mesh.ids
    for label in ("peer", "query-from"):
        decision = policy.decide(node, ids[label], "tool-usage")
        assert decision.level == 1 and decision.rule == "sharing.allow.peers", decision
    assert levels(node, ids["supervisor"]) == dict.fromkeys(QUERY_TYPES, 2)  # FR-705
    # share-to receives summaries but may not query; untrusted and unknown nodes get nothing
    share_to = policy.decide(node, ids["share-to"], "activity")
    assert share_to.denied and share_to.rule == "trust"
    for requester in (ids["untrusted"], new_node_id()):
        decision = policy.decide(node, requester, "health")
        assert decision.level == 0 and decision.rule == "trust"
        assert "not trusted" in decision.reason


def test_max_level_zero_denies_everyone(mesh):
    node, ids = mesh("[sharing]\nmax_level = 0\n"), mesh.ids
    for node_id in ids.values():
        assert levels(node, node_id) == dict.fromkeys(QUERY_TYPES, 0)
        assert policy.summary_level(node, node_id).rule == "sharing.max_level"


def test_max_level_one_keeps_supervisors_out_and_peers_in(mesh):
    node, ids = mesh("[sharing]\nmax_level = 1\n"), mesh.ids
    assert levels(node, ids["supervisor"]) == dict.fromkeys(QUERY_TYPES, 0)
    assert levels(node, ids["peer"]) == dict.fromkeys(QUERY_TYPES, 1)
    assert policy.summary_level(node, ids["peer"]).level == 1


@pytest.mark.parametrize("entry", ["id", "fingerprint", "role"])
def test_deny_beats_allow(mesh, entry):
    ids = mesh.ids
    denied = {"id": ids["peer"], "fingerprint": f"fingerprint:{fingerprint(ids['peer'])}",
              "role": "peer"}[entry]
    node = mesh(f'[sharing.allow]\npeers = ["*", "{ids["peer"]}"]\n'
                f'[sharing.deny]\nothers = ["{denied}"]\n')
    decision = policy.decide(node, ids["peer"], "tool-usage")
    assert decision.denied and decision.rule == "sharing.deny.others"
    assert "deny beats allow" in decision.reason
    assert policy.summary_level(node, ids["peer"]).denied
    assert policy.decide(node, ids["query-from"], "tool-usage").level == 1


def test_allow_supervisors_names_the_supervisors_accepted(mesh):
    ids = mesh.ids
    node = mesh(f'[sharing]\nmax_level = 2\n[sharing.allow]\npeers = ["*"]\n'
                f'supervisors = ["fingerprint:{fingerprint(ids["ciso"]).upper()}"]\n'
                f'[sharing.deny]\nuntrusted = true\n')  # the ADR's example, verbatim in shape
    assert policy.decide(node, ids["ciso"], "safety-posture").level == 2
    other = policy.decide(node, ids["supervisor"], "safety-posture")
    assert other.denied and other.rule == "sharing.allow"
    assert "allow.supervisors" in other.reason
    assert policy.decide(node, ids["peer"], "safety-posture").level == 1


def test_deny_supervisors_applies_to_supervisors_only(mesh):
    node, ids = mesh('[sharing.deny]\nsupervisors = ["*"]\n'), mesh.ids
    assert levels(node, ids["supervisor"]) == dict.fromkeys(QUERY_TYPES, 0)
    assert levels(node, ids["peer"]) == dict.fromkeys(QUERY_TYPES, 1)


def test_a_named_group_admits_the_nodes_it_lists(mesh):
    ids = mesh.ids
    node = mesh(f'[sharing.allow]\npeers = []\nadmins = ["{ids["query-from"]}"]\n')
    assert policy.decide(node, ids["query-from"], "activity").rule == "sharing.allow.admins"
    refused = policy.decide(node, ids["peer"], "activity")
    assert refused.denied and "not listed" in refused.reason
    assert policy.summary_level(node, ids["peer"]).denied


def test_categories_withhold_query_types_and_summary_fields(mesh):
    node, ids = mesh("[sharing.categories]\nanomalies = false\nactivity_patterns = false\n"), \
        mesh.ids
    assert levels(node, ids["peer"]) == {"tool-usage": 1, "safety-posture": 1, "activity": 0,
                                         "anomalies": 0, "health": 1}
    assert policy.decide(node, ids["peer"], "anomalies").rule == "sharing.categories.anomalies"
    assert policy.withheld_summary_fields(node) == {"hourly_activity", "daily_activity"}


def test_summaries_go_to_share_to_and_peers_never_to_supervisors(mesh):
    node, ids = mesh(), mesh.ids
    got = {label: policy.summary_level(node, ids[label]).level for label in ids}
    assert got == {"share-to": 1, "query-from": 0, "peer": 1, "supervisor": 0, "ciso": 0,
                   "untrusted": 0}
    assert policy.summary_level(node, ids["supervisor"]).rule == "FR-705"
    # a PeerInfo (a live session's) is accepted as well as a node id
    assert policy.summary_level(node, peer_from_node_id(ids["peer"])).level == 1


def test_an_unknown_query_type_is_denied(mesh):
    decision = policy.decide(mesh(), mesh.ids["peer"], "recent-commands")
    assert decision.denied and decision.rule == "query-type"


@pytest.mark.parametrize("config, message", [
    ('[sharing.allow]\npeers = ["bob"]\n', "'bob' is not a node id"),
    ('[sharing.allow]\npeers = ["fingerprint:abc123"]\n', "a fingerprint is 16 hex digits"),
    ('[sharing.allow]\npeers = ["caro:ed25519:nope"]\n', "not a Caro node id"),
    ('[sharing.allow]\npeers = "*"\n', "peers: expected a list"),
    ('[sharing.allow]\nuntrusted = ["*"]\n', "nothing is ever shared with an untrusted node"),
    ('[sharing.deny]\nuntrusted = false\n', "nothing is ever shared with an untrusted node"),
    ('[sharing.categories]\nshell_history = true\n', "unknown category 'shell_history'"),
    ('[sharing.categories]\nanomalies = "no"\n', "anomalies: expected true or false"),
    ("[sharing]\nmin_cohort = 0\n", "min_cohort: expected an integer of at least 1"),
    ("[sharing]\nepsilon = -1.0\n", "epsilon: expected a number of at least 0"),
])
def test_a_malformed_policy_is_one_line_and_shares_nothing(mesh, config, message):
    node = mesh(config)
    with pytest.raises(ConfigError) as e:
        policy.load(node)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert str(node.config_path) in str(e.value)
    decision = policy.decide(node, mesh.ids["peer"], "tool-usage")
    assert decision.denied and decision.rule == "invalid-policy" and message in decision.reason
    assert policy.summary_level(node, mesh.ids["peer"]).rule == "invalid-policy"


@pytest.mark.parametrize("config", ["[sharing]\nmax_level = 3\n", "[sharing]\nlevel = 1\n",
                                    "[sharing]\nallow = 1\n"])
def test_config_types_are_checked_when_the_node_loads(tmp_path, config):
    (tmp_path / "config.toml").write_text(config)
    with pytest.raises(ConfigError, match=r"\[sharing\]"):
        Node.load(tmp_path, environ={})


def test_every_decision_is_audited_with_its_level(mesh):
    node, ids = mesh('[sharing.deny]\npeers = ["query-from"]\n'), mesh.ids
    for requester, query in ((ids["supervisor"], "safety-posture"), (ids["query-from"], "health"),
                             (ids["untrusted"], "tool-usage")):
        policy.audit_decision(node, policy.decide(node, requester, query), requester, query)
    entries = AuditLog(node.home).entries()
    assert [(e["event_type"], e["peer"], e["success"]) for e in entries] == [
        ("QueryReceived", ids["supervisor"], True), ("QueryDenied", ids["query-from"], False),
        ("PolicyViolation", ids["untrusted"], False)]
    assert entries[0]["details"].startswith("safety-posture: level 2 (sharing.allow.peers")
    assert entries[1]["details"].startswith("health: level 0 (sharing.deny.peers")
    assert AuditLog(node.home).verify()[0]


def test_min_cohort_guards_level_two_aggregates_only(mesh):
    node = mesh("[sharing]\nmin_cohort = 4\n")
    assert policy.cohort_allows(node, 1, 1)  # a peer's Level-1 answer names one node anyway
    assert not policy.cohort_allows(node, 3, 2)
    assert policy.cohort_allows(node, 4, 2)
    assert not policy.cohort_allows(node, 4, 2, required=5)  # a contributor asked for more
    assert policy.load(mesh()).min_cohort == 3


def test_laplace_noise_has_the_documented_scale(mesh):
    assert policy.add_noise(17, 0) == 17
    epsilon = 0.5
    draws = [policy.add_noise(1000, epsilon) for _ in range(4000)]
    assert abs(statistics.mean(draws) - 1000) < 0.25  # Laplace mean 0; sd/sqrt(n) ~ 0.045
    # E|X| = 1/epsilon = 2 for Laplace(1/epsilon); rounding shifts it a little
    assert 1.8 < statistics.mean(abs(d - 1000) for d in draws) < 2.2
    assert min(policy.add_noise(0, 0.1) for _ in range(200)) == 0  # never negative
    assert all(isinstance(d, int) for d in draws)


def test_seeded_noise_repeats_so_averaging_gains_nothing(mesh):
    node, other = mesh(), mesh()
    seed = policy.noise_seed(node, "tool-usage", "2026-11-01", "2026-11-08", "git")
    assert seed == policy.noise_seed(node, "tool-usage", "2026-11-01", "2026-11-08", "git")
    assert seed != policy.noise_seed(node, "tool-usage", "2026-11-01", "2026-11-09", "git")
    assert seed != policy.noise_seed(other, "tool-usage", "2026-11-01", "2026-11-08", "git")
    answers = {policy.add_noise(50, 0.1, seed) for _ in range(20)}
    assert len(answers) == 1
    spread = {policy.add_noise(50, 0.1, policy.noise_seed(node, n)) for n in range(50)}
    assert len(spread) > 10 and not math.isnan(statistics.mean(spread))


# -- templates (the CLI flow is in test_policy_cli.py) -------------------------------------


@pytest.fixture
def org(tmp_path):
    """An organisation root in tmp_path/ca."""
    ca.create_root(tmp_path / "ca", "Test org root", 30)
    return tmp_path / "ca"


def signed(tmp_path, org, text, name="template.toml"):
    source = tmp_path / f"src-{name}"
    source.write_text(text)
    policy.sign_template(source, org, tmp_path / name)
    return tmp_path / name


def install_root(node, org):
    (node.home / ca.ROOT_FILE).write_text((org / ca.CA_CERT_FILE).read_text())


def test_a_template_tightens_and_the_node_s_stricter_settings_still_win(mesh, org, tmp_path):
    ids = mesh.ids
    node = mesh(f'[sharing]\nmin_cohort = 5\nepsilon = 0.2\n'
                f'[sharing.deny]\npeers = ["{ids["query-from"]}"]\n')
    install_root(node, org)
    template = signed(tmp_path, org, (
        f'[sharing]\nmax_level = 2\nmin_cohort = 2\nepsilon = 1.0\n'
        f'[sharing.allow]\nsupervisors = ["fingerprint:{fingerprint(ids["ciso"])}"]\n'
        f'[sharing.categories]\nhealth = false\n'))
    info, fields = policy.apply_template(node, template)
    assert info["signer"] == "CN=Test org root"
    assert fields == ["allow", "categories.health"]
    effective = policy.load(node)
    assert (effective.min_cohort, effective.epsilon) == (5, 0.2)  # the node's own, stricter
    assert effective.categories["health"] is False
    assert policy.decide(node, ids["ciso"], "tool-usage").level == 2
    refused = policy.decide(node, ids["supervisor"], "tool-usage")
    assert refused.denied and refused.rule == "template:sharing.allow"
    assert policy.decide(node, ids["peer"], "health").rule == "template:sharing.categories.health"
    assert policy.decide(node, ids["query-from"], "tool-usage").rule == "sharing.deny.peers"
    assert policy.decide(node, ids["peer"], "tool-usage").level == 1
    [entry] = [e for e in AuditLog(node.home).entries() if e["event_type"] == "PolicyChanged"]
    assert "tightens: allow, categories.health" in entry["details"]


def test_a_template_of_max_level_zero_silences_the_node(mesh, org, tmp_path):
    node = mesh()
    install_root(node, org)
    policy.apply_template(node, signed(tmp_path, org, "[sharing]\nmax_level = 0\n"))
    decision = policy.decide(node, mesh.ids["supervisor"], "tool-usage")
    assert decision.denied and decision.rule == "template:sharing.max_level"


@pytest.mark.parametrize("tamper, message", [
    (lambda t: t.replace("max_level = 1", "max_level = 2"), "forged or altered"),
    (lambda t: t.replace("[signature]", "[sharing.allow]\nadmins = [\"*\"]\n[signature]"),
     "forged or altered"),
    (lambda t: t.split("[signature]")[0], "is not signed"),
    (lambda t: t + "extra = 1\n", "holds exactly [sharing] and [signature]"),
])
def test_a_forged_template_changes_nothing(mesh, org, tmp_path, tamper, message):
    node = mesh()
    install_root(node, org)
    template = signed(tmp_path, org, "[sharing]\nmax_level = 1\n")
    template.write_text(tamper(template.read_text()))
    with pytest.raises(policy.PolicyError, match=re.escape(message)):
        policy.apply_template(node, template)
    assert not (node.home / policy.TEMPLATE_FILE).exists()
    assert not [e for e in AuditLog(node.home).entries() if e["event_type"] == "PolicyChanged"]


def test_a_template_from_another_root_or_without_a_root_is_refused(mesh, org, tmp_path):
    node = mesh()
    template = signed(tmp_path, org, "[sharing]\nmax_level = 1\n")
    with pytest.raises(policy.PolicyError, match="no organisation root is installed"):
        policy.apply_template(node, template)
    ca.create_root(tmp_path / "other", "Test org root", 30)  # same name, another key
    install_root(node, tmp_path / "other")
    with pytest.raises(policy.PolicyError, match="signed by another root"):
        policy.apply_template(node, template)
    assert not (node.home / policy.TEMPLATE_FILE).exists()
