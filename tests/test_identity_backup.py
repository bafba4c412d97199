"""``caro identity backup|restore``: a passphrase-encrypted key that brings the same node back."""

import json
import stat

import pytest


def one_line_error(result):
    assert result.returncode != 0, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def passphrase(monkeypatch):
    monkeypatch.setenv("CARO_PASSPHRASE", "correct horse battery")
    return "correct horse battery"


def node_id(caro, **kwargs):
    return json.loads(caro("identity", "show", "--json", **kwargs).stdout)["node_id"]


def test_a_backup_restores_the_same_node_elsewhere(caro, tmp_path, passphrase):
    original = node_id(caro)
    backup = tmp_path / "node.backup"
    made = caro("identity", "backup", str(backup))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    text = backup.read_text()
    assert "ENCRYPTED PRIVATE KEY" in text and json.loads(text)["node_id"] == original
    assert one_line_error(caro("identity", "backup", str(backup))).endswith(
        "exists; choose another file or pass --force\n")

    elsewhere = {"CARO_HOME": str(tmp_path / "new-machine")}
    restored = caro("identity", "restore", str(backup), env=elsewhere)
    assert restored.returncode == 0, restored.stderr
    assert node_id(caro, env=elsewhere) == original
    audit = json.loads(caro("audit", "export", "--format", "json", env=elsewhere).stdout)
    assert [e["details"] for e in audit][-1].endswith("restored from a backup")


def test_wrong_passphrase_and_bad_files_are_one_line_errors(caro, tmp_path, passphrase,
                                                           monkeypatch):
    backup = tmp_path / "node.backup"
    caro("identity", "backup", str(backup))
    other = {"CARO_HOME": str(tmp_path / "other"), "CARO_PASSPHRASE": "not the passphrase"}
    assert "wrong passphrase" in one_line_error(caro("identity", "restore", str(backup),
                                                     env=other))
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\x01 not json")
    assert "not a Caro identity backup" in one_line_error(
        caro("identity", "restore", str(garbage)))
    short = tmp_path / "short"
    short.write_text("abc\n")
    assert "at least 8 characters" in one_line_error(
        caro("identity", "backup", str(tmp_path / "b2"), "--passphrase-file", str(short)))
    monkeypatch.delenv("CARO_PASSPHRASE")
    assert "no passphrase" in one_line_error(caro("identity", "backup", str(tmp_path / "b3")))


def test_restoring_over_another_identity_needs_force_and_keeps_it_aside(caro, tmp_path,
                                                                       passphrase, caro_home):
    backup = tmp_path / "node.backup"
    first = node_id(caro, env={"CARO_HOME": str(tmp_path / "first")})
    caro("identity", "backup", str(backup), env={"CARO_HOME": str(tmp_path / "first")})
    mine = node_id(caro)
    assert mine != first
    assert "already has another identity" in one_line_error(
        caro("identity", "restore", str(backup)))
    assert node_id(caro) == mine
    forced = caro("identity", "restore", str(backup), "--force")
    assert forced.returncode == 0, forced.stderr
    assert node_id(caro) == first
    assert len(list(caro_home.glob("identity.key.replaced-*"))) == 1


def test_a_damaged_key_is_replaced_by_its_backup(caro, tmp_path, passphrase, caro_home):
    original = node_id(caro)
    backup = tmp_path / "node.backup"
    caro("identity", "backup", str(backup))
    (caro_home / "identity.key").write_text("damaged")
    assert "is not a PEM Ed25519 private key" in one_line_error(caro("identity", "show"))
    assert caro("identity", "restore", str(backup)).returncode == 0
    assert node_id(caro) == original
