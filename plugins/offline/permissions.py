"""Permissions and ownership: chmod, chown, showing and finding permissions, users, groups."""

import re

from .intent import Rules
from .request import q

rules = Rules("permissions")

_WHO = {"owner": "u", "user": "u", "me": "u", "group": "g", "others": "o", "other": "o",
        "everyone": "a", "everybody": "a", "all": "a", "world": "o"}
_WHAT = {"read": "r", "write": "w", "execute": "x", "exec": "x", "readable": "r", "writable": "w",
         "writeable": "w", "executable": "x"}


def mode(r):
    """An octal mode (``755``) or a symbolic one built from the words (``g+w``), or None."""
    for index in range(3):
        number = r.number(None, index)
        if number is None:
            break
        if re.fullmatch(r"[0-7]{3,4}", number):
            return number
    low = r.text.lower()
    letters = "".join(sorted({v for k, v in _WHAT.items() if re.search(rf"\b{k}\b", low)},
                             key="rwx".index))
    if not letters:
        return None
    who = "".join(dict.fromkeys(v for k, v in _WHO.items() if re.search(rf"\b{k}\b", low))) or "u"
    if "a" in who:
        who = "a"
    if re.search(r"\bonly\b", low) and who == "u":
        return f"u={letters},go="
    sign = "-" if re.search(r"\b(remove|revoke|take away|deny|without|no)\b", low) else "+"
    return f"{who}{sign}{letters}"


@rules("executable|permission|modify|add|delete #path|#ext", opt="file all recursive dir owner "
       "group user create run others", avoid="find git")
def chmod(r, p):
    """chmod a file or directory: octal modes, +x, or read/write for owner, group, others."""
    wanted = "+x" if r.has("executable") and not r.has("permission") else mode(r)
    if r.has("executable") and wanted is None:
        wanted = "+x"
    if wanted is None:
        return None
    paths = r.paths(("file", "any", "dir", "in"))
    what = "executable" if wanted == "+x" else f"mode {wanted}"
    exts = r.ext()
    if not paths and exts:
        names = " -o ".join(f"-name {q('*.' + e)}" for e in exts)
        return [(f"find {q(r.dir())} -type f {names} -exec chmod {wanted} {{}} +",
                 f"make every *.{exts[0]} file {what}, subdirectories included"),
                (f"chmod {wanted} *.{exts[0]}", "only those in this directory")]
    if not paths:
        return None
    recursive = "-R " if r.has("recursive") or r.has("dir") else ""
    targets = " ".join(q(x) for x in paths)
    return [(f"chmod {recursive}{wanted} {targets}", f"make {', '.join(paths)} {what}"
             + (" (and everything inside)" if recursive else ""))]


@rules("owner|group", opt="modify file dir recursive user all add", avoid="show find process "
       "memory count")
def chown(r, p):
    """Change the owner (and group) of files."""
    user, group = r.name("user"), r.name("group")
    if not user and not group:
        named = next(iter(r.free(1)), None) or r.word_after("to")
        if r.has("group") and not r.has("owner"):
            group = named
        else:
            user = named
    paths = r.paths(("file", "any", "dir", "in"))
    typed = r.text.lstrip().lower().startswith(("chown", "chgrp"))
    if not paths or not (user or group) or not (r.has("modify", "add") or typed):
        return None
    recursive = "-R " if r.has("recursive") or r.has("dir") else ""
    targets = " ".join(q(x) for x in paths)
    if user:
        owner = f"{user}:{group}" if group else user
        return [(f"sudo chown {recursive}{owner} {targets}", f"make {owner} the owner of "
                 f"{', '.join(paths)}")]
    return [(f"sudo chgrp {recursive}{q(group)} {targets}", f"give {', '.join(paths)} to the group "
             f"{group}")]


@rules("permission|owner", opt="show file dir describe", avoid="modify add delete find")
def show_permissions(r, p):
    """The permissions and owner of a file."""
    path = r.path() or next(iter(r.free(1)), None)
    if not path:
        return None
    if p.gnu:
        return [(f"ls -ld {q(path)}", f"permissions, owner and group of {path}"),
                (f"stat -c '%a %U:%G %n' {q(path)}", "the octal mode, owner and group")]
    return [(f"ls -ld {q(path)}", f"permissions, owner and group of {path}"),
            (f"stat -f '%Lp %Su:%Sg %N' {q(path)}", "the octal mode, owner and group")]


@rules("find|show permission|setuid|writable file|dir|permission|setuid", opt="all recursive "
       "#number", avoid="modify")
def find_by_permission(r, p):
    """Files with a given mode, world-writable files, or setuid programs."""
    where = r.dir()
    low = r.text.lower()
    if r.has("setuid"):
        return [(f"find {q(where)} -perm -4000 -type f 2>/dev/null",
                 f"setuid programs under {where}")]
    if "world-writable" in low or "writable by everyone" in low or "world writable" in low:
        return [(f"find {q(where)} -perm -0002 -type f", f"world-writable files under {where}")]
    octal = mode(r)
    if not octal or not octal.isdigit():
        return None
    return [(f"find {q(where)} -type f -perm {octal}", f"files under {where} with mode {octal}")]


@rules("add user group", opt="create")
def add_to_group(r, p):
    """Add a user to a group."""
    user = r.name("user") or next(iter(r.free(1)), None)
    group = r.name("group")
    if not user or not group:
        return None
    if p.mac:
        return [(f"sudo dseditgroup -o edit -a {q(user)} -t user {q(group)}",
                 f"add {user} to the group {group}")]
    return [(f"sudo usermod -aG {q(group)} {q(user)}",
             f"add {user} to the group {group} (effective "
             "at their next login)")]


@rules("group|user", opt="show all current login member process",
       avoid="add modify create delete #path "
       "docker kubernetes")
def who(r, p):
    """The current user and the groups a user belongs to."""
    user = r.name("user")
    if r.has("login") and "am i" not in r.text.lower():
        return None
    group = r.name("group")
    if group:
        return [(f"getent group {q(group)}", f"the members of the group {group}")]
    user = user or next(iter(r.free(1)), None)
    if re.search(r"\bid\b", r.text.lower()):
        return [(f"id -u {q(user)}" if user else "id -u", "the numeric user ID"),
                (f"id {q(user)}" if user else "id", "with the group IDs")]
    if r.has("group"):
        return [(f"id {q(user)}" if user else "id", "user and group IDs and every group"),
                (f"groups {q(user)}" if user else "groups", "just the group names")]
    if r.free_words or user:   # a named account ("which aws account am i") is not whoami
        return None
    return [("whoami", "the name of the current user"), ("id", "with the user and group IDs")]


@rules("create|delete user", opt="add new group", avoid="group #path")
def manage_user(r, p):
    """Create or delete a user account."""
    user = r.name("user") or next(iter(r.free(1)), None)
    if not user:
        return None
    if r.has("delete"):
        return [(f"sudo userdel {q(user)}", f"delete the account {user} (its home is kept)")]
    if p.mac:
        return [(f"sudo sysadminctl -addUser {q(user)}", f"create the account {user}")]
    return [(f"sudo useradd -m {q(user)}", f"create the account {user} with a home directory"),
            (f"sudo passwd {q(user)}", "then set its password")]
