"""Docker (or Podman): containers, images, logs, exec, run, build, compose, cleanup."""

from .intent import Rules
from .request import q

rules = Rules("docker")


def container(r):
    """The container the request names (``container web``, ``the web container``, ``web``)."""
    return r.name("container") or next(iter(r.free(1)), None)


@rules("container|docker", opt="show all run stop docker", avoid="log delete restart start kill "
       "create image volume network stat describe exec shell prune compose ip copy size build push "
       "pull kubernetes pod")
def list_containers(r, p):
    """Running (or all) containers."""
    tool = p.container_tool()
    if r.count("name") or r.free_words or not r.has("container", "show"):
        return None
    if r.has("stop") and "stopped" not in r.text.lower():
        return None
    if r.has("all", "stop"):
        return [(f"{tool} ps -a", "every container, stopped ones included")]
    return [(f"{tool} ps", "the running containers"), (f"{tool} ps -a", "every container, stopped "
                                                        "ones included")]


@rules("image", opt="docker show all", avoid="delete build pull push run prune size find "
       "kubernetes pod")
def list_images(r, p):
    """Local images."""
    if r.count("name") or r.free_words:
        return None
    return [(f"{p.container_tool()} images", "local images with their tags and sizes")]


@rules("stop|start|restart|kill container|docker", opt="all docker run",
       avoid="kubernetes pod service")
def lifecycle(r, p):
    """Stop, start, restart or kill a container (or every running one)."""
    tool = p.container_tool()
    verb = next(v for v in ("restart", "stop", "start", "kill") if r.has(v))
    name = container(r)
    if name:
        return [(f"{tool} {verb} {q(name)}", f"{verb} the container {name}")]
    if r.has("all") and verb in ("stop", "kill", "restart"):
        return [(f"{tool} {verb} $({tool} ps -q)", f"{verb} every running container")]
    if r.has("all") and verb == "start":
        return [(f"{tool} start $({tool} ps -aq)", "start every stopped container")]
    return None


@rules("delete container|docker", opt="all stop docker force", avoid="image kubernetes pod volume "
       "network")
def remove_container(r, p):
    """Remove a container (or every stopped one)."""
    tool = p.container_tool()
    name = container(r)
    if name:
        flag = "-f " if r.has("force") else ""
        return [(f"{tool} rm {flag}{q(name)}", f"remove the container {name}")]
    if r.has("all", "stop"):
        return [(f"{tool} container prune", "remove every stopped container")]
    return None


@rules("delete image", opt="docker all force prune", avoid="container kubernetes")
def remove_image(r, p):
    """Remove an image (or every dangling one)."""
    tool = p.container_tool()
    name = r.name("image") or next(iter(r.free(1)), None) or r.version()
    if name:
        return [(f"{tool} rmi {q(name)}", f"remove the image {name}")]
    return [(f"{tool} image prune", "remove dangling images"),
            (f"{tool} image prune -a", "remove every image no container uses")]


@rules("history container|docker", opt="follow show last #number docker all", avoid="kubernetes "
       "pod compose")
def logs(r, p):
    """A container's logs (followed, last N lines, since a time)."""
    tool = p.container_tool()
    name = container(r)
    if not name:
        return None
    args = []
    if r.has("follow"):
        args.append("-f")
    count = r.number()
    if count:
        args.append(f"--tail {count}")
    age = r.age()
    if age and age.kind == "within":
        args.append(f"--since {age.minutes}m")
    spaced = " ".join(args) + " " if args else ""
    return [(f"{tool} logs {spaced}{q(name)}", f"the logs of {name}"),
            (f"{tool} logs -f --tail 100 {q(name)}", "the last 100 lines, then follow")]


@rules("shell|exec|login|run container|docker", opt="docker inside listen",
       avoid="kubernetes pod image #port")
def exec_shell(r, p):
    """A shell (or a command) inside a running container."""
    tool = p.container_tool()
    name = container(r)
    if not name:
        return None
    command = r.quoted()
    if command:
        return [(f"{tool} exec {q(name)} {command}", f"run {command!r} inside {name}")]
    if not r.has("shell", "exec", "login"):
        return None
    return [(f"{tool} exec -it {q(name)} sh", f"an interactive shell inside {name}"),
            (f"{tool} exec -it {q(name)} bash", "the same with bash, when the image has it")]


@rules("run|start|create container|image|docker|#port|interactive", opt="docker background name "
       "port container image interactive", avoid="kubernetes pod stop delete log exec shell")
