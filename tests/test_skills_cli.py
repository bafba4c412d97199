"""``caro skills …`` through the real CLI: install, lockfile, verify, errors, signatures, bundles."""

import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caro_core.generate import GenerateContext
from caro_core.node import Node

MANIFEST = """\
[skill]
id = "{id}"
name = "Notes"
version = "{version}"
description = "How we keep notes"
api_version = 1

[provides]
knowledge = true

[knowledge]
topics = ["notes"]
{extra}
"""


def make_skill(parent, skill_id="custom.notes", version="1.0.0", extra=""):
    folder = parent / skill_id
    (folder / "knowledge").mkdir(parents=True)
    (folder / "skill.toml").write_text(MANIFEST.format(id=skill_id, version=version, extra=extra))
    (folder / "knowledge" / "notes.md").write_text("# Notes\n\nKeep notes in markdown files.\n")
    return folder


@pytest.fixture
def home(caro_home):
    caro_home.mkdir(parents=True)
    (caro_home / "config.toml").write_text("[skills]\nbundled = false\n")
    return caro_home


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def one_line_error(result):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def lock(home):
    return json.loads((home / "skills.lock").read_text())["skills"]


def audit(home, event_type):
    entries = map(json.loads, (home / "audit.log").read_text().splitlines())
    return [e for e in entries if e["event_type"] == event_type]


def test_install_list_info_and_audit(caro, home, tmp_path):
    out = ok(caro("skills", "install", str(make_skill(tmp_path)))).stdout
    assert out.startswith(f"installed custom.notes 1.0.0 (path {tmp_path / 'custom.notes'})")
    assert (home / "skills" / "custom.notes" / "knowledge" / "notes.md").exists()
    entry = lock(home)["custom.notes"]
    assert entry["source"] == str(tmp_path / "custom.notes") and entry["kind"] == "path"
    listed = json.loads(ok(caro("skills", "list", "--json")).stdout)
    assert [{k: s[k] for k in ("id", "version", "enabled", "source", "capabilities", "layers")}
            for s in listed] == [{"id": "custom.notes", "version": "1.0.0", "enabled": True,
                                  "source": str(tmp_path / "custom.notes"), "capabilities": [],
                                  "layers": ["knowledge"]}]
    info = json.loads(ok(caro("skills", "info", "custom.notes", "--json")).stdout)
    assert info["topics"] == ["notes"] and info["lock"]["integrity"] == entry["integrity"]
    assert "installed custom.notes 1.0.0" in audit(home, "SkillChanged")[0]["details"]

    ok(caro("skills", "disable", "custom.notes"))
    assert json.loads(ok(caro("skills", "list", "--json")).stdout)[0]["enabled"] is False
    ok(caro("skills", "enable", "custom.notes"))
    ok(caro("skills", "remove", "custom.notes"))
    assert not (home / "skills" / "custom.notes").exists() and lock(home) == {}
    assert [e["details"].split()[0] for e in audit(home, "SkillChanged")] == [
        "installed", "disabled", "enabled", "removed"]
    assert "no skill 'custom.notes'" in one_line_error(caro("skills", "remove", "custom.notes"))


def test_reinstall_upgrades_in_place(caro, home, tmp_path):
    ok(caro("skills", "install", str(make_skill(tmp_path / "a"))))
    ok(caro("skills", "install", str(make_skill(tmp_path / "b", version="1.1.0"))))
    assert lock(home)["custom.notes"]["version"] == "1.1.0"
    assert sorted(os.listdir(home / "skills")) == ["custom.notes"]
    assert "upgraded custom.notes 1.1.0" in audit(home, "SkillChanged")[-1]["details"]


