"""Processes, ports and services: list, find, kill, what listens on a port, systemctl."""

from .intent import Rules
from .request import q
from .words import concept

rules = Rules("processes")

_NOT_HERE = "container pod docker kubernetes"


def port_owner(p, port):
    """Commands that show the process listening on ``port``, best for the platform first."""
    lsof = (f"lsof -nP -iTCP:{port} -sTCP:LISTEN", f"the process listening on TCP port {port}")
    if p.mac:
        return [lsof, (f"lsof -i :{port}", f"every process with a connection on port {port}")]
    pairs = [(f"ss -ltnp 'sport = :{port}'", f"the process listening on TCP port {port}"),
             (f"lsof -i :{port}", f"every process with a connection on port {port}")]
    if not p.has("ss") and p.has("netstat"):
        pairs[0] = (f"netstat -tlnp | grep ':{port} '", f"what listens on port {port}")
    return pairs


@rules("process|run", opt="show all user sort", avoid="memory cpu top port kill stop tree "
       "background service " + _NOT_HERE)
def list_processes(r, p):
    """Every running process (of a user when one is named)."""
    user = r.name("user", announced=False)
    if (r.free_words or r.count("name")) and not user:
        return None
    if not r.has("show", "run", "all") and "processes" not in r.text.lower():
        return None
    if user:
        return [(f"ps -u {q(user)} -o pid,user,%cpu,%mem,command", f"the processes of {user}")]
    return [("ps aux", "every running process with its owner, CPU and memory use"),
            ("top", "a live view of the busiest processes")]


@rules("memory|cpu top|process|consume|sort|large", opt="show run sort first use consume",
       avoid="port kill stop " + _NOT_HERE)
def top_processes(r, p):
    """The processes using the most memory or CPU."""
    count = r.number("10")
    memory = r.has("memory")
    key = "memory" if memory else "CPU"
    if p.gnu and not p.mac:
        order = "-%mem" if memory else "-%cpu"
        return [(f"ps aux --sort={order} | head -n {int(count) + 1}",
                 f"the {count} processes using the most {key}"),
                ("top -o %MEM" if memory else "top", f"a live view sorted by {key}")]
    flag = "-m" if memory else "-r"
    return [(f"ps aux {flag} | head -n {int(count) + 1}",
             f"the {count} processes using the most {key}"),
            (f"top -o {'mem' if memory else 'cpu'}", f"a live view sorted by {key}")]


@rules("process|run|find", opt="show all find", avoid="kill stop port start restart service "
       "install " + _NOT_HERE)
def find_process(r, p):
    """Whether a program is running, with its PIDs."""
    names = r.free(1) or [n for n in [r.quoted(), r.name("")] if n]
    if not names:
        return None
    name = names[0]
    grep_form = f"[{name[0]}]{name[1:]}"
    flag = "-fl" if p.mac else "-a"
    return [(f"pgrep {flag} {q(name)}", f"running processes whose name is {name}, with their PIDs"),
            (f"ps aux | grep -i {q(grep_form)}", f"every process line mentioning {name}")]


@rules("kill|stop|free|end", opt="process all force run #port",
       avoid="service container pod docker "
       "kubernetes git")
def kill(r, p):
    """Kill a process by PID, by name or by the port it listens on."""
    signal = "-9 " if r.has("force") else ""
    port = r.port()
    if r.has("free") and not port:
        return None
    if port:
        if p.mac or not p.has("fuser"):
            return [(f"kill {signal}$(lsof -t -i :{port})", f"kill the process using port {port}")]
        return [(f"fuser -k {port}/tcp", f"kill the process using TCP port {port}"),
                (f"kill {signal}$(lsof -t -i :{port})", "the same with lsof")]
    pid = r.number()
    if pid:
        how = "forcefully (SIGKILL)" if signal else "politely (SIGTERM)"
        return [(f"kill {signal}{pid}", f"stop process {pid} {how}")]
    names = r.free(1) or [n for n in [r.word_after("kill", "killall", "pkill")]
                          if n and concept(n.lower()) != "process"]
    if not names or not r.has("kill", "process"):
        return None
    return [(f"pkill {signal}{q(names[0])}", f"kill every process named {names[0]}"),
            (f"killall {signal}{q(names[0])}", "the same with killall")]


