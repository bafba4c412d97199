"""Rules for developer and operations tools: git, Kubernetes, containers,
infrastructure as code and database clients (whose SQL payload is read as SQL).
"""

import re

from caro_core.risk import Finding
from caro_core.risk import RiskLevel as L

from . import line_rule, rule
from .paths import classify_path, options

_GIT_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                             "--exec-path", "--config-env"})


def _subcommand(args, with_value):
    """``(subcommand, its args)`` after the tool's global options."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in with_value else 1
    return (args[i], list(args[i + 1:])) if i < len(args) else (None, [])


@rule("git")
def git_rule(cmd):
    sub, args = _subcommand(cmd.args, _GIT_WITH_VALUE)
    short, long_, operands = options(args, with_value={"-m", "-o", "-e", "--repo"})
    if sub == "push":
        if long_ & {"--force", "--mirror"} or "f" in short or any(o.startswith("+") for o in operands):
            return [Finding(L.HIGH, "git.force-push",
                            "git push --force overwrites the remote history")]
        if long_ & {"--force-with-lease", "--force-if-includes"}:
            return [Finding(L.MODERATE, "git.force-with-lease",
                            "git push --force-with-lease rewrites the remote branch (guarded)")]
        if "--delete" in long_ or "d" in short or any(o.startswith(":") for o in operands):
            return [Finding(L.MODERATE, "git.delete-remote", "deletes a remote branch or tag")]
    elif sub == "reset" and "--hard" in long_:
        return [Finding(L.HIGH, "git.reset-hard",
                        "git reset --hard discards uncommitted changes for good")]
    elif sub == "clean" and ("f" in short or "--force" in long_) and "n" not in short:
        if short & {"d", "x", "X"}:
            return [Finding(L.HIGH, "git.clean",
                            "git clean deletes untracked (and ignored) files and directories")]
        return [Finding(L.MODERATE, "git.clean", "git clean -f deletes untracked files")]
    elif sub in ("checkout", "restore") and ("." in operands or "--" in args or "f" in short) \
            and "--staged" not in long_:
        return [Finding(L.MODERATE, "git.discard", f"git {sub} discards local changes")]
    elif sub == "branch" and ("D" in short or "--delete" in long_ and "f" in short):
        return [Finding(L.MODERATE, "git.branch-delete", "force-deletes a branch")]
    elif sub == "stash" and operands[:1] in (["clear"], ["drop"]):
        return [Finding(L.MODERATE, "git.stash-drop", f"git stash {operands[0]} drops stashed work")]
    elif sub in ("filter-branch", "filter-repo"):
        return [Finding(L.HIGH, "git.rewrite-history", f"git {sub} rewrites the whole history")]
    return []


_KUBECTL_WITH_VALUE = frozenset(
    "-n --namespace --context --kubeconfig --cluster --user -l --selector -o --output -f "
    "--filename -c --container -s --server --token --as --field-selector --grace-period "
    "--timeout".split())
_KUBE_WIDE = frozenset("node nodes no pv persistentvolume persistentvolumes crd crds "
                       "customresourcedefinition customresourcedefinitions clusterrole "
                       "clusterrolebinding".split())


@rule("kubectl", "oc")
def kubectl_rule(cmd):
    args, operands, i = cmd.args, [], 0
    while i < len(args):
        if args[i] in _KUBECTL_WITH_VALUE:
            i += 2
            continue
        if not args[i].startswith("-"):
            operands.append(args[i])
        i += 1
    if not operands or operands[0] != "delete":
        return [Finding(L.MODERATE, "k8s.drain", f"{operands[0]} evicts workloads from a node")] \
            if operands[:1] in (["drain"], ["cordon"]) else []
    kind = operands[1].split("/")[0].lower() if len(operands) > 1 else ""
    if kind in ("namespace", "namespaces", "ns"):
        name = " ".join(operands[2:]) or "(all selected)"
        return [Finding(L.HIGH, "k8s.delete-namespace",
                        f"deletes namespace {name} and everything in it")]
    if {"--all", "-A", "--all-namespaces"} & set(args):
        return [Finding(L.HIGH, "k8s.delete-all", "deletes every matching resource (--all)")]
    if kind in _KUBE_WIDE:
        return [Finding(L.HIGH, "k8s.delete-cluster-wide", f"deletes cluster-wide {kind}")]
    return [Finding(L.MODERATE, "k8s.delete", f"deletes Kubernetes {kind or 'resources'}")]


@rule("helm")
def helm_rule(cmd):
    if list(cmd.args[:1]) in (["uninstall"], ["delete"], ["del"]):
        return [Finding(L.MODERATE, "k8s.helm-uninstall", "uninstalls a Helm release")]
    return []


@rule("docker", "podman", "nerdctl")
def docker_rule(cmd):
    sub, args = _subcommand(cmd.args, {"-H", "--host", "--context", "--config", "-c"})
    short, long_, operands = options(args, with_value={"-v", "--volume", "-e", "--name", "-p"})
    if sub == "system" and operands[:1] == ["prune"] or sub == "volume" and operands[:1] == ["prune"]:
        if "a" in short or long_ & {"--all", "--volumes"} or sub == "volume":
            return [Finding(L.HIGH, "docker.prune-all",
                            f"{cmd.program} {sub} prune deletes all unused images/volumes and their data")]
        return [Finding(L.MODERATE, "docker.prune", f"{cmd.program} system prune deletes stopped "
                                                    "containers and dangling images")]
    if sub in ("container", "image", "network", "builder") and operands[:1] == ["prune"]:
        if sub == "image" and ("a" in short or "--all" in long_):
            return [Finding(L.HIGH, "docker.prune-all",
                            f"{cmd.program} image prune --all deletes every image no container uses")]
        return [Finding(L.MODERATE, "docker.prune",
                        f"{cmd.program} {sub} prune deletes every unused {sub} at once")]
    if sub in ("run", "create"):
        found = []
        for i, arg in enumerate(args[:-1]):
            if arg in ("-v", "--volume") and classify_path(args[i + 1].split(":")[0]) in (
                    "root", "system"):
                found.append(Finding(L.HIGH, "docker.host-mount",
                                     f"mounts the host's {args[i + 1].split(':')[0]} into a container"))
        if "--privileged" in long_:
            found.append(Finding(L.MODERATE, "docker.privileged",
                                 "runs a privileged container with full access to the host"))
        return found
    return []


@rule("terraform", "tofu", "pulumi")
def infrastructure_rule(cmd):
    sub, args = _subcommand(cmd.args, {"-chdir"})
    if sub == "destroy" or sub == "apply" and "-destroy" in args:
        return [Finding(L.HIGH, "infra.destroy", f"{cmd.program} destroys managed infrastructure")]
    if sub in ("apply", "up") and {"-auto-approve", "--yes", "-y"} & set(args):
        return [Finding(L.MODERATE, "infra.auto-approve",
                        f"{cmd.program} {sub} changes infrastructure without a review step")]
    return []


_SQL_PAYLOAD_OPTIONS = {"mysql": ("-e", "--execute"), "mariadb": ("-e", "--execute"),
                        "psql": ("-c", "--command"), "mongo": ("--eval",),
                        "mongosh": ("--eval",), "clickhouse-client": ("-q", "--query")}


@rule("mysql", "mariadb", "psql", "mongo", "mongosh", "clickhouse-client", "sqlite3")
def sql_client_rule(cmd):
    return sql_findings(sql_payloads(cmd), cmd.program)


def sql_payloads(cmd):
    """The SQL text a database client is given on its command line."""
    args = cmd.args
    if cmd.program == "sqlite3":
        operands = [a for a in args if not a.startswith("-")]
        return operands[1:]
    flags = _SQL_PAYLOAD_OPTIONS[cmd.program]
    payloads = []
    for i, arg in enumerate(args):
        if arg in flags and i + 1 < len(args):
            payloads.append(args[i + 1])
        elif arg.startswith("--") and arg.split("=", 1)[0] in flags:
            payloads.append(arg.split("=", 1)[1])
        elif len(flags[0]) == 2 and arg.startswith(flags[0]) and len(arg) > 2 and cmd.program != "psql":
            payloads.append(arg[2:])
    return payloads


def sql_findings(payloads, program):
    """Findings for destructive SQL statements in ``payloads`` (tokenised as SQL)."""
    found = []
    for payload in payloads:
        for statement in payload.split(";"):
            words = re.findall(r"[A-Za-z_]+", statement.upper())
            if "DROPDATABASE" in statement.replace(" ", "").upper() or words[:2] in (
                    ["DROP", "DATABASE"], ["DROP", "SCHEMA"]):
                found.append(Finding(L.CRITICAL, "db.drop-database",
                                     f"{program} drops a whole database"))
            elif words[:2] == ["DROP", "TABLE"] or words[:1] == ["TRUNCATE"]:
                found.append(Finding(L.HIGH, "db.drop-table",
                                     f"{program} {' '.join(words[:2]).lower()} deletes a table's data"))
            elif words[:2] == ["DELETE", "FROM"] and "WHERE" not in words:
                found.append(Finding(L.HIGH, "db.delete-all",
                                     f"{program} DELETE without WHERE empties a table"))
            elif words[:1] == ["UPDATE"] and "WHERE" not in words:
                found.append(Finding(L.MODERATE, "db.update-all",
                                     f"{program} UPDATE without WHERE changes every row"))
    return found


@rule("redis-cli")
def redis_rule(cmd):
    if {"FLUSHALL", "FLUSHDB"} & {a.upper() for a in cmd.args}:
        return [Finding(L.HIGH, "db.flush", "redis FLUSHALL/FLUSHDB deletes every key")]
    return []


@line_rule
def piped_sql_rule(parsed):
    """``echo 'DROP DATABASE x' | mysql`` runs the echoed text as SQL."""
    found = []
    for stages in parsed.pipelines:
        for src, dst in zip(stages, stages[1:]):
            if src.program in ("echo", "printf") and dst.program in _SQL_PAYLOAD_OPTIONS.keys() | {
                    "sqlite3"}:
                found += sql_findings([" ".join(src.args)], dst.program)
    return found
