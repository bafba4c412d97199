"""Skill source: a git repository on this machine or an internal git server.

Source syntax:

``git+file:///srv/git/aws.git``, ``git+ssh://[user@]HOST[:PORT]/PATH``,
``git+http://HOST[:PORT]/PATH``, ``git+https://…``
    a repository by URL (the ``git+`` prefix selects this plugin).
``PATH#REF`` or ``PATH@REF``
    a repository on disk, working tree or bare, pinned to ``REF``.
``PATH``
    a bare repository on disk (its ``HEAD``).  A working tree without a ref
    is left to the plain-folder source, which copies the files as they are on
    disk, uncommitted edits included; add ``#HEAD`` to install the last commit.

Any form takes ``#REF`` — or ``@REF`` after the last ``/`` — to pin a branch,
a tag or a commit id (full or abbreviated); without one the remote's ``HEAD``
is used.  The resolved ref is the full commit id.

How: git's own CLI (no shell), in a temporary bare repository: a shallow
``git fetch --depth=1`` of the ref (a full fetch when the server or an
abbreviated commit id needs one), then ``git archive`` of that commit,
unpacked by :mod:`caro_core.archive` — so ``.git`` is never copied,
submodules are not fetched, and a repository holding a symbolic link is
refused like an archive holding one.  The skill folder is the repository's
root or its single top-level folder.

Safety: nothing can prompt — no stdin, no controlling terminal (a new
session), ``GIT_TERMINAL_PROMPT=0``, ``SSH_ASKPASS_REQUIRE=never``, so a
password or an unknown ssh host key fails at once; every git call is bounded by
:data:`TIMEOUT`; only the URL's own transport is allowed
(``protocol.allow=never``), redirects are not followed, fetched objects are
fsck-checked.  The host of an ``ssh``/``http``/``https`` URL must be loopback
or private (127/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7): an IP literal
outside them is refused, a name is resolved and refused when any address is
public (git resolves it again itself; ssh host aliases from ``~/.ssh/config``
must be written as the real host name).  The user's git configuration (an
internal CA, credential helpers) still applies.
"""

import os
import re
from urllib.parse import urlsplit

from caro_core import hookimpl
from caro_core.errors import CaroError
from caro_core.skills import FetchResult

#: Seconds any one git command may take.
TIMEOUT = 120
_TRANSPORTS = {"git+file": "file", "git+ssh": "ssh", "git+http": "http", "git+https": "https"}
_DEFAULT_PORTS = {"ssh": 22, "http": 80, "https": 443}
_COMMIT_PREFIX = r"[0-9a-f]{4,40}"   # patterns compiled on first use, not at start-up
_REF = r"[A-Za-z0-9_.][A-Za-z0-9_./+-]*"


class GitSourceError(CaroError):
    """A git source is malformed, unreachable, or git failed to fetch it."""


class _GitTimeout(GitSourceError):
    """A git command ran out of time: retrying it another way would only wait again."""


@hookimpl
def caro_skill_fetch(source, dest):
    """Fetch ``source`` into ``dest`` when it is a ``git+`` URL or a pinned or bare repository path."""
    spec = _parse(source)
    if spec is None:
        return None
    url, transport, ref = spec
    if ref is not None and (not re.fullmatch(_REF, ref) or ".." in ref):
        raise GitSourceError(f"{source}: {ref!r} is not a branch, tag or commit name")
    return FetchResult("git", _fetch(url, transport, ref, dest, source))


def _parse(source):
    """``(url, transport, ref)`` for a git source, else None."""
    if source.startswith("git+"):
        scheme, sep, _ = source.partition("://")
        if not sep or scheme not in _TRANSPORTS:
            raise GitSourceError(f"{source}: git sources are "
                                 f"{', '.join(s + '://' for s in _TRANSPORTS)}")
        url, ref = _split_ref(source[len("git+"):])
        transport = _TRANSPORTS[scheme]
        if transport != "file":
            from caro_core.oci import internal_addresses  # http.client: not at start-up

            host = urlsplit(url).hostname
            if not host:
                raise GitSourceError(f"{source}: no host in the URL")
            internal_addresses(host, _port(url, transport, source), source)
        return url, transport, ref
    path = os.path.expanduser(source)
    if os.path.exists(path):   # an existing path is taken whole, never split at # or @
        ref = None
        if not _is_repository(path, bare_only=True):
            return None
    else:
        path, ref = _split_ref(path)
        if ref is None or not _is_repository(path, bare_only=False):
            return None
    return "file://" + os.path.abspath(path), "file", ref


