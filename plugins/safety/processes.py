"""Rules for scripts and shells, processes, the network, power, history and security controls."""

from caro_core.cmdparse import SHELLS, reads_script_from_stdin
from caro_core.risk import Finding
from caro_core.risk import RiskLevel as L

from . import line_rule, rule
from .paths import INTERPRETERS, options, via

HISTORY_VARS = frozenset({"HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST"})
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "http", "https", "aria2c", "lwp-request"})
DECODERS = frozenset({"base64", "base32", "xxd", "openssl", "gunzip", "zcat", "rev", "uudecode"})
NETCAT = frozenset({"nc", "ncat", "netcat", "socat", "telnet"})
SECURITY_SERVICES = frozenset({"firewalld", "ufw", "iptables", "ip6tables", "nftables",
                               "apparmor", "auditd", "fail2ban", "selinux"})

@line_rule
def fork_bomb_rule(parsed):
    if parsed.fork_bomb:
        return [Finding(L.CRITICAL, "proc.fork-bomb",
                        "fork bomb: a function that spawns itself until the system stalls")]
    return []


@line_rule
def pipe_into_shell_rule(parsed):
    found = []
    for stages in parsed.pipelines:
        programs = [s.program for s in stages]
        for i, stage in enumerate(stages[1:], start=1):
            if not _reads_code_from_stdin(stage):
                continue
            sources = set(programs[:i])
            if sources & DOWNLOADERS:
                level = L.CRITICAL if stage.elevated else L.HIGH
                source = sorted(sources & DOWNLOADERS)[0]
                found.append(Finding(level, "shell.remote-script",
                                     f"pipes a script downloaded by {source} into "
                                     f"{stage.program}{via(stage)} (remote code execution)"))
            elif sources & DECODERS:
                found.append(Finding(L.HIGH, "shell.obfuscated",
                                     f"pipes decoded text into {stage.program}: the commands "
                                     "that run are hidden"))
            elif not sources <= {"echo", "printf"}:
                found.append(Finding(L.MODERATE, "shell.piped-script",
                                     f"runs whatever {programs[i - 1]} prints as a "
                                     f"{stage.program} script"))
        if any(p in SHELLS for p in programs) and any(p in NETCAT for p in programs):
            found.append(Finding(L.CRITICAL, "net.reverse-shell",
                                 "connects a shell to the network through a pipe (reverse shell)"))
    return found


def _reads_code_from_stdin(cmd):
    if cmd.program in SHELLS:
        return reads_script_from_stdin(cmd)
    if cmd.program in INTERPRETERS and cmd.pipeline_position > 0:
        operands = [a for a in cmd.args if not a.startswith("-")]
        return not operands and "-c" not in cmd.args and "-e" not in cmd.args
    return False


@rule(*INTERPRETERS, "eval", "source", ".")
def substituted_script_rule(cmd):
    sources = {s.program for s in cmd.substitutions} & DOWNLOADERS
    if not sources:
        return []
    level = L.CRITICAL if cmd.elevated else L.HIGH
    return [Finding(level, "shell.remote-script",
                    f"{cmd.program} runs a script downloaded by {sorted(sources)[0]} "
                    "(remote code execution)")]


@rule("*")
def dynamic_program_rule(cmd):
    if "$" in cmd.program or "`" in cmd.program:
        return [Finding(L.MODERATE, "exec.dynamic",
                        f"runs a program whose name is computed at run time ({cmd.program})")]
    return []


@rule("*")
def elevated_rule(cmd):
    if cmd.elevated and (cmd.origin == "top" or cmd.program in ("sudo", "doas", "su")):
        how = cmd.wrappers[0] if cmd.wrappers else cmd.program
        return [Finding(L.MODERATE, "priv.elevated", f"runs with root privileges ({how})")]
    return []


@rule("nc", "ncat", "netcat")
def netcat_rule(cmd):
    short, long_, _ = options(cmd.args, with_value={"-p", "-s", "-w", "-i"})
    if short & {"e", "c"} or long_ & {"--exec", "--sh-exec", "--lua-exec"}:
        return [Finding(L.CRITICAL, "net.reverse-shell",
                        f"{cmd.program} hands a program to the network (-e/-c: a reverse shell)")]
    return []


@rule("socat")
def socat_rule(cmd):
    if any(a.lower().startswith(("exec:", "system:")) for a in cmd.args):
        return [Finding(L.CRITICAL, "net.reverse-shell",
                        "socat connects a program to a socket (exec:/system:, a reverse shell)")]
    return []


@rule("python", "python2", "python3", "perl", "ruby", "php")
def script_socket_rule(cmd):
    for i, arg in enumerate(cmd.args[:-1]):
        if arg in ("-c", "-e", "-r"):
            code = cmd.args[i + 1]
            if "socket" in code.lower() and any(
                    w in code for w in ("subprocess", "pty", "/bin/sh", "/bin/bash", "dup2", "exec")):
                return [Finding(L.CRITICAL, "net.reverse-shell",
                                f"{cmd.program} code connects a shell to a socket (reverse shell)")]
    return []


