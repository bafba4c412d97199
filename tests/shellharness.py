"""Driving real interactive shells for tests: one tmux server per shell on its own
socket, every wait bounded in count and time.  The ``shell_factory`` fixture is in conftest."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from caro_core.spool import read_records, spool_dir

CARO = Path(sys.executable).with_name("caro")


def init_line(shell, home, tmp_path):
    """The line a user puts in their start-up file to load Caro, using the installed ``caro``."""
    exe = str(CARO)
    return f"{exe} init {shell} | source" if shell == "fish" else f'eval "$({exe} init {shell})"'


def need(binary):
    """Skip when ``binary`` is missing (``make test`` installs bash, zsh, fish, dash, tmux)."""
    for name in (binary, "tmux"):
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed here; `make test` installs it")


PROMPT = "caro-test"


class TmuxShell:
    """One interactive shell in a detached tmux session on a private socket."""

    def __init__(self, tmp_path, shell, setup="", home=None, env=None, init=True):
        need({"sh": "dash"}.get(shell, shell))
        self.shell = shell
        self.home = Path(home or tmp_path / "caro-home")
        self.socket = f"caro-test-{uuid.uuid4().hex[:12]}"
        user_home = tmp_path / f"home-{self.socket}"
        user_home.mkdir(parents=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(user_home),
            "USER": "tester",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "CARO_HOME": str(self.home),
            "XDG_CONFIG_HOME": str(user_home / ".config"),
            "XDG_DATA_HOME": str(user_home / ".local/share"),
            "TERM": "xterm-256color",
        }
        self.env.update(env or {})
        load = init_line(shell, self.home, tmp_path) if init else ""
        argv = self._argv(shell, user_home, setup, load)
        conf = user_home / "tmux.conf"
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 10000\n"
                        "set -g default-terminal xterm-256color\n")
        self._tmux("-f", str(conf), "new-session", "-d", "-s", "t", "-x", "200", "-y", "50", *argv)
        self.wait_for(lambda: PROMPT in self.screen(), what="the first prompt", timeout=20)

    def _argv(self, shell, user_home, setup, load):
        if shell == "bash":
            rc = user_home / ".bashrc"
            rc.write_text(f"PS1='{PROMPT}$ '\nHISTFILE={user_home}/.bash_history\n{setup}\n{load}\n")
            return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
        if shell == "zsh":
            rc = user_home / ".zshrc"
            rc.write_text(f"PS1='{PROMPT}%# '\nHISTFILE={user_home}/.zsh_history\n{setup}\n{load}\n")
            self.env["ZDOTDIR"] = str(user_home)
            return ["zsh", "-i"]
        if shell == "fish":
            # not --no-config: it implies private mode, in which Caro records nothing
            rc = user_home / ".config/fish/config.fish"
            rc.parent.mkdir(parents=True)
            rc.write_text(f"set -g fish_greeting ''\nfunction fish_prompt; echo -n '{PROMPT}> '; end\n"
                          f"{setup}\n{load}\n")
            return ["fish", "-i"]
        if shell == "sh":
            rc = user_home / ".shrc"
            rc.write_text(f"PS1='{PROMPT}$ '\n{setup}\n{load}\n")
            self.env["ENV"] = str(rc)
            return ["dash", "-i"]
        raise ValueError(shell)

    def _tmux(self, *args, input=None):
        return subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, input=input,
                              capture_output=True, timeout=10, check=True)

    def send(self, text, enter=True):
        """Type ``text`` literally, then Enter."""
        if text:
            self._tmux("send-keys", "-t", "t", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "t", "Enter")

    def keys(self, *names):
        self._tmux("send-keys", "-t", "t", *names)

    def paste(self, data, enter=True):
        """Paste ``data`` (bytes or str) as a bracketed paste: tabs and all arrive literally."""
        if isinstance(data, str):
            data = data.encode()
        self._tmux("load-buffer", "-b", "p", "-", input=data)
        self._tmux("paste-buffer", "-p", "-d", "-b", "p", "-t", "t")
        if enter:
            time.sleep(0.1)
            self._tmux("send-keys", "-t", "t", "Enter")

    def screen(self):
        try:
            return self._tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-200").stdout.decode(
                "utf-8", "replace")
        except subprocess.SubprocessError:
            return ""

    def alive(self):
        out = self._tmux("display-message", "-p", "-t", "t", "#{pane_dead}").stdout.strip()
        return out == b"0"

    def records(self):
        """Every record in the spool, without claiming anything."""
        found = []
        directory = spool_dir(self.home)
        for path in sorted(directory.glob("*.spool*")) if directory.is_dir() else ():
            found.extend(read_records(path.read_bytes()))
        return found

    def wait_for(self, predicate, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n--- screen ---\n"
                             + self.screen())

    def run(self, *commands, expect=None, timeout=15.0):
        """Type each command; wait until ``expect`` records (default: one more each) exist."""
        want = len(self.records()) + len(commands) if expect is None else expect
        for command in commands:
            self.send(command)
        self.wait_for(lambda: len(self.records()) >= want, f"{want} records", timeout)
        return self.records()

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env,
                       capture_output=True, timeout=10)


def commands(records):
    """The command texts of spool records, in order."""
    return [r.command for r in records]


@contextmanager
def unwritable_spool(tmp_path):
    """A Caro home whose spool directory the user cannot write (restored afterwards)."""
    home = tmp_path / "ro-home"
    (home / "spool").mkdir(parents=True)
    (home / "spool").chmod(0o500)
    try:
        yield home
    finally:
        (home / "spool").chmod(0o700)