def _split_ref(text):
    """``(text, ref)`` split at ``#REF``, else at ``@REF`` after the last ``/``."""
    if "#" in text:
        text, ref = text.rsplit("#", 1)
        return text, ref or None
    head, slash, last = text.rpartition("/")
    if "@" in last:
        last, ref = last.rsplit("@", 1)
        return head + slash + last, ref or None
    return text, None


def _port(url, transport, source):
    try:
        return urlsplit(url).port or _DEFAULT_PORTS[transport]
    except ValueError:
        raise GitSourceError(f"{source}: bad port in the URL") from None


def _is_repository(path, bare_only):
    """A bare repository at ``path`` (or, unless ``bare_only``, a working tree's root)."""
    if not os.path.isdir(path):
        return False
    if not bare_only and os.path.exists(os.path.join(path, ".git")):
        return True
    return (os.path.isfile(os.path.join(path, "HEAD"))
            and os.path.isdir(os.path.join(path, "objects"))
            and os.path.isdir(os.path.join(path, "refs")))


def _fetch(url, transport, ref, dest, label):
    """Fetch ``ref`` of ``url`` and unpack its tree into ``dest``; returns the commit id."""
    import tempfile

    from caro_core.archive import lift_single_folder, unpack  # not at start-up
    with tempfile.TemporaryDirectory(prefix="caro-git-") as repo:
        git = _Git(repo, transport, label)
        git("init", "--bare", "--quiet", repo)
        want = ref or "HEAD"
        try:
            git("fetch", "--quiet", "--no-tags", "--depth=1", "--end-of-options", url, want)
            commit = git("rev-parse", "--verify", "FETCH_HEAD^{commit}").strip()
        except _GitTimeout:
            raise
        except GitSourceError:
            if ref and re.fullmatch(_COMMIT_PREFIX, ref):
                git("fetch", "--quiet", "--no-tags", "--end-of-options", url,
                    "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
                commit = git("rev-parse", "--verify", "--end-of-options",
                             ref + "^{commit}").strip()
            else:
                git("fetch", "--quiet", "--no-tags", "--end-of-options", url, want)
                commit = git("rev-parse", "--verify", "FETCH_HEAD^{commit}").strip()
        with tempfile.TemporaryFile() as tar:
            git("archive", "--format=tar", commit, stdout=tar)
            tar.seek(0)
            unpack(tar, dest, label)
    lift_single_folder(dest)
    return commit


class _Git:
    """Runs git on one temporary bare repository with the safety settings above."""

    def __init__(self, repo, transport, label):
        self.label = label
        self.config = ["-c", "protocol.allow=never", "-c", f"protocol.{transport}.allow=always",
                       "-c", "http.followRedirects=false", "-c", "transfer.fsckObjects=true"]
        self.env = self._environment(repo)

    def _environment(self, repo):
        import subprocess

        env = dict(os.environ)
        try:
            local = subprocess.run(["git", "rev-parse", "--local-env-vars"], capture_output=True,
                                   text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL).stdout
        except FileNotFoundError:
            raise GitSourceError(f"{self.label}: git is not installed") from None
        for name in local.split():
            env.pop(name, None)
        env.update(GIT_DIR=repo, GIT_TERMINAL_PROMPT="0", SSH_ASKPASS_REQUIRE="never", LC_ALL="C")
        return env

    def __call__(self, *args, stdout=None):
        """Run ``git ARGS``; returns its output (unless ``stdout`` is a file) or raises."""
        import subprocess

        process = subprocess.Popen(["git", *self.config, *args], env=self.env,
                                   stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            _end(process)
            raise _GitTimeout(f"{self.label}: git {args[0]} took longer than {TIMEOUT} s") from None
        except BaseException:
            _end(process)
            raise
        if process.returncode != 0:
            lines = [line.removeprefix("fatal: ").removeprefix("error: ")
                     for line in err.decode("utf-8", "replace").splitlines()
                     if line.strip() and not line.startswith(("hint:", "warning:"))]
            reason = lines[0] if lines else f"exit status {process.returncode}"
            raise GitSourceError(f"{self.label}: git {args[0]} failed: {reason}")
        return "" if stdout else out.decode("utf-8", "replace")


def _end(process):
    """Kill git and its helpers (git-remote-http, ssh): they share its new process group."""
    import signal

    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
