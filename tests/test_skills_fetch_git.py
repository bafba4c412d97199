"""Skill source: git repositories through the git CLI (plugins/skill_fetch_git.py)."""

import os
import socket
import subprocess
import sys

import pytest

from caro_core.archive import ArchiveError
from caro_core.oci import PublicHostError
from caro_plugins import skill_fetch_git
from caro_plugins.skill_fetch_git import GitSourceError
from polling import wait_for
from skilltools import files_of, free_port, write_skill

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd, *args):
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A working tree with two commits: v1 (tagged) then 2.0.0 on main."""
    work = write_skill(tmp_path / "work", version="1.0.0")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "v1")
    git(work, "tag", "v1")
    (work / "skill.toml").write_text((work / "skill.toml").read_text().replace("1.0.0", "2.0.0"))
    git(work, "commit", "-q", "-am", "v2")
    return work


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "dest"
    d.mkdir()
    return d


def version(dest):
    return "2.0.0" if 'version = "2.0.0"' in (dest / "skill.toml").read_text() else "1.0.0"


def test_git_file_url_fetches_head_as_a_full_commit(node, repo, dest):
    result = node.pm.hook.caro_skill_fetch(source=f"git+file://{repo}", dest=dest)
    assert result.kind == "git" and result.ref == git(repo, "rev-parse", "HEAD")
    assert version(dest) == "2.0.0"
    assert sorted(files_of(dest)) == ["knowledge/demo.md", "skill.toml"]   # no .git


@pytest.mark.parametrize("form", ["git+file://{repo}#v1", "git+file://{repo}@v1", "{repo}#v1", "{repo}@v1",
                                  "{repo}#{short}", "{repo}#{full}"])
def test_a_ref_pins_tag_branch_or_commit(node, repo, dest, form):
    v1 = git(repo, "rev-parse", "v1^{commit}")
    source = form.format(repo=repo, short=v1[:8], full=v1)
    result = node.pm.hook.caro_skill_fetch(source=source, dest=dest)
    assert result.ref == v1 and version(dest) == "1.0.0"


def test_a_bare_repository_path_is_fetched_at_head(node, repo, tmp_path, dest):
    bare = tmp_path / "skills.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    result = node.pm.hook.caro_skill_fetch(source=str(bare), dest=dest)
    assert result.kind == "git" and result.ref == git(repo, "rev-parse", "HEAD")


def test_a_working_tree_without_ref_is_left_to_the_folder_source(repo, dest):
    assert skill_fetch_git.caro_skill_fetch(source=str(repo), dest=dest) is None
    assert skill_fetch_git.caro_skill_fetch(source=str(repo / "knowledge"), dest=dest) is None
    assert skill_fetch_git.caro_skill_fetch(source="oci://127.0.0.1/x", dest=dest) is None


def test_skill_in_a_single_top_folder(node, tmp_path, dest):
    work = tmp_path / "mono"
    write_skill(work / "tool.demo")
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "one")
    node.pm.hook.caro_skill_fetch(source=f"{work}#HEAD", dest=dest)
    assert (dest / "skill.toml").is_file()


def test_a_symlink_in_the_repository_is_refused(node, repo, dest):
    os.symlink("/etc/passwd", repo / "knowledge" / "passwd.md")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "link")
    with pytest.raises(ArchiveError, match="symbolic link"):
        node.pm.hook.caro_skill_fetch(source=f"git+file://{repo}", dest=dest)
    assert os.listdir(dest) == []


@pytest.mark.parametrize("source, error, message", [
    ("git+file://{repo}#no-such-tag", GitSourceError, "git fetch failed"),
    ("git+file://{repo}#--upload-pack=touch", GitSourceError, "not a branch, tag or commit"),
    ("git+file://{repo}#main:refs/heads/x", GitSourceError, "not a branch, tag or commit"),
    ("git+ftp://10.0.0.1/skills.git", GitSourceError, "git sources are"),
    ("git+file://{repo}-missing", GitSourceError, "git fetch failed"),
    ("git+ssh://8.8.8.8/skills.git", PublicHostError, "not a loopback or private address"),
    ("git+https://[2001:4860:4860::8888]/skills.git", PublicHostError, "Caro fetches nothing"),
    ("git+http://100.64.0.1:8080/skills.git", PublicHostError, "not a loopback or private"),
], ids=["unknown ref", "option injection", "refspec", "transport", "missing repo", "public ssh",
        "public ipv6", "cgnat"])
def test_bad_git_sources_give_one_line(node, repo, dest, source, error, message):
    source = source.format(repo=repo)
    with pytest.raises(error, match=message) as raised:
        node.pm.hook.caro_skill_fetch(source=source, dest=dest)
    assert source in str(raised.value) and "\n" not in str(raised.value)
    assert os.listdir(dest) == []


def test_git_over_http_from_an_internal_server(node, repo, tmp_path, dest):
    served = tmp_path / "served"
    served.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(served / "skill.git"))
    git(served / "skill.git", "update-server-info")   # the "dumb" HTTP protocol: no shallow fetch
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                              cwd=served, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _listening(port))
        result = node.pm.hook.caro_skill_fetch(source=f"git+http://127.0.0.1:{port}/skill.git#v1",
                                               dest=dest)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.ref == git(repo, "rev-parse", "v1^{commit}") and version(dest) == "1.0.0"


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_an_existing_path_is_never_split_at_hash_or_at(tmp_path, repo, dest):
    odd = write_skill(tmp_path / "skill#v1")
    assert skill_fetch_git.caro_skill_fetch(source=str(odd), dest=dest) is None
    os.rename(repo, tmp_path / "repo@v1")
    assert skill_fetch_git.caro_skill_fetch(source=str(tmp_path / "repo@v1"), dest=dest) is None


def test_ssh_never_prompts_and_fails_in_one_line(node, dest):
    source = f"git+ssh://git@127.0.0.1:{free_port()}/skills.git#v1"
    with pytest.raises(GitSourceError, match="git fetch failed: .*[Cc]onnection refused") as error:
        node.pm.hook.caro_skill_fetch(source=source, dest=dest)
    assert "\n" not in str(error.value)


def test_a_silent_server_is_bounded_by_the_timeout(node, dest, monkeypatch):
    monkeypatch.setattr(skill_fetch_git, "TIMEOUT", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        source = f"git+http://127.0.0.1:{silent.getsockname()[1]}/skills.git"
        with pytest.raises(GitSourceError, match="git fetch took longer than 2 s"):
            node.pm.hook.caro_skill_fetch(source=source, dest=dest)
