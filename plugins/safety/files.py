"""Rules for deleting, overwriting, moving and re-permissioning files, and for disks."""

import posixpath
import re

from caro_core.risk import Finding
from caro_core.risk import RiskLevel as L

from . import rule
from .paths import (INTERPRETERS, classify_path, describe, is_auth_file, is_block_device,
                    is_history_file, options)


@rule("rm", "unlink", "rmdir")
def rm_rule(cmd):
    short, long_, targets = options(cmd.args)
    recursive = bool(short & {"r", "R"}) or "--recursive" in long_
    forced = "f" in short or "--force" in long_
    found = []
    if "--no-preserve-root" in long_:
        found.append(Finding(L.CRITICAL, "rm.no-preserve-root",
                             "rm --no-preserve-root disables the guard against deleting /"))
    if not targets and cmd.origin == "xargs":
        level = L.HIGH if recursive else L.MODERATE
        found.append(Finding(level, "rm.from-input", "deletes paths read from its input (xargs)"))
    what = "recursive forced delete" if recursive and forced else (
        "recursive delete" if recursive else "delete")
    for target in targets:
        kind = classify_path(target)
        if is_auth_file(target):
            found.append(Finding(L.CRITICAL, "rm.auth-file", f"deletes {target}, needed to log in"))
        elif is_history_file(target):
            found.append(Finding(L.HIGH, "history.wipe", f"deletes the shell history {target}"))
        elif kind in ("root", "system", "home") and (recursive or target.endswith("*")):
            found.append(Finding(L.CRITICAL, "rm.recursive-system", f"{what} of {describe(target)}"))
        elif kind == "system-file":
            found.append(Finding(L.HIGH, "rm.system-file", f"{what} of system path {target}"))
        elif recursive and target.startswith("$") and "/" in target:
            found.append(Finding(L.HIGH, "rm.unset-variable",
                                 f"{what} of {target}: if the variable is empty this deletes from /"))
        elif recursive and forced:
            found.append(Finding(L.HIGH, "rm.recursive-force", f"{what} of {target}"))
        else:
            found.append(Finding(L.MODERATE, "rm.delete", f"{what} of {target}"))
    return found


def written_paths(cmd):
    """``(path, how)`` for each file the command writes: truncate, append, edit or link."""
    paths = []
    for op, target in cmd.redirects:
        if ">" in op and not target.startswith("&"):
            paths.append((target, "append" if ">>" in op else "truncate"))
    short, long_, operands = options(cmd.args, with_value={"-s", "-S", "-e", "-f", "-t"})
    program = cmd.program
    if program == "tee":
        how = "append" if "a" in short or "--append" in long_ else "truncate"
        paths += [(p, how) for p in operands]
    elif program == "dd":
        paths += [(a[3:], "truncate") for a in cmd.args if a.startswith("of=")]
    elif program in ("cp", "mv", "install") and len(operands) >= 2:
        paths.append((operands[-1], "truncate"))
    elif program == "truncate":
        paths += [(p, "truncate") for p in operands]
    elif program == "ln" and len(operands) >= 2:
        paths.append((operands[-1], "link"))
    elif program == "sed" and ("i" in short or "--in-place" in long_):
        paths += [(p, "edit") for p in operands[1:]]
    return paths


@rule("*")
def write_rule(cmd):
    found = []
    for path, how in written_paths(cmd):
        if path.startswith(("/dev/tcp/", "/dev/udp/")):
            level = L.CRITICAL if cmd.program in INTERPRETERS else L.HIGH
            found.append(Finding(level, "net.dev-tcp",
                                 f"connects {cmd.program} to a network socket {path} "
                                 "(a reverse-shell pattern)"))
        elif is_block_device(path):
            found.append(Finding(L.CRITICAL, "device.overwrite",
                                 f"writes directly onto the block device {path}, "
                                 "destroying its filesystem"))
        elif is_auth_file(path):
            found.append(Finding(L.CRITICAL, "system.auth-write",
                                 f"writes to {path}, which controls logins and privileges"))
        elif is_history_file(path) and how in ("truncate", "link"):
            found.append(Finding(L.HIGH, "history.wipe", f"wipes the shell history {path}"))
        elif path.startswith(("/dev/", "/proc/", "/sys/")):
            if path.startswith(("/proc/sys/", "/sys/")) and how != "link":
                found.append(Finding(L.MODERATE, "system.kernel-setting",
                                     f"changes the kernel setting {path}"))
        elif classify_path(path) in ("root", "system", "system-file"):
            if how in ("truncate", "link"):
                found.append(Finding(L.HIGH, "system.overwrite", f"overwrites system file {path}"))
            else:
                found.append(Finding(L.MODERATE, "system.modify", f"modifies system file {path}"))
    for op, target in cmd.redirects:
        if "<" in op and target.startswith(("/dev/tcp/", "/dev/udp/")):
            level = L.CRITICAL if cmd.program in INTERPRETERS else L.HIGH
            found.append(Finding(level, "net.dev-tcp",
                                 f"reads {cmd.program}'s input from a network socket {target} "
                                 "(a reverse-shell pattern)"))
    return found