@rule("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl")
def power_rule(cmd):
    if cmd.program == "systemctl":
        verbs = [a for a in cmd.args if not a.startswith("-")]
        if not verbs or verbs[0] not in ("poweroff", "reboot", "halt", "kexec", "suspend",
                                         "hibernate", "rescue", "emergency"):
            return []
    elif cmd.program in ("init", "telinit"):
        if not cmd.args or cmd.args[0] not in ("0", "6", "1", "s", "S"):
            return []
    elif cmd.program == "shutdown" and "-c" in cmd.args:
        return []
    return [Finding(L.HIGH, "power.shutdown", f"{' '.join(cmd.argv[:2])} stops or restarts the machine")]


@rule("kill", "pkill", "killall5")
def kill_rule(cmd):
    if cmd.program == "killall5":
        return [Finding(L.HIGH, "proc.kill-all", "killall5 signals every process")]
    if cmd.program == "pkill":
        return []
    args = list(cmd.args)
    if args and args[0] in ("-s", "-n"):
        args = args[2:]
    elif args and args[0].startswith("-") and args[0] != "--":
        args = args[1:]
    if "-1" in args:
        return [Finding(L.HIGH, "proc.kill-all", "kill -1 signals every process you can reach")]
    if "1" in args:
        return [Finding(L.HIGH, "proc.kill-init", "signals PID 1 (init), which can halt the system")]
    return []


@rule("crontab")
def crontab_rule(cmd):
    short, _, _ = options(cmd.args, with_value={"-u"})
    if "r" in short:
        level = L.MODERATE if "i" in short else L.HIGH
        return [Finding(level, "cron.remove-all", "crontab -r removes all your cron jobs")]
    return []


# -- history and security controls ----------------------------------------------

@rule("*")
def history_rule(cmd):
    found = []
    settings = list(cmd.assignments)
    if cmd.program in ("export", "declare", "typeset", "local", "readonly"):
        settings += cmd.args
    for setting in settings:
        name, _, value = setting.partition("=")
        if name in HISTORY_VARS and (value in ("", "0", "/dev/null") or name == "HISTFILE"):
            found.append(Finding(L.HIGH, "history.wipe",
                                 f"{setting} stops the shell from keeping history"))
    if cmd.program == "unset" and HISTORY_VARS & set(cmd.args):
        found.append(Finding(L.HIGH, "history.wipe", "unset HISTFILE stops the shell keeping history"))
    if cmd.program == "history":
        short, _, _ = options(cmd.args)
        if "c" in short or "w" in short and "/dev/null" in cmd.args:
            found.append(Finding(L.HIGH, "history.wipe", "history -c clears the shell history"))
    if cmd.program == "set" and "+o" in cmd.args and "history" in cmd.args:
        found.append(Finding(L.HIGH, "history.wipe", "set +o history stops recording history"))
    return found


@rule("ufw", "iptables", "ip6tables", "nft", "setenforce", "aa-teardown", "systemctl", "service")
def security_rule(cmd):
    args, program = list(cmd.args), cmd.program
    off = None
    if program == "ufw" and args[:1] in (["disable"], ["reset"]):
        off = f"ufw {args[0]} turns the firewall off"
    elif program in ("iptables", "ip6tables") and ({"-F", "--flush"} & set(args)):
        off = f"{program} -F flushes every firewall rule"
    elif program in ("iptables", "ip6tables") and "-P" in args and "ACCEPT" in args:
        off = f"{program} -P … ACCEPT opens the firewall's default policy"
    elif program == "nft" and args[:2] == ["flush", "ruleset"]:
        off = "nft flush ruleset removes every firewall rule"
    elif program == "setenforce" and args[:1] in (["0"], ["Permissive"], ["permissive"]):
        off = "setenforce 0 switches SELinux enforcement off"
    elif program == "aa-teardown":
        off = "aa-teardown unloads every AppArmor profile"
    elif program in ("systemctl", "service"):
        return _service_rule(cmd)
    return [Finding(L.HIGH, "security.disable", off)] if off else []


def _service_rule(cmd):
    words = [a for a in cmd.args if not a.startswith("-")]
    if cmd.program == "service":
        words = words[1:2] + words[:1]
    if len(words) < 2 or words[0] not in ("stop", "disable", "mask", "kill"):
        return []
    units = {u.removesuffix(".service") for u in words[1:]}
    if units & SECURITY_SERVICES:
        return [Finding(L.HIGH, "security.disable",
                        f"{words[0]} {sorted(units & SECURITY_SERVICES)[0]} turns a security "
                        "service off")]
    return [Finding(L.MODERATE, "system.service-stop", f"{words[0]}s {' '.join(sorted(units))}")]


@rule("apt", "apt-get", "dnf", "yum", "zypper", "pacman", "snap", "brew")
def package_remove_rule(cmd):
    verbs = {"remove", "purge", "autoremove", "erase", "uninstall", "-R", "-Rs", "-Rns", "rm"}
    if verbs & set(cmd.args[:2]):
        return [Finding(L.MODERATE, "pkg.remove", f"{cmd.program} removes installed packages")]
    return []


@rule("userdel", "deluser")
def userdel_rule(cmd):
    level = L.HIGH if {"-r", "--remove", "--remove-home"} & set(cmd.args) else L.MODERATE
    return [Finding(level, "system.user-delete", f"{cmd.program} deletes a user account")]
