"""Skill sources end to end: ``caro skills install`` from every source kind, in a real process."""

import json
import subprocess

import pytest

from skilltools import Registry, skill_artifact, tar_bytes, write_layout, write_skill, zip_bytes

pytestmark = pytest.mark.slow


def test_fetchers_run_oci_first_and_the_plain_folder_last(node):
    order = [impl.plugin.__name__.rsplit(".", 1)[-1]
             for impl in reversed(node.pm.hook.caro_skill_fetch.get_hookimpls())]
    fetchers = [name for name in order if name.startswith("skill_fetch_")]
    assert fetchers[0] == "skill_fetch_oci" and fetchers[-1] == "skill_fetch_path"
    assert set(fetchers) == {"skill_fetch_oci", "skill_fetch_git", "skill_fetch_archive", "skill_fetch_path"}


def installed(caro_home):
    return json.loads((caro_home / "skills.lock").read_text())["skills"]


def test_install_from_archive_git_and_layout(caro, caro_home, tmp_path):
    zipped = tmp_path / "custom.zipped.zip"
    zipped.write_bytes(zip_bytes(write_skill(tmp_path / "z", "custom.zipped"), top="custom.zipped"))
    repo = write_skill(tmp_path / "repo", "custom.gitted")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t.invalid",
                                               "commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=repo, check=True, timeout=60)
    layout = tmp_path / "layout"
    digests = write_layout(layout, {"1.0.0": skill_artifact(write_skill(tmp_path / "l", "custom.layered"))})
    for source in (str(zipped), f"git+file://{repo}#HEAD", f"{layout}:1.0.0"):
        done = caro("skills", "install", source)
        assert done.returncode == 0, done.stderr
    lock = installed(caro_home)
    assert lock["custom.zipped"]["kind"] == "archive" and lock["custom.zipped"]["ref"].startswith("blake3:")
    assert lock["custom.gitted"]["kind"] == "git" and len(lock["custom.gitted"]["ref"]) == 40
    assert lock["custom.layered"]["kind"] == "oci-layout"
    assert lock["custom.layered"]["ref"] == digests["1.0.0"]
    assert (caro_home / "skills" / "custom.gitted" / "skill.toml").is_file()
    assert not (caro_home / "skills" / "custom.gitted" / ".git").exists()


def test_install_by_id_from_a_configured_registry_then_bundle_round_trip(caro, caro_home, tmp_path):
    registry = Registry(tmp_path / "registry")
    try:
        manifest, blobs = skill_artifact(write_skill(tmp_path / "s", "tool.demo", "1.2.0"))
        pushed = registry.push("skills/tool.demo", "latest", manifest, blobs)
        caro_home.mkdir(parents=True, exist_ok=True)
        (caro_home / "config.toml").write_text(f'[skills]\nsources = ["127.0.0.1:{registry.port}"]\n')
        done = caro("skills", "install", "tool.demo")
    finally:
        registry.stop()
    assert done.returncode == 0, done.stderr
    entry = installed(caro_home)["tool.demo"]
    assert (entry["kind"], entry["ref"], entry["version"]) == ("oci-registry", pushed, "1.2.0")

    bundle = tmp_path / "site.tar.gz"
    assert caro("skills", "bundle", str(bundle)).returncode == 0
    elsewhere = tmp_path / "air-gapped-home"
    done = caro("skills", "install", str(bundle), env={"CARO_HOME": str(elsewhere)})
    assert done.returncode == 0, done.stderr
    assert installed(elsewhere)["tool.demo"]["kind"] == "archive"


@pytest.mark.parametrize("source, message", [
    ("oci://8.8.8.8:5000/skills/tool.demo:1", "not a loopback or private address"),
    ("{evil}", "path leaves the destination"),
], ids=["public registry", "traversal archive"])
def test_refused_sources_give_one_line_and_install_nothing(caro, caro_home, tmp_path, source, message):
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(tar_bytes(write_skill(tmp_path / "e", "custom.evil"), top="../escaped"))
    done = caro("skills", "install", source.format(evil=evil))
    assert done.returncode != 0 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "escaped").exists()
    assert not (caro_home / "skills.lock").exists() or "custom.evil" not in installed(caro_home)