def test_verify_detects_changed_added_removed_files(caro, home, tmp_path):
    ok(caro("skills", "install", str(make_skill(tmp_path))))
    assert ok(caro("skills", "verify")).stdout.strip() == "ok        custom.notes"
    installed = home / "skills" / "custom.notes"
    (installed / "knowledge" / "notes.md").write_text("# Notes\n\nrm -rf ~ is fine.\n")
    (installed / "knowledge" / "extra.md").write_text("sneaky")
    result = caro("skills", "verify", "--json")
    assert result.returncode == 1
    [report] = json.loads(result.stdout)
    assert report["ok"] is False
    assert (report["changed"], report["added"], report["removed"]) == (
        ["knowledge/notes.md"], ["knowledge/extra.md"], [])
    (installed / "knowledge" / "notes.md").unlink()
    text = caro("skills", "verify")
    assert text.returncode == 1
    assert "removed  knowledge/notes.md" in text.stdout and "added    knowledge/extra.md" in text.stdout


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("[provides]", "[capabilities]\ngpu = true\n\n[provides]"),
     "capabilities.gpu: unknown capability (known: terminal_exec, filesystem_read"),
    (lambda t: t.replace('name = "Notes"\n', ""), "skill.name: required field missing"),
    (lambda t: t.replace('id = "custom.notes"', 'id = "acme.notes"'), "skill.id: 'acme.notes'"),
    (lambda t: t.replace("api_version = 1", "api_version = 'one'"), "skill.api_version"),
    (lambda t: t.replace('topics = ["notes"]', 'topics = ["notes", "missing"]'),
     "knowledge.topics[1]: knowledge/missing.md is missing"),
    (lambda t: t + "\n[[[broken", "TOML syntax error"),
])
def test_malformed_manifest_is_one_line_and_others_keep_working(caro, home, tmp_path, edit,
                                                                message):
    ok(caro("skills", "install", str(make_skill(tmp_path / "good", "custom.good"))))
    bad = make_skill(tmp_path / "bad")
    (bad / "skill.toml").write_text(edit((bad / "skill.toml").read_text()))
    line = one_line_error(caro("skills", "install", str(bad)))
    assert str(bad / "skill.toml") in line and message in line
    assert not (home / "skills" / "custom.notes").exists()
    assert audit(home, "SkillRejected")[-1]["success"] is False
    assert [s["id"] for s in json.loads(ok(caro("skills", "list", "--json")).stdout)] == [
        "custom.good"]
    assert sorted(os.listdir(home / "skills")) == ["custom.good"]   # no staging left behind


def test_unknown_source_and_unresolvable_id(caro, home, tmp_path):
    line = one_line_error(caro("skills", "install", str(tmp_path / "nothing-here")))
    assert "unknown source" in line
    line = one_line_error(caro("skills", "install", "custom.nowhere"))
    assert "cannot resolve skill id custom.nowhere: set [skills] sources" in line


def test_install_by_id_tries_each_registry(caro, home):
    (home / "config.toml").write_text(
        '[skills]\nbundled = false\nsources = ["127.0.0.1:9", "127.0.0.1:9/team"]\n')
    line = one_line_error(caro("skills", "install", "tool.nothing@1.2.0"))
    assert "oci://127.0.0.1:9/skills/tool.nothing:1.2.0" in line
    assert "oci://127.0.0.1:9/team/tool.nothing:1.2.0" in line


def test_capabilities_granted_at_install_and_later(caro, home, tmp_path):
    folder = make_skill(tmp_path, extra='[capabilities]\nterminal_exec = { commands = ["ls"] }\n'
                                        'network = ["10.0.0.5:443"]\n')
    out = ok(caro("skills", "install", str(folder))).stdout
    assert "not granted: terminal_exec (caro skills grant custom.notes terminal_exec)" in out
    assert lock(home)["custom.notes"]["capabilities"] == []
    assert "does not request filesystem_read" in one_line_error(
        caro("skills", "install", str(folder), "--grant", "filesystem_read"))
    assert "unknown capability 'gpu'" in one_line_error(
        caro("skills", "install", str(folder), "--grant", "gpu"))
    ok(caro("skills", "install", str(folder), "--grant", "network"))
    assert lock(home)["custom.notes"]["capabilities"] == ["network"]
    ok(caro("skills", "grant", "custom.notes", "terminal_exec"))
    assert lock(home)["custom.notes"]["capabilities"] == ["network", "terminal_exec"]
    ok(caro("skills", "revoke", "custom.notes", "network"))
    assert lock(home)["custom.notes"]["capabilities"] == ["terminal_exec"]
    ok(caro("skills", "install", str(folder), "--yes"))
    assert lock(home)["custom.notes"]["capabilities"] == ["terminal_exec", "network"]
    details = [e["details"] for e in audit(home, "SkillChanged")]
    assert "granted network to custom.notes" in details
    assert "revoked network from custom.notes" in details


def signer_key(path):
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def test_signatures_required_ok_untrusted_and_bad(caro, home, tmp_path):
    folder = make_skill(tmp_path)
    (home / "config.toml").write_text("[skills]\nbundled = false\nrequire_signature = true\n")
    line = one_line_error(caro("skills", "install", str(folder)))
    assert "skill.sig: the skill is unsigned and [skills] require_signature is true" in line

    out = ok(caro("skills", "sign", str(folder), "--key", str(signer_key(tmp_path / "k.pem"))))
    signer = out.stdout.split(" as ")[-1].strip()
    assert signer.startswith("caro:ed25519:")
    assert "is not in [skills] trusted_signers" in one_line_error(
        caro("skills", "install", str(folder)))

    (home / "config.toml").write_text(f'[skills]\nbundled = false\nrequire_signature = true\n'
                                      f'trusted_signers = ["{signer}"]\n')
    out = ok(caro("skills", "install", str(folder))).stdout
    assert f"signed by {signer}" in out and lock(home)["custom.notes"]["signer"] == signer
    assert ok(caro("skills", "verify")).returncode == 0

    (folder / "knowledge" / "notes.md").write_text("changed after signing\n")
    assert "do not match what was signed" in one_line_error(
        caro("skills", "install", str(folder)))
    sig = json.loads((folder / "skill.sig").read_text())
    ok(caro("skills", "sign", str(folder), "--key", str(tmp_path / "k.pem")))
    forged = json.loads((folder / "skill.sig").read_text())
    forged["signature"] = sig["signature"]   # a valid signature, but over other content
    (folder / "skill.sig").write_text(json.dumps(forged))
    assert "does not verify for signer" in one_line_error(caro("skills", "install", str(folder)))
    assert len(audit(home, "SkillRejected")) == 4


