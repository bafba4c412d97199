"""What a path names — the root, a system directory, a home, a device, history —
and the option splitter every rule shares.

Words are compared after :func:`normalise`, so ``//``, ``/./``, ``$HOME`` and
``${HOME}`` cannot hide a path.
"""

import posixpath
import re

from caro_core.cmdparse import SHELLS

#: Top-level directories whose loss breaks the system (plus macOS's).
SYSTEM_DIRS = frozenset(
    "/bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /opt /proc /root /sbin /srv /sys /usr "
    "/var /usr/bin /usr/lib /usr/local /usr/sbin /usr/share /var/lib /var/log /snap /System "
    "/Library /Applications /Users /private".split())
AUTH_FILES = frozenset("/etc/passwd /etc/shadow /etc/sudoers /etc/group /etc/gshadow "
                       "/etc/master.passwd /etc/pam.d /etc/sudoers.d".split())
HISTORY_FILES = frozenset(".bash_history .zsh_history .zhistory .history .sh_history "
                          "fish_history .ash_history .histfile".split())
#: Programs that run code they are given (a script on stdin, ``-c``, a socket).
INTERPRETERS = SHELLS | {"python", "python2", "python3", "perl", "ruby", "node", "php"}
_BLOCK_DEVICE = re.compile(r"/dev/(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+)\d*|/dev/nvme\d+n\d+(p\d+)?"
                           r"|/dev/(mmcblk\d+(p\d+)?|r?disk\d+(s\d+)?|md\d+|dm-\d+|mapper/.+|sr\d+)")



def options(args, with_value=()):
    """Split ``args`` into (short letters, long options, operands); ``--`` ends options."""
    short, long_, operands = set(), set(), []
    it = iter(args)
    for arg in it:
        if arg == "--":
            operands += list(it)
        elif arg.startswith("--"):
            long_.add(arg.split("=", 1)[0])
        elif arg.startswith("-") and len(arg) > 1:
            short.update(arg[1:])
            if arg in with_value:
                next(it, None)
        else:
            operands.append(arg)
    return short, long_, operands


def normalise(path):
    """``~``, ``$HOME`` and ``${HOME}`` become ``~``; slashes and dots are collapsed."""
    for home in ("${HOME}", "$HOME", "~"):
        if path == home or path.startswith(home + "/"):
            path = "~" + path[len(home):]
            break
    if path.startswith(("/", "~/")):
        path = re.sub("/+", "/", posixpath.normpath(path))
    return path


def classify_path(path):
    """``root``, ``system``, ``home``, ``system-file`` (below a system dir) or ``other``.

    ``/etc/*`` counts as ``/etc`` itself: it names everything in it.
    """
    path = normalise(path)
    for glob in ("/*", "/.*", "/"):
        if path.endswith(glob) and len(path) > len(glob):
            path = path[:-len(glob)]
    if path in ("/", "/*", "/.*"):
        return "root"
    if path in SYSTEM_DIRS:
        return "system"
    if path in ("~", "~/*", "/home/*", "/Users/*"):
        return "home"
    if path.startswith("/") and any(path.startswith(d + "/") for d in SYSTEM_DIRS):
        return "system-file"
    return "other"


_PATH_WORDS = {"root": "the root filesystem", "system": "a system directory",
               "home": "your home directory"}


def describe(path):
    """``"/etc (a system directory)"`` for reasons."""
    kind = _PATH_WORDS.get(classify_path(path))
    return f"{path} ({kind})" if kind else path


def is_block_device(path):
    """``/dev/sda``, ``/dev/nvme0n1p2``, ``/dev/disk2``, ``/dev/mapper/x``…"""
    return bool(_BLOCK_DEVICE.fullmatch(normalise(path)))


def is_auth_file(path):
    """Files that control logins and privileges (passwd, shadow, sudoers, PAM)."""
    path = normalise(path)
    return path in AUTH_FILES or any(path.startswith(p + "/") for p in AUTH_FILES)


def is_history_file(path):
    """A shell history file, wherever it lives."""
    return posixpath.basename(normalise(path)) in HISTORY_FILES


def via(cmd):
    """`` via sudo`` when the command is elevated by a wrapper, for reasons."""
    return f" via {cmd.wrappers[0]}" if cmd.wrappers and cmd.wrappers[0] in ("sudo", "doas") else ""