@rules("#port", opt="show find process listen run consume kill", avoid="docker container pod "
       "kubernetes forward ssh expose")
def port_user(r, p):
    """Which process listens on a port."""
    port = r.port()
    if r.has("kill"):
        return None
    return port_owner(p, port)


@rules("listen|port", opt="show all open process tcp udp", avoid="#port kill " + _NOT_HERE)
def listening_ports(r, p):
    """Every port something listens on, with the process."""
    if p.mac:
        return [("lsof -nP -iTCP -sTCP:LISTEN", "every listening TCP port with its process"),
                ("netstat -an | grep LISTEN", "listening sockets (without the process)")]
    pairs = [("ss -tulpn", "every listening TCP and UDP port with its process")]
    if p.found("netstat"):
        pairs.append(("netstat -tulpn", "the same with netstat"))
    pairs.append(("lsof -nP -iTCP -sTCP:LISTEN", "listening TCP ports, with lsof"))
    return pairs


@rules("process tree", opt="show all")
def process_tree(r, p):
    """Processes as a tree of parents and children."""
    if p.mac:
        return [("pstree", "the process tree")] if p.found("pstree") else \
            [("ps -ej", "processes with their parent IDs")]
    return [("pstree -p", "the process tree with PIDs"), ("ps -ef --forest", "the same with ps")]


@rules("run background #path", opt="process")
def background(r, p):
    """Run a script in the background, surviving logout, its output in a log file."""
    script = r.file()
    if script is None:
        return None
    run = script if "/" in script else f"./{script}"
    stem = script.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return [(f"nohup {q(run)} > {q(stem + '.log')} 2>&1 &",
             f"run {script} in the background; output goes to {stem}.log")]


@rules("file|content #number", opt="show process open")
def open_files(r, p):
    """Files a process has open."""
    if not r.has("process", "open"):
        return None
    pid = r.number()
    return [(f"lsof -p {pid}", f"files and sockets process {pid} has open")]


@rules("start|stop|restart|enable|disable|describe|run", opt="service systemd show boot docker ssh "
       "cron", avoid="container pod kubernetes process #path kill image compose")
def service(r, p):
    """Start, stop, restart, enable or inspect a system service."""
    name = r.name("service") or next(iter(r.free(1)), None)
    if not name and r.has("docker", "ssh", "cron"):
        name = next(t for t in ("docker", "ssh", "cron") if r.has(t))
    if not name:
        return None
    if r.has("enable") and r.has("start"):
        return [(f"sudo systemctl enable --now {q(name)}", f"start {name} now and at every boot")]
    when = r.schedule()
    if when and when.special == "@reboot" and not p.mac:
        return [(f"sudo systemctl enable {q(name)}", f"start {name} at every boot")]
    for verb in ("restart", "stop", "start", "enable", "disable"):
        if r.has(verb):
            break
    else:
        verb = "status"
    if p.mac:
        if verb == "status":
            return [(f"brew services info {q(name)}", f"the state of the {name} service"),
                    (f"launchctl list | grep -i {q(name)}", "its launchd job")]
        action = {"enable": "start", "disable": "stop"}.get(verb, verb)
        return [(f"brew services {action} {q(name)}", f"{action} the {name} service (Homebrew)")]
    if verb == "status":
        return [(f"systemctl status {q(name)}", f"the state and latest log lines of {name}")]
    if verb == "enable" and r.schedule():
        return [(f"sudo systemctl enable {q(name)}", f"start {name} at every boot")]
    if verb == "enable" and r.has("start"):
        return [(f"sudo systemctl enable --now {q(name)}", f"start {name} now and at every boot")]
    what = {"enable": f"start {name} at every boot", "disable": f"no longer start {name} at boot"}
    return [(f"sudo systemctl {verb} {q(name)}", what.get(verb, f"{verb} the {name} service"))]


@rules("service", opt="show all run error", avoid="container pod docker kubernetes")
def list_services(r, p):
    """Running (or failed) services."""
    if r.free_words or r.count("name"):
        return None
    if p.mac:
        return [("brew services list", "services managed by Homebrew"),
                ("launchctl list", "every launchd job")]
    if r.has("error"):
        return [("systemctl --failed", "services that failed")]
    return [("systemctl list-units --type=service --state=running", "the services running now"),
            ("systemctl list-unit-files --type=service",
             "every service and whether it starts at boot")]
