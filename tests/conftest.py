"""Fixtures shared by the suite: every test gets its own CARO_HOME; the real home is never touched."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caro_core.node import Node
from meshnodes import MeshNode, stop_all
from shellharness import TmuxShell

CARO = str(Path(sys.executable).with_name("caro"))
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point CARO_HOME (and HOME) into the test's temporary directory."""
    home = tmp_path / "caro-home"
    monkeypatch.setenv("CARO_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in ("CARO_DISABLE_PLUGINS", "CARO_LOAD_PLUGINS", "CARO_TRACE_PLUGINS", "CARO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def caro_home(isolated_home):
    return isolated_home


@pytest.fixture
def node(caro_home):
    """A node on the test's home, with the built-in plugins."""
    n = Node.load(caro_home, environ={})
    yield n
    n.close()


def run_caro(*args, env=None, input=None, cwd=None, timeout=60):
    """Run the installed ``caro`` as a real process; returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([CARO, *args], capture_output=True, text=True, env=full_env,
                          input=input, cwd=cwd, timeout=timeout)


@pytest.fixture
def repo_root():
    return REPO


@pytest.fixture
def caro():
    return run_caro


@pytest.fixture
def shell_factory(tmp_path):
    shells = []

    def make(shell, **kwargs):
        s = TmuxShell(tmp_path, shell, **kwargs)
        shells.append(s)
        return s

    yield make
    for s in shells:
        s.close()


@pytest.fixture
def nodes(tmp_path):
    """Make real mesh nodes (:class:`meshnodes.MeshNode`) by name; their daemons stop afterwards."""
    made = []

    def make(name, config=""):
        n = MeshNode(tmp_path, name, config)
        made.append(n)
        return n

    yield make
    stop_all(made)
