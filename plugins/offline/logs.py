"""Logs: the system journal, a service's logs, kernel messages, boots, logins, log files."""

from .intent import Rules
from .request import q

rules = Rules("logs")


def _since(r):
    """``--since "2 hours ago"`` for journalctl (with a leading space), or ``""``."""
    age = r.age()
    return f" --since {q(age.since)}" if age and age.kind in ("within", "today", "yesterday",
                                                             "since") else ""


def _mac_last(r):
    age = r.age()
    if age and age.kind == "within":
        return f"{max(1, age.minutes // 60)}h" if age.minutes >= 60 else f"{age.minutes}m"
    return "1h"


@rules("history|syslog|error|message", opt="system show follow error last all #age #number",
       avoid="git commit "
       "docker container pod kubernetes #path service kernel boot login cron size delete "
       "deployment")
def system_logs(r, p):
    """The system journal: recent, followed, errors only, since a time."""
    if r.free_words or r.count("name") or r.has("ssh", "docker", "cron"):
        return None
    if not r.has("system", "syslog", "error", "follow", "last") and not r.count("age"):
        return None
    if p.mac:
        if r.has("follow"):
            return [("log stream", "system log messages as they arrive")]
        level = " --predicate 'messageType == error'" if r.has("error") else ""
        return [(f"log show{level} --last {_mac_last(r)}", "recent system log messages"),
                ("tail -f /var/log/system.log", "follow the classic system log")]
    priority = " -p err" if r.has("error") else ""
    if r.has("follow"):
        return [(f"journalctl -f{priority}", "system log messages as they arrive"),
                ("tail -f /var/log/syslog", "follow the classic syslog file")]
    since = _since(r)
    count = r.number()
    lines = f" -n {count}" if count else ""
    boot = " -b" if priority and not since else ""
    if since or lines or priority:
        return [(f"journalctl{priority}{boot}{since}{lines} --no-pager",
                 "system log messages" + (" of priority error or worse" if priority else ""))]
    return [("journalctl -e", "the system journal, starting at the end"),
            ("journalctl -n 100 --no-pager", "the last 100 messages")]


@rules("history|error", opt="show follow error last #age #number system service systemd ssh "
       "docker", avoid="git commit container pod kubernetes deployment #path image")
def service_logs(r, p):
    """The logs of one service (systemd unit)."""
    name = r.name("service") or next(iter(r.free(1)), None)
    if not name and r.has("ssh", "docker"):
        name = "ssh" if r.has("ssh") else "docker"
    if not name:
        return None
    if p.mac:
        return [(f"log show --predicate 'process == \"{name}\"' --last {_mac_last(r)}",
                 f"recent log messages of {name}")]
    args = ""
    if r.has("follow"):
        args += " -f"
    if r.has("error"):
        args += " -p err"
    count = r.number()
    if count:
        args += f" -n {count}"
    args += _since(r)
    if not args:
        args = " -e"
    return [(f"journalctl -u {q(name)}{args}", f"the logs of the {name} service"),
            (f"journalctl -u {q(name)} -f", "follow them")]


@rules("kernel", opt="history show error follow last message", avoid="version")
def kernel(r, p):
    """Kernel messages."""
    if p.mac:
        return [("sudo dmesg", "kernel messages")]
    if r.has("follow"):
        return [("sudo dmesg -wT", "kernel messages as they arrive, with times")]
    if r.has("error"):
        return [("sudo dmesg -T --level=err,warn", "kernel errors and warnings, with times")]
    return [("sudo dmesg -T", "kernel messages with readable times"), ("journalctl -k", "the same "
                                                                       "from the journal")]


@rules("boot", opt="show last all previous history error message", avoid="kernel")
def boot_logs(r, p):
    """Messages of the current (or previous) boot, or the list of boots."""
    if not p.mac and "boots" in r.text.lower():
        return [("journalctl --list-boots", "every boot the journal remembers")]
    if not r.has("history", "error", "message"):
        return None
    if p.mac:
        return [("log show --last boot", "messages since the last boot")]
    if r.has("previous") or r.has("last") and "crash" in r.text.lower():
        return [("journalctl -b -1", "messages of the previous boot")]
    if r.has("error"):
        return [("journalctl -b -p err", "errors since this boot")]
    return [("journalctl -b", "messages since this boot")]


@rules("login|ssh error|attempt", opt="show last all history #age count", avoid="#host "
       "#userhost key")
def failed_logins(r, p):
    """Failed login attempts."""
    if p.mac:
        return [("log show --predicate 'process == \"sshd\"' --last 1d | grep -i failed",
                 "failed SSH logins of the last day")]
    return [("journalctl -u ssh --since today | grep -i 'failed password'",
             "failed SSH password logins today"),
            ("sudo grep 'Failed password' /var/log/auth.log", "the same from auth.log"),
            ("sudo lastb", "every failed login recorded")]


@rules("login|user", opt="show all system #number last history #age", avoid="error attempt "
       "create delete group file git commit")
def logins(r, p):
    """Recent logins and who is logged in now."""
    count = r.number()
    if not r.has("login") or "am i" in r.text.lower():
        return None
    if not r.has("last", "history"):
        return [("who", "who is logged in now"), ("w", "and what they are doing")]
    limit = f" -n {count}" if count else ""
    return [(f"last{limit}", "recent logins and reboots"), ("who", "who is logged in now")]


@rules("history size|disk|delete|clean|old", opt="system all #age old delete entry message",
       avoid="docker "
       "#path git file")
def journal_space(r, p):
    """How much the journal uses, or delete old entries."""
    if p.mac:
        return None
    if r.has("delete", "old"):
        age = r.age()
        days = age.days if age and age.kind == "older" else 7
        return [(f"sudo journalctl --vacuum-time={days}d", f"delete journal entries older than "
                 f"{days} days")]
    return [("journalctl --disk-usage", "disk space used by the journal")]


@rules("error #path", opt="count show find all last", avoid="replace")
def errors_in_file(r, p):
    """Errors in a log file (or how many)."""
    path = r.file()
    if path is None:
        return None
    if r.has("count"):
        return [(f"grep -ci error {q(path)}", f"how many lines of {path} mention an error")]
    return [(f"grep -i error {q(path)}", f"lines of {path} that mention an error"),
            (f"grep -iE 'error|warn|fatal' {q(path)}", "errors, warnings and fatal messages")]


@rules("ip|top #path", opt="count show top history access request", avoid="replace")
def top_clients(r, p):
    """The busiest client addresses in a web server access log."""
    path = r.file()
    if path is None or not r.has("ip"):
        return None
    count = r.number("10")
    return [(f"awk '{{print $1}}' {q(path)} | sort | uniq -c | sort -rn | head -n {count}",
             f"the {count} addresses with the most requests in {path}")]


@rules("cron history|error", opt="show last follow")
def cron_logs(r, p):
    """What cron ran."""
    if p.mac:
        return [("log show --predicate 'process == \"cron\"' --last 1d", "cron's messages today")]
    return [("journalctl -u cron --since today", "what cron ran today"),
            ("grep CRON /var/log/syslog", "the same from syslog")]
