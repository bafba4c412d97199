"""Disk and memory: free space, directory sizes, what uses the space, memory, CPU, system info."""

import re

from .intent import Rules
from .request import q

rules = Rules("disk")


@rules("disk|free size|free|df|usage", opt="show all df", avoid="memory dir docker large top swap")
def disk_free(r, p):
    """Free and used space on every mounted filesystem (or the one holding a path)."""
    path = r.path()
    if path:
        if not r.has("free"):
            return None
        return [(f"df -h {q(path)}", f"size, used and free space of the filesystem holding {path}")]
    pairs = [("df -h", "size, used and free space of every mounted filesystem")]
    if p.gnu and not p.mac:
        pairs.append(("df -hT -x tmpfs -x devtmpfs",
                      "the same with filesystem types, real disks only"))
    return pairs


@rules("large|top|size|consume dir|disk|size", opt="show sort first all recursive find size disk "
       "large", avoid="file memory cpu process docker")
def biggest_dirs(r, p):
    """Which directories use the most space."""
    where = r.dir()
    count = r.number("10")
    low = r.text.lower()
    most = re.search(r"\b(?:largest|biggest|most|heaviest|every|each)\b", low) \
        or r.has("top", "sort")
    if not most and not (r.has("consume") and re.search(r"\b(?:what|which)\b", low)):
        return None
    return [(f"du -h -d 1 {q(where)} 2>/dev/null | sort -rh | head -n {count}",
             f"the {count} largest directories directly under {where}"),
            (f"du -sh {q(where)}/* | sort -rh | head -n {count}" if where != "." else
             f"du -sh * | sort -rh | head -n {count}", "the largest entries, files included")]


@rules("size|large|disk #path|dir", opt="show dir file all disk total current consume",
       avoid="top sort free "
       "docker first")
def dir_size(r, p):
    """The total size of a directory or file."""
    where = r.path() or r.dir(".")
    return [(f"du -sh {q(where)}", f"the total size of {where}")]


@rules("memory", opt="free show size used all system consume stat",
       avoid="process top cpu docker pod")
def memory(r, p):
    """Used and free memory."""
    if p.mac:
        return [("vm_stat", "memory statistics in pages"),
                ("top -l 1 -s 0 | grep PhysMem", "used and unused physical memory")]
    return [("free -h", "total, used and available memory and swap"),
            ("cat /proc/meminfo", "every memory counter of the kernel")]


@rules("swap", opt="show memory size used free", avoid="#quoted")
def swap(r, p):
    """Swap space and its use."""
    if p.mac:
        return [("sysctl vm.swapusage", "swap size and use")]
    return [("swapon --show", "swap devices and their use"), ("free -h", "memory and swap")]


@rules("cpu", opt="show count describe all system", avoid="top process memory #port")
def cpu_info(r, p):
    """Number of CPU cores and the processor model."""
    if p.mac:
        return [("sysctl -n hw.ncpu", "the number of CPU cores"),
                ("sysctl -n machdep.cpu.brand_string", "the processor model")]
    if r.has("count"):
        return [("nproc", "the number of CPU cores available"), ("lscpu", "CPU details")]
    return [("lscpu", "processor model, cores, threads and caches"),
            ("nproc", "the number of cores")]


@rules("uptime|load|boot", opt="show system last time", avoid="history error kernel docker")
def uptime(r, p):
    """How long the system has been up and its load average."""
    if "boots" in r.text.lower():
        return None
    return [("uptime", "time since boot, users logged in and load averages")]


@rules("mount|disk|device", opt="show all list", avoid="free size large top #path docker")
def mounts(r, p):
    """Mounted filesystems and block devices."""
    if p.mac:
        return [("diskutil list", "disks and their partitions"), ("mount", "mounted filesystems")]
    if r.has("mount"):
        return [("findmnt", "mounted filesystems as a tree"), ("mount", "mounted filesystems")]
    return [("lsblk", "disks and partitions as a tree"), ("lsblk -f", "with filesystems and UUIDs")]


@rules("inode", opt="show disk free used all")
def inodes(r, p):
    """Inode use per filesystem."""
    return [("df -i", "used and free inodes of every filesystem")]


@rules("system|kernel|version", opt="show describe version run install",
       avoid="package git docker kubernetes "
       "#path history error message")
def system_info(r, p):
    """Operating system and kernel version."""
    asked = r.asks_which("(?:distro|os|system|linux)")
    if not r.has("version", "kernel", "describe") and not asked:
        return None
    if p.mac:
        return [("sw_vers", "the macOS version"), ("uname -a", "the kernel and architecture")]
    if r.has("kernel"):
        return [("uname -r", "the kernel release"), ("uname -a", "kernel, host and architecture")]
    return [("cat /etc/os-release", "the distribution and its version"),
            ("uname -a", "kernel, host and architecture")]
