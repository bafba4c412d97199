"""``caro policy show|check|sign|apply`` as a person runs them: the installed CLI, real homes,
an organisation root made with ``caro ca``."""

import json

import pytest

from caro_core.policy import TEMPLATE_FILE


@pytest.fixture
def ident(caro):
    """``ident(home)`` → the node id and fingerprint of the node in ``home``."""
    def get(home):
        facts = json.loads(caro("identity", "show", "--json", env={"CARO_HOME": str(home)}).stdout)
        return facts["node_id"], facts["fingerprint"]
    return get


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def one_line_error(result, code=1):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("caro: ")
              and not line.startswith("caro: warning:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def test_show_prints_the_defaults(caro):
    shown = json.loads(ok(caro("policy", "show", "--json")).stdout)
    assert shown["max_level"] == 2 and shown["min_cohort"] == 3 and shown["epsilon"] == 0
    assert shown["config"]["allow"] == {"peers": ["*"]} and shown["config"]["deny"] == {}
    assert all(shown["categories"].values()) and shown["template"] is None
    text = ok(caro("policy", "show")).stdout
    assert "max_level   2" in text and 'allow.peers = ["*"]' in text and "template    none" in text


def test_check_says_what_a_node_may_see_and_why(caro, caro_home, tmp_path, ident):
    supervisor, fp_supervisor = ident(tmp_path / "ciso")
    peer, fp_peer = ident(tmp_path / "dev")
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text(
        f'[sharing.categories]\nanomalies = false\n[sharing.deny]\nothers = ["{peer}"]\n')
    ok(caro("peers", "add", "10.0.0.9:9238", "--id", supervisor, "--trust", "supervisor"))
    ok(caro("peers", "add", "10.0.0.8:9238", "--id", peer, "--trust", "peer"))
    facts = json.loads(ok(caro("policy", "check", fp_supervisor[:6], "--json")).stdout)
    assert facts["node_id"] == supervisor and facts["trust"] == "supervisor"
    assert facts["summaries"] == {"level": 0, "status": "access-denied", "rule": "FR-705",
                                  "reason": facts["summaries"]["reason"]}
    assert {q: d["level"] for q, d in facts["queries"].items()} == {
        "tool-usage": 2, "safety-posture": 2, "activity": 2, "anomalies": 0, "health": 2}
    assert facts["queries"]["anomalies"]["rule"] == "sharing.categories.anomalies"
    denied = json.loads(ok(caro("policy", "check", peer, "--json")).stdout)
    assert {d["rule"] for d in denied["queries"].values()} == {"sharing.deny.others"}
    text = ok(caro("policy", "check", fp_supervisor)).stdout
    assert f"{fp_supervisor} ({supervisor}) is trusted as supervisor" in text
    assert "ACCESS_DENIED" in text and "FR-705" in text
    stranger, _ = ident(tmp_path / "stranger")
    unknown = json.loads(ok(caro("policy", "check", stranger, "--json")).stdout)
    assert unknown["trust"] == "untrusted"
    assert all(d["rule"] == "trust" for d in unknown["queries"].values())
    assert "no single known peer" in one_line_error(caro("policy", "check", "ffffffff"))


def test_a_bad_policy_is_one_line(caro, caro_home):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text('[sharing.allow]\nsupervisors = ["fingerprint:abc"]\n')
    line = one_line_error(caro("policy", "show"), code=2)
    assert "[sharing.allow] supervisors: 'fingerprint:abc': a fingerprint is 16 hex digits" in line


def org_node(caro, caro_home, tmp_path, ident, config=""):
    """An organisation root and this node certified by it; returns the root's directory."""
    root = tmp_path / "org-ca"
    ok(caro("ca", "init", str(root), "--name", "Acme Caro root"))
    node_id, _ = ident(caro_home)
    ok(caro("ca", "sign", str(root), node_id, "--out", str(tmp_path / "node.crt")))
    ok(caro("ca", "install", str(tmp_path / "node.crt"), "--root", str(root / "ca.crt")))
    if config:
        (caro_home / "config.toml").write_text(config)
    return root


def test_the_organisation_signs_a_template_and_the_node_applies_it(caro, caro_home, tmp_path,
                                                                    ident):
    ciso, fp_ciso = ident(tmp_path / "ciso")
    other, _ = ident(tmp_path / "other-supervisor")
    root = org_node(caro, caro_home, tmp_path, ident, "[sharing]\nmin_cohort = 10\n")
    ok(caro("peers", "add", "10.0.0.9:9238", "--id", ciso, "--trust", "supervisor"))
    ok(caro("peers", "add", "10.0.0.7:9238", "--id", other, "--trust", "supervisor"))
    source = tmp_path / "acme-policy.toml"
    source.write_text(f'# Acme baseline\n[sharing]\nmin_cohort = 5\nepsilon = 1.0\n'
                      f'[sharing.allow]\nsupervisors = ["fingerprint:{fp_ciso}"]\n')
    signed = tmp_path / "acme-policy.signed.toml"
    said = ok(caro("policy", "sign", str(source), "--ca", str(root), "--out", str(signed))).stdout
    assert "signed by CN=Acme Caro root" in said
    assert signed.read_text().startswith("# Acme baseline\n[sharing]")
    assert "is signed already" in one_line_error(
        caro("policy", "sign", str(signed), "--ca", str(root), "--out", str(tmp_path / "x")))
    assert "exists" in one_line_error(
        caro("policy", "sign", str(source), "--ca", str(root), "--out", str(signed)))

    applied = ok(caro("policy", "apply", str(signed))).stdout
    assert "installed; it tightens: allow, epsilon" in applied
    assert (caro_home / TEMPLATE_FILE).read_bytes() == signed.read_bytes()
    shown = json.loads(ok(caro("policy", "show", "--json")).stdout)
    assert shown["min_cohort"] == 10 and shown["epsilon"] == 1.0  # the stricter of each
    assert shown["template"]["signature"] == "ok"
    assert shown["template"]["signer"] == "CN=Acme Caro root"
    assert shown["template"]["rules"]["allow"]["supervisors"] == [f"fingerprint:{fp_ciso}"]
    assert "signed by CN=Acme Caro root" in ok(caro("policy", "show")).stdout
    assert json.loads(ok(caro("policy", "check", ciso, "--json")).stdout)[
        "queries"]["tool-usage"]["level"] == 2
    refused = json.loads(ok(caro("policy", "check", other, "--json")).stdout)
    assert refused["queries"]["tool-usage"]["rule"] == "template:sharing.allow"
    audit = json.loads(ok(caro("audit", "export", "--format", "json")).stdout)
    assert [e for e in audit if e["event_type"] == "PolicyChanged"]


def test_a_forged_template_is_one_line_and_changes_nothing(caro, caro_home, tmp_path, ident):
    root = org_node(caro, caro_home, tmp_path, ident)
    source = tmp_path / "p.toml"
    source.write_text("[sharing]\nmax_level = 1\n")
    signed = tmp_path / "p.signed.toml"
    ok(caro("policy", "sign", str(source), "--ca", str(root), "--out", str(signed)))
    forged = tmp_path / "forged.toml"
    forged.write_text(signed.read_text().replace("max_level = 1", "max_level = 0"))
    before = json.loads(ok(caro("audit", "export", "--format", "json")).stdout)
    line = one_line_error(caro("policy", "apply", str(forged)))
    assert "the signature does not verify under the organisation root (forged or altered)" in line
    assert not (caro_home / TEMPLATE_FILE).exists()
    assert json.loads(ok(caro("audit", "export", "--format", "json")).stdout) == before
    # a template signed by another organisation's root
    ok(caro("ca", "init", str(tmp_path / "rogue"), "--name", "Acme Caro root"))
    rogue = tmp_path / "rogue.toml"
    ok(caro("policy", "sign", str(source), "--ca", str(tmp_path / "rogue"), "--out", str(rogue)))
    assert "signed by another root" in one_line_error(caro("policy", "apply", str(rogue)))
    assert "is not signed" in one_line_error(caro("policy", "apply", str(source)))
    assert not (caro_home / TEMPLATE_FILE).exists()
