"""kubectl: pods, deployments, services, logs, exec, scaling, rollouts, contexts, namespaces."""

import re

from .intent import Rules
from .request import q

rules = Rules("kubectl")

_RESOURCES = (("pod", "pods"), ("deployment", "deployments"), ("service", "services"),
              ("node", "nodes"), ("namespace", "namespaces"), ("secret", "secrets"),
              ("event", "events"), ("ingress", "ingress"), ("configmap", "configmaps"),
              ("job", "jobs"), ("volume", "pv"), ("statefulset", "statefulsets"),
              ("daemonset", "daemonsets"), ("cronjob", "cronjobs"))


def namespace(r):
    """``-n NS`` (or ``-A`` for all namespaces) from the request, with a leading space."""
    name = r.name("namespace") or r.place()
    if name:
        return f" -n {q(name)}"
    if r.has("all") and r.has("namespace"):
        return " -A"
    return ""


def pod(r):
    """The pod the request names (``pod web-1``, ``the web-1 pod``, ``web-1``)."""
    return r.name("pod") or next(iter(r.free(1)), None)


@rules("pod|deployment|service|node|namespace|secret|event|ingress|configmap|job|statefulset|"
       "daemonset|cronjob", opt="all kubernetes run show find describe wide error not "
       "namespace last context count",
       avoid="docker container delete restart scale history exec shell forward apply "
       "rollout top memory cpu")
def get(r, p):
    """List pods, deployments, services, nodes, namespaces, events and more."""
    kind = next((plural for concept, plural in _RESOURCES if r.has(concept)
                 and not (concept == "namespace" and r.count("name"))), None)
    ns = namespace(r)
    local = kind in ("services", "jobs", "cronjobs") and not ns
    if kind is None or local and not r.has("kubernetes", "pod", "namespace"):
        return None
    if r.has("describe"):
        name = r.name(kind.rstrip("s")) or next(iter(r.free(1)), None)
        if name:
            return [(f"kubectl describe {kind.rstrip('s')} {q(name)}{ns}",
                     f"details and recent events of {kind.rstrip('s')} {name}")]
    if r.free_words:
        return None
    if kind == "pods" and (r.has("error", "not") or "running" in r.text.lower() and r.has("not")):
        return [(f"kubectl get pods{ns or ' -A'} --field-selector=status.phase!=Running",
                 "pods that are not running")]
    if kind == "events":
        return [(f"kubectl get events{ns} --sort-by=.lastTimestamp", "recent events, oldest first")]
    wide = " -o wide" if kind in ("pods", "nodes") else ""
    where = " in every namespace" if ns == " -A" else f" in namespace {ns[4:]}" if ns else ""
    return [(f"kubectl get {kind}{ns}{wide}", f"the {kind}{where}")]


@rules("history pod|deployment|kubernetes", opt="follow show last #number container kubernetes "
       "namespace #age", avoid="docker")
def logs(r, p):
    """A pod's (or deployment's) logs."""
    ns = namespace(r)
    target = r.name("deployment")
    target = f"deployment/{target}" if target else pod(r)
    if not target:
        return None
    args = []
    if r.has("follow"):
        args.append("-f")
    count = r.number()
    if count:
        args.append(f"--tail={count}")
    age = r.age()
    if age and age.kind == "within":
        args.append(f"--since={age.minutes}m")
    if "previous" in r.text.lower() or "crash" in r.text.lower():
        args.append("--previous")
    container = r.name("container")
    if container:
        args.append(f"-c {q(container)}")
    spaced = (" " + " ".join(args)) if args else ""
    return [(f"kubectl logs {q(target)}{spaced}{ns}", f"the logs of {target}"),
            (f"kubectl logs -f --tail=100 {q(target)}{ns}", "the last 100 lines, then follow")]


@rules("shell|run|login pod|kubernetes", opt="kubernetes namespace inside listen", avoid="docker")
def exec_shell(r, p):
    """A shell (or a command) inside a pod."""
    name = pod(r)
    if not name:
        return None
    ns = namespace(r)
    command = r.quoted()
    if command:
        return [(f"kubectl exec{ns} {q(name)} -- {command}", f"run {command!r} in {name}")]
    return [(f"kubectl exec -it{ns} {q(name)} -- sh", f"an interactive shell in {name}"),
            (f"kubectl exec -it{ns} {q(name)} -- bash", "the same with bash")]


@rules("scale", opt="deployment kubernetes #number namespace")
def scale(r, p):
    """Scale a deployment to N replicas."""
    name = r.name("deployment") or next(iter(r.free(1)), None)
    count = r.number()
    if not name or count is None:
        return None
    ns = namespace(r)
    return [(f"kubectl scale deployment {q(name)} --replicas={count}{ns}",
             f"run {count} replicas of {name}")]


@rules("restart|rollout|undo deployment|rollout|kubernetes", opt="kubernetes namespace describe "
       "last", avoid="docker container service")