def test_new_scaffold_installs_and_proposes_its_recipe(caro, home, tmp_path):
    ok(caro("skills", "new", "custom.hello", cwd=tmp_path))
    ok(caro("skills", "validate", str(tmp_path / "custom.hello")))
    ok(caro("skills", "install", str(tmp_path / "custom.hello"), "--yes"))
    assert "already exists" in one_line_error(caro("skills", "new", "custom.hello", cwd=tmp_path))
    assert "is not a skill id" in one_line_error(caro("skills", "new", "hello", cwd=tmp_path))
    node = Node.load(home, environ={})
    context = GenerateContext(platform="linux", backend="offline", programs=frozenset({"echo"}),
                              node=node)
    found = [c for batch in node.pm.hook.caro_generate_commands(
        request="say hello to Ada", context=context) for c in batch]
    assert [(c.command, c.source, c.backend) for c in found] == [
        ("echo hello Ada", "custom.hello", "recipe")]
    snippets = [s for batch in node.pm.hook.caro_generate_context(
        request="getting started with hello") for s in batch]
    assert snippets and snippets[0].source == "custom.hello"


def test_bundle_round_trip(caro, home, tmp_path):
    ok(caro("skills", "install", str(make_skill(tmp_path / "a", "custom.notes"))))
    ok(caro("skills", "install", str(make_skill(tmp_path / "b", "custom.more")),
            ))
    bundle = tmp_path / "site.tar.gz"
    out = ok(caro("skills", "bundle", str(bundle))).stdout
    assert "bundled 2 skill(s)" in out and "custom.more, custom.notes" in out

    other = tmp_path / "other-home"
    other.mkdir()
    (other / "config.toml").write_text("[skills]\nbundled = false\n")
    env = {"CARO_HOME": str(other)}
    result = caro("skills", "install", str(bundle), env=env)
    if "unknown source" in result.stderr:
        pytest.skip("the archive source (skill_fetch_archive) is not available")
    ok(result)
    assert ok(caro("skills", "verify", env=env)).stdout.split() == [
        "ok", "custom.more", "ok", "custom.notes"]
    assert {e["integrity"] for e in lock(other).values()} == {
        e["integrity"] for e in lock(home).values()}


def test_bundled_skill_cannot_be_removed_only_disabled(caro, caro_home):
    from caro_core.skills import bundled_dir

    shipped = sorted(p.name for p in bundled_dir().iterdir() if (p / "skill.toml").exists())
    if not shipped:
        pytest.skip("no bundled skills in this checkout yet")
    skill_id = shipped[0]
    assert "cannot be removed" in one_line_error(caro("skills", "remove", skill_id))
    ok(caro("skills", "disable", skill_id))
    listed = json.loads(ok(caro("skills", "list", "--json")).stdout)
    assert skill_id not in [s["id"] for s in listed]
    everything = json.loads(ok(caro("skills", "list", "--all", "--json")).stdout)
    assert {s["id"]: s["enabled"] for s in everything if "id" in s}[skill_id] is False
    ok(caro("skills", "enable", skill_id))
    assert f"{skill_id} is bundled with Caro" in one_line_error(
        caro("skills", "install", skill_id))


def test_deleted_skill_folder_is_reported_and_can_be_removed(caro, home, tmp_path):
    import shutil

    ok(caro("skills", "install", str(make_skill(tmp_path / "a", "custom.notes"))))
    ok(caro("skills", "install", str(make_skill(tmp_path / "b", "custom.kept"))))
    shutil.rmtree(home / "skills" / "custom.notes")
    listed = ok(caro("skills", "list", "--json"))
    assert [s["id"] for s in json.loads(listed.stdout)] == ["custom.kept"]
    [warning] = listed.stderr.strip().splitlines()
    assert "custom.notes" in warning and "caro skills remove custom.notes" in warning
    result = caro("skills", "verify")
    assert result.returncode == 1 and "CHANGED   custom.notes  (folder missing)" in result.stdout
    assert ok(caro("skills", "remove", "custom.notes")).stdout.strip() == "removed custom.notes 1.0.0"
    assert list(lock(home)) == ["custom.kept"]