def run(r, p):
    """Start a new container from an image (detached, with ports and a name)."""
    tool = p.container_tool()
    image = r.name("image") or r.version()
    name = r.name("container")
    ports = r.ports()
    if not image:
        frees = r.free(1)
        image = frees[0] if frees else None
    if not image:
        return None
    args = ["-d"]
    inner = r.number() if len(ports) == 1 else None
    if inner:
        ports.append(inner)
    if len(ports) >= 2:
        args.append(f"-p {ports[0]}:{ports[1]}")
    elif ports:
        args.append(f"-p {ports[0]}:{ports[0]}")
    if name:
        args.append(f"--name {q(name)}")
    mapped = f", port {args[1][3:]} published" if ports else ""
    if r.has("interactive"):
        return [(f"{tool} run --rm -it {q(image)} sh", f"an interactive {image} container, removed "
                 "on exit")]
    return [(f"{tool} run {' '.join(args)} {q(image)}", f"start {image} in the background{mapped}"),
            (f"{tool} run --rm -it {q(image)} sh", f"a throw-away interactive {image} container")]


@rules("build image|docker", opt="docker tag file dir", avoid="kubernetes")
def build(r, p):
    """Build an image from a Dockerfile."""
    tool = p.container_tool()
    name = r.name("image") or r.name("tag") or next(iter(r.free(1)), None)
    where = r.dir()
    tag = f" -t {q(name)}" if name else ""
    return [(f"{tool} build{tag} {q(where)}", f"build the Dockerfile in {where}"
             + (f" as {name}" if name else ""))]


@rules("pull|download image|docker", opt="docker", avoid="git kubernetes")
def pull(r, p):
    """Download an image."""
    name = r.name("image") or next(iter(r.free(1)), None)
    if not name:
        return None
    return [(f"{p.container_tool()} pull {q(name)}", f"download the image {name}")]


@rules("prune|delete|clean docker|container|image|volume", opt="all stop image container volume "
       "network docker system", avoid="kubernetes #path")
def prune(r, p):
    """Free space: remove stopped containers, unused images, networks (and volumes)."""
    if not r.has("prune") and not (r.has("all") or r.has("docker") and not r.count("name")):
        return None
    if r.count("name") or r.free_words:
        return None
    tool = p.container_tool()
    if r.has("volume"):
        return [(f"{tool} volume prune", "remove volumes no container uses")]
    return [(f"{tool} system prune", "remove stopped containers, unused networks, dangling images"),
            (f"{tool} system prune -a --volumes", "also every unused image and volume")]


@rules("stat|size|disk|memory|cpu|resource docker|container", opt="show all resource")
def stats(r, p):
    """Resource use of containers, or Docker's disk use."""
    tool = p.container_tool()
    if r.has("disk") or "space" in r.text.lower():
        return [(f"{tool} system df", "disk space used by images, containers and volumes")]
    return [(f"{tool} stats --no-stream", "CPU, memory and I/O of each running container"),
            (f"{tool} stats", "the same, live")]


@rules("describe|ip container", opt="docker show", avoid="kubernetes pod")
def inspect(r, p):
    """Details (or the IP address) of a container."""
    tool = p.container_tool()
    name = container(r)
    if not name:
        return None
    if r.has("ip"):
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        return [(f"{tool} inspect -f '{fmt}' {q(name)}", f"the IP address of {name}")]
    return [(f"{tool} inspect {q(name)}", f"the full configuration and state of {name}")]


@rules("copy container", opt="file docker")
def copy(r, p):
    """Copy files between a container and the host."""
    tool = p.container_tool()
    name = container(r)
    paths = r.paths(("file", "any", "dir", "in"))
    if not name or not paths:
        return None
    inside = paths[0]
    there = paths[1] if len(paths) > 1 else "."
    if "from" in r.text.lower().split() or len(paths) == 1:
        return [(f"{tool} cp {q(name)}:{q(inside)} {q(there)}", f"copy {inside} out of {name}")]
    return [(f"{tool} cp {q(inside)} {q(name)}:{q(there)}", f"copy {inside} into {name}")]


@rules("compose", opt="start stop run show history follow build restart docker all background "
       "ping")
def compose(r, p):
    """Docker Compose: up, down, logs, ps."""
    if r.has("stop"):
        return [("docker compose down", "stop and remove the compose services")]
    if r.has("history"):
        return [("docker compose logs -f", "follow the logs of every service")]
    if r.has("restart"):
        return [("docker compose restart", "restart every service")]
    if r.has("show") and not r.has("start", "run"):
        return [("docker compose ps", "the state of every service")]
    build = " --build" if r.has("build") else ""
    return [(f"docker compose up -d{build}",
             "start every service of compose.yaml in the background"),
            ("docker compose up", "the same in the foreground, with logs")]


@rules("volume|network docker|container|volume", opt="show all docker create", avoid="delete prune "
       "kubernetes")
def volumes_networks(r, p):
    """List volumes or networks, or create a named one (a listing is no answer to "create")."""
    tool = p.container_tool()
    kind = "volume" if r.has("volume") else "network"
    if r.has("create"):
        name = r.name(kind) or next(iter(r.free(1)), None)
        if not name:
            return None
        return [(f"{tool} {kind} create {q(name)}", f"create the {kind} {name}")]
    return [(f"{tool} {kind} ls", f"every {kind}")]