@rule("mv")
def mv_rule(cmd):
    _, _, operands = options(cmd.args, with_value={"-t", "-S"})
    found = []
    for source in operands[:-1]:
        if classify_path(source) in ("root", "system", "home"):
            found.append(Finding(L.CRITICAL, "fs.move-system", f"moves {describe(source)} away"))
        elif is_history_file(source):
            found.append(Finding(L.HIGH, "history.wipe", f"moves the shell history {source} away"))
    if len(operands) >= 2 and operands[-1] == "/dev/null":
        found.append(Finding(L.HIGH, "fs.move-to-null", "moves files onto /dev/null, destroying them"))
    return found


@rule("find")
def find_rule(cmd):
    args = cmd.args
    roots = []
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    deletes = "-delete" in args or any(
        c in ("rm", "shred", "unlink") for c in _exec_programs(args))
    if not deletes:
        return []
    worst = [r for r in roots if classify_path(r) in ("root", "system", "home")]
    if worst:
        return [Finding(L.CRITICAL, "fs.find-delete",
                        f"deletes the files find matches under {describe(worst[0])}")]
    return [Finding(L.HIGH, "fs.find-delete",
                    f"deletes every file find matches under {' '.join(roots) or '.'}")]


def _exec_programs(args):
    return [posixpath.basename(args[i + 1]) for i, a in enumerate(args[:-1])
            if a in ("-exec", "-execdir", "-ok", "-okdir")]


@rule("chmod")
def chmod_rule(cmd):
    short, long_, operands = options(cmd.args, with_value={"--reference"})
    if len(operands) < 2:
        return []
    mode, targets = operands[0], operands[1:]
    recursive = "R" in short or "--recursive" in long_
    kinds = {classify_path(t) for t in targets}
    found = []
    if recursive and kinds & {"root", "system", "home"}:
        found.append(Finding(L.CRITICAL, "perm.recursive-system",
                             f"recursively changes permissions of {describe(targets[0])}"))
    elif any(is_auth_file(t) for t in targets):
        found.append(Finding(L.CRITICAL, "perm.auth-file",
                             f"changes permissions of {targets[0]}, which guards logins"))
    elif "system-file" in kinds:
        found.append(Finding(L.HIGH, "perm.system-file",
                             f"changes permissions of system path {targets[0]}"))
    if re.fullmatch(r"0?[0-7]?[0-7][0-7][2367]", mode) or re.search(r"[ao]\+[rx]*w", mode):
        level = L.HIGH if recursive else L.MODERATE
        found.append(Finding(level, "perm.world-writable",
                             f"makes {targets[0]} writable by every user"))
    if re.fullmatch(r"0?[2467][0-7]{3}", mode) or re.search(r"\+[rwx]*s", mode):
        found.append(Finding(L.HIGH, "perm.setuid", f"sets the setuid/setgid bit on {targets[0]}"))
    return found


@rule("chown", "chgrp")
def chown_rule(cmd):
    short, long_, operands = options(cmd.args, with_value={"--reference"})
    recursive = "R" in short or "--recursive" in long_
    for target in operands[1:]:
        kind = classify_path(target)
        if recursive and kind in ("root", "system"):
            return [Finding(L.CRITICAL, "perm.chown-system",
                            f"recursively changes the owner of {describe(target)}")]
        if kind == "system-file" or is_auth_file(target):
            return [Finding(L.HIGH, "perm.chown-system", f"changes the owner of {target}")]
    return []


@rule("mkfs", "mke2fs", "mkswap", "mkntfs", "mkdosfs", "newfs", "wipefs", "blkdiscard")
def format_rule(cmd):
    _, _, operands = options(cmd.args, with_value={"-t", "-L", "-b", "-n", "-o"})
    devices = [d for d in operands if is_block_device(d)]
    if devices:
        return [Finding(L.CRITICAL, "disk.format",
                        f"{cmd.program} erases everything on {devices[0]}")]
    return [Finding(L.MODERATE, "disk.format", f"{cmd.program} formats {' '.join(operands)}")]


@rule("fdisk", "sfdisk", "gdisk", "sgdisk", "parted", "cfdisk")
def partition_rule(cmd):
    short, long_, operands = options(cmd.args)
    if "l" in short or "--list" in long_ or "p" in short and cmd.program == "sgdisk":
        return []
    devices = [d for d in operands if is_block_device(d)]
    if not devices:
        return []
    if cmd.program == "sgdisk" and ("Z" in short or "--zap-all" in long_):
        return [Finding(L.CRITICAL, "disk.format", f"destroys the partition table of {devices[0]}")]
    return [Finding(L.HIGH, "disk.partition", f"edits the partition table of {devices[0]}")]


@rule("shred")
def shred_rule(cmd):
    _, _, operands = options(cmd.args, with_value={"-n", "-s", "--iterations", "--size"})
    found = []
    for target in operands:
        if is_block_device(target):
            found.append(Finding(L.CRITICAL, "disk.format", f"shreds the block device {target}"))
        elif is_history_file(target):
            found.append(Finding(L.HIGH, "history.wipe", f"shreds the shell history {target}"))
        elif classify_path(target) != "other":
            found.append(Finding(L.HIGH, "rm.system-file", f"shreds system path {target}"))
        else:
            found.append(Finding(L.MODERATE, "fs.shred", f"irrecoverably destroys {target}"))
    return found