def rollout(r, p):
    """Restart a deployment, watch its rollout, or roll it back."""
    name = r.name("deployment") or next(iter(r.free(1)), None)
    if not name:
        return None
    ns = namespace(r)
    target = f"deployment/{q(name)}"
    if r.has("undo"):
        return [(f"kubectl rollout undo {target}{ns}", f"roll {name} back to its previous version")]
    if r.has("describe") or r.has("rollout") and not r.has("restart"):
        return [(f"kubectl rollout status {target}{ns}",
                 f"wait for {name}'s rollout and report it")]
    return [(f"kubectl rollout restart {target}{ns}", f"restart every pod of {name}, one by one"),
            (f"kubectl rollout status {target}{ns}", "then watch the rollout")]


@rules("delete pod|deployment|namespace|service|job", opt="kubernetes force namespace",
       avoid="docker container image")
def delete(r, p):
    """Delete a pod (or another resource) by name."""
    for concept in ("pod", "deployment", "service", "job", "namespace"):
        name = r.name(concept)
        if name and r.has(concept):
            break
    else:
        concept = next(c for c in ("pod", "deployment", "service", "job", "namespace") if r.has(c))
        name = next(iter(r.free(1)), None)
    if not name or concept == "service" and not r.has("kubernetes"):
        return None
    ns = namespace(r)
    return [(f"kubectl delete {concept} {q(name)}{ns}", f"delete the {concept} {name}")]


@rules("apply|create yaml|#path|kubernetes", opt="kubernetes file namespace yaml",
       avoid="docker delete")
def apply(r, p):
    """Apply a manifest ("create" alone must name Kubernetes or a manifest: "create a backup
    of config.yaml" is not a kubectl request)."""
    if not r.has("apply", "kubernetes", "yaml"):
        return None
    path = r.file() or r.dir(None)
    if not path:
        return None
    r.ext()
    ns = namespace(r)
    return [(f"kubectl apply -f {q(path)}{ns}", f"create or update the resources in {path}"),
            (f"kubectl diff -f {q(path)}{ns}", "preview what would change")]


@rules("forward #port", opt="pod service deployment kubernetes namespace port", avoid="docker ssh")
def port_forward(r, p):
    """Forward a local port to a pod or service."""
    ports = r.ports()
    kind = "svc" if r.has("service") else "deployment" if r.has("deployment") else "pod"
    name = r.name({"svc": "service"}.get(kind, kind)) or next(iter(r.free(1)), None)
    if not name:
        return None
    local, remote = (ports + ports)[:2]
    ns = namespace(r)
    return [(f"kubectl port-forward {kind}/{q(name)} {local}:{remote}{ns}",
             f"localhost:{local} reaches port {remote} of {name}")]


@rules("context|namespace", opt="show current switch kubernetes all create configure default",
       avoid="pod deployment delete")
def contexts(r, p):
    """Show or switch the kubectl context or default namespace."""
    if r.has("namespace"):
        name = r.word_after("to")
        if name is None or name.lower() in ("namespace", "namespaces"):   # "to namespace x"
            name = r.name("namespace") or next(iter(r.free(1)), None)
        if name and _creates(r) and not r.has("switch", "configure", "default"):
            return [(f"kubectl create namespace {q(name)}", f"create the namespace {name}")]
        if name and r.has("switch", "configure", "create"):
            return [(f"kubectl config set-context --current --namespace={q(name)}",
                     f"make {name} the default namespace")]
        if not r.has("current"):
            return None
        return [("kubectl config view --minify -o jsonpath='{..namespace}'",
                 "the current namespace")]
    name = r.name("context") or next(iter(r.free(1)), None)
    if not name and r.has("switch"):
        name = r.word_after("to")
    if name:
        return [(f"kubectl config use-context {q(name)}", f"switch to the context {name}")]
    if r.has("current") or r.asks_which("context"):
        return [("kubectl config current-context", "the context kubectl uses now")]
    return [("kubectl config get-contexts", "every context; * marks the current one")]


def _creates(r):
    """True when the request asks to make something new (``create``, ``new``, ``make``, ``add``), not
    to set it (``set`` folds into the same concept)."""
    return bool(re.search(r"\b(?:create|new|make|add)\b", r.text.lower()))


@rules("memory|cpu|top|resource pod|node|kubernetes", opt="kubernetes show stat namespace all "
       "consume size", avoid="docker container")
def top(r, p):
    """CPU and memory use of pods or nodes."""
    if r.has("node"):
        return [("kubectl top nodes", "CPU and memory use of each node")]
    ns = namespace(r)
    sort = " --sort-by=memory" if r.has("memory") else " --sort-by=cpu" if r.has("cpu") else ""
    return [(f"kubectl top pods{ns}{sort}", "CPU and memory use of each pod")]


@rules("image deployment|pod", opt="kubernetes modify update #version switch",
       avoid="docker delete")
def set_image(r, p):
    """Change the image of a deployment."""
    name = r.name("deployment")
    image = r.name("image") or r.version()
    if not name or not image or not r.has("modify", "switch"):
        return None
    return [(f"kubectl set image deployment/{q(name)} {q(name)}={q(image)}",
             f"roll {name} to image {image} (container assumed to be named {name})")]
