"""Layer 3 of skills: WASM modules in the sandbox (caro_core/wasm.py, plugin skill_wasm).

The modules are the WebAssembly text files in tests/wasm/, compiled here with
wasmtime.wat2wasm.  docs/skills_wasm.md is the ABI these tests hold Caro to.
"""

import json
import os
import runpy
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import wasmtime

from caro_core.audit import AuditLog
from caro_core.cmdparse import parse
from caro_core.generate import GenerateContext, KnowledgeSnippet
from caro_core.node import Node
from caro_core.risk import RiskLevel
from caro_core.skill_lock import write_lock
from caro_core.skills import Skill, SkillError, bundled_dir, skills_dir
from caro_core.wasm import FAULT_LIMIT, Grants, Limits, ModuleRejected, SkillModule
from caro_plugins.skill_wasm import caro_skill_plugins

WAT = Path(__file__).parent / "wasm"
FAULTS = ["ok", "spin", "hog", "trap", "big", "garbage"]


@pytest.fixture
def wasm(tmp_path):
    """Compile ``tests/wasm/<name>.wat``; returns the ``.wasm`` path."""
    def build(name):
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(wasmtime.wat2wasm((WAT / f"{name}.wat").read_text()))
        return path
    return build


@pytest.fixture
def audit(tmp_path):
    return AuditLog(tmp_path)


def audited(audit, event_type):
    return [(e["details"], e["success"]) for e in audit.entries() if e["event_type"] == event_type]


# -- capabilities ------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    """A granted folder with a JSON file, a secret outside it, and a link from inside to the secret."""
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "config.json").write_text('{"context": "dev"}')
    (tmp_path / "secret.json").write_text('{"key": "hunter2"}')
    (granted / "link.json").symlink_to(tmp_path / "secret.json")
    return tmp_path


def test_reading_a_file_without_the_grant_is_denied_and_audited(wasm, files, audit):
    module = SkillModule("custom.host", wasm("host"), ["read"], Grants(), audit)
    assert module.call("read", str(files / "granted" / "config.json")) == -1
    [(details, success)] = audited(audit, "CapabilityUsed")
    assert details == f"custom.host: filesystem_read {files / 'granted' / 'config.json'}: denied"
    assert success is False


def test_a_grant_allows_reading_under_its_prefix_only(wasm, files, audit):
    grants = Grants(filesystem_read=(str(files / "granted"),))
    module = SkillModule("custom.host", wasm("host"), ["read"], grants, audit)
    assert module.call("read", str(files / "granted" / "config.json")) == {"context": "dev"}
    assert module.call("read", str(files / "secret.json")) == -1
    assert module.call("read", str(files / "granted" / "link.json")) == -1      # link points outside
    assert module.call("read", str(files / "granted" / ".." / "secret.json")) == -1
    assert module.call("read", "granted/config.json") == -1                     # relative: never
    assert module.call("read", str(files / "granted" / "missing.json")) == -2
    assert [ok for _, ok in audited(audit, "CapabilityUsed")] == [True, False, False, False, False]


def test_a_file_over_the_io_limit_is_not_handed_over(wasm, files):
    module = SkillModule("custom.host", wasm("host"), ["read"],
                         Grants(filesystem_read=(str(files),)), limits=Limits(io=8))
    assert module.call("read", str(files / "granted" / "config.json")) == -3


def test_writing_only_under_a_granted_prefix(wasm, files, audit):
    grants = Grants(filesystem_write=(str(files / "cache"),))
    module = SkillModule("custom.host", wasm("host"), ["write"], grants, audit)
    assert module.call("write", str(files / "cache" / "state" / "out.json")) == 0
    assert json.loads((files / "cache" / "state" / "out.json").read_text()) == {"written": True}
    assert module.call("write", str(files / "granted" / "config.json")) == -1   # read grant only
    assert (files / "granted" / "config.json").read_text() == '{"context": "dev"}'
    (files / "cache" / "escape.json").symlink_to(files / "secret.json")
    assert module.call("write", str(files / "cache" / "escape.json")) == -1
    assert [d.split(": ", 1)[1] for d, _ in audited(audit, "CapabilityUsed")] == [
        f"filesystem_write {files / 'cache' / 'state' / 'out.json'} (16 bytes)",
        f"filesystem_write {files / 'granted' / 'config.json'}: denied",
        f"filesystem_write {files / 'cache' / 'escape.json'}: denied"]


@pytest.fixture
def pong_server():
    """A loopback server that answers one connection's request with JSON, then closes."""
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        connection, _ = server.accept()
        with connection:
            connection.settimeout(10)
            received.append(connection.makefile("rb").read())
            connection.sendall(b'{"pong": 1}')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    server.close()
    thread.join(timeout=10)


def test_network_only_to_granted_endpoints(wasm, audit, pong_server):
    port, received = pong_server
    module = SkillModule("custom.host", wasm("host"), ["ask"],
                         Grants(network=(f"127.0.0.1:{port}",)), audit)
    assert module.call("ask", f"127.0.0.1:{port}") == {"pong": 1}
    assert received == [b"PING\n"]
    assert module.call("ask", f"127.0.0.1:{port + 1}") == -1
    assert module.call("ask", f"localhost:{port}") == -1
    assert [ok for _, ok in audited(audit, "CapabilityUsed")] == [True, False, False]


def test_endpoint_grants_match_hosts_and_domains():
    grants = Grants(network=("db.corp.internal:5432", "*.svc.internal:443", "[::1]:8080"))
    assert grants.allows_endpoint("db.corp.internal", 5432)
    assert grants.allows_endpoint("DB.corp.internal", 5432)
    assert not grants.allows_endpoint("db.corp.internal", 5433)
    assert grants.allows_endpoint("api.svc.internal", 443)
    assert not grants.allows_endpoint("svc.internal.evil.example", 443)
    assert grants.allows_endpoint("::1", 8080)


def test_environment_variables_only_by_granted_name_or_prefix(wasm, audit, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", '"/etc/kube"')
    monkeypatch.setenv("AWS_REGION", '"eu-west-1"')
    monkeypatch.setenv("SECRET_TOKEN", '"t0ken"')
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    module = SkillModule("custom.host", wasm("host"), ["env"],
                         Grants(env_read=("KUBECONFIG", "AWS_*")), audit)
    assert module.call("env", "KUBECONFIG") == "/etc/kube"
    assert module.call("env", "AWS_REGION") == "eu-west-1"
    assert module.call("env", "AWS_PROFILE") == -2
    assert module.call("env", "SECRET_TOKEN") == -1
    assert audited(audit, "CapabilityUsed")[-1] == ("custom.host: env_read SECRET_TOKEN: denied",
                                                    False)


def test_grants_come_from_what_the_user_granted_not_what_the_manifest_asks():
    manifest = {"capabilities": {"filesystem_read": ["~/.kube"], "env_read": ["KUBECONFIG"],
                                 "network": ["10.0.0.5:443"]}}
    asked = Skill("custom.k", "1.0.0", Path("."), manifest, granted=frozenset())
    given = Skill("custom.k", "1.0.0", Path("."), manifest, granted=frozenset({"filesystem_read"}))
    assert Grants.for_skill(asked) == Grants()
    assert Grants.for_skill(given) == Grants(filesystem_read=("~/.kube",))


# -- what a module may import and must export --------------------------------------------------

def test_a_module_asking_for_a_socket_is_refused_at_load(wasm):
    with pytest.raises(ModuleRejected) as e:
        SkillModule("custom.net", wasm("socket"), ["caro_classify_risk"])
    assert str(e.value) == (
        f"{wasm('socket')}: imports 'wasi_snapshot_preview1.sock_open', which Caro does not provide "
        f"(a skill module may import only caro.log, caro.read_file, caro.write_file, caro.env_get, "
        f"caro.request)")


def test_a_module_must_export_the_hooks_its_manifest_declares(wasm, tmp_path):
    with pytest.raises(ModuleRejected, match="does not export the function 'caro_generate_explain'"):
        SkillModule("custom.flag", wasm("flag"), ["caro_classify_risk", "caro_generate_explain"])
    (tmp_path / "junk.wasm").write_bytes(b"\0asm\x01\0\0\0\x07\xff")
    with pytest.raises(ModuleRejected, match="junk.wasm: malformed WebAssembly module"):
        SkillModule("custom.junk", tmp_path / "junk.wasm", [])
    with pytest.raises(ModuleRejected, match="not a WebAssembly module"):
        SkillModule("custom.junk", WAT / "flag.wat", [])


# -- limits and faults -------------------------------------------------------------------------

@pytest.mark.parametrize("export, reason", [
    ("spin", "spin ran out of fuel (20000000 units)"),
    ("hog", "hog exceeded its memory limit (16 MiB)"),
    ("trap", "trap trapped: integer divide by zero"),
    ("big", "big answered 1073741824 bytes, over the 262144-byte limit"),
    ("garbage", "garbage answered with text that is not UTF-8 JSON"),
])
def test_a_faulting_call_is_reported_in_one_line_and_the_next_call_starts_clean(
        wasm, audit, capsys, export, reason):
    module = SkillModule("custom.faults", wasm("faults"), FAULTS, audit=audit)
    assert module.call(export, {}) is None
    assert module.call("ok", {}) == {"ok": True}
    line = f"skill 'custom.faults': {reason}; no answer"
    assert capsys.readouterr().err == f"caro: warning: {line}\n"
    assert audited(audit, "SkillRejected") == [(f"custom.faults: {reason}; no answer", False)]


def test_a_module_faulting_again_and_again_is_switched_off(wasm, capsys):
    module = SkillModule("custom.faults", wasm("faults"), FAULTS)
    for _ in range(FAULT_LIMIT):
        assert module.call("trap", {}) is None
    assert module.disabled
    assert module.call("ok", {}) is None
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"; no answer; switched off after {FAULT_LIMIT} faults in a row")


def test_only_a_module_that_reads_nothing_from_the_host_has_its_answers_remembered(wasm):
    assert SkillModule("custom.flag", wasm("flag"), ["caro_classify_risk"]).pure
    assert not SkillModule("custom.host", wasm("host"), ["read"]).pure
    module = SkillModule("custom.faults", wasm("faults"), FAULTS)
    assert module.call("ok", {"n": 1}) == {"ok": True}
    module.limits = Limits(fuel=1)                  # too little fuel to run again...
    assert module.call("ok", {"n": 1}) == {"ok": True}  # ...but this input is remembered


def test_a_manifest_asks_for_limits_within_the_ceilings(wasm, capsys):
    assert Limits.for_manifest({}) == Limits()
    assert Limits.for_manifest({"fuel": 1000, "memory_mb": 2}) == Limits(fuel=1000, memory=2 << 20)
    assert Limits.for_manifest({"fuel": 10**15, "memory_mb": 4096}) == Limits(
        fuel=10**9, memory=256 << 20)
    module = SkillModule("custom.faults", wasm("faults"), FAULTS, limits=Limits(memory=1 << 20))
    assert module.call("hog", {}) is None
    assert "hog exceeded its memory limit (1 MiB)" in capsys.readouterr().err


# -- through the plugin manager ----------------------------------------------------------------

def module_skill(tmp_path, wasm_path, exports, capabilities=None, granted=(), programs=None):
    """A skill object for one module in ``tmp_path``, as the loader would build it."""
    shutil.copy(wasm_path, tmp_path / "m.wasm")
    manifest = {"provides": {"executable": True},
                "executable": {"module": "m.wasm", "exports": exports},
                "capabilities": capabilities or {}}
    if programs is not None:
        manifest["executable"]["programs"] = programs
    return Skill("custom.mod", "1.0.0", tmp_path, manifest, granted=frozenset(granted))


def install(home, wasm_path, skill_id, exports):
    """Put a one-module skill into ``home`` as ``caro skills install`` leaves it."""
    directory = skills_dir(home) / skill_id
    directory.mkdir(parents=True)
    shutil.copy(wasm_path, directory / "module.wasm")
    (directory / "skill.toml").write_text(
        f'[skill]\nid = "{skill_id}"\nname = "Test"\nversion = "1.0.0"\n'
        f'description = "A test module"\napi_version = 1\n\n'
        f'[provides]\nexecutable = true\n\n'
        f'[executable]\nmodule = "module.wasm"\nexports = {json.dumps(exports)}\n')
    lock = {skill_id: {"version": "1.0.0", "source": str(wasm_path), "enabled": True,
                       "capabilities": []}}
    if (Path(home) / "skills.lock").exists():
        lock.update(json.loads((Path(home) / "skills.lock").read_text())["skills"])
    write_lock(home, lock)


def test_a_hook_call_through_the_node_returns_the_modules_answer(caro_home, wasm):
    install(caro_home, wasm("flag"), "custom.flag", ["caro_classify_risk"])
    node = Node.load(caro_home, environ={})
    findings = [f for batch in node.pm.hook.caro_classify_risk(command=parse("ls -l"))
                for f in batch]
    assert [(f.level, f.rule, f.reason) for f in findings] == [
        (RiskLevel.HIGH, "custom.flag.all", "flagged by the test module")]
    assert "skill:custom.flag:0" in {name for name, _ in node.pm.list_name_plugin()}


def test_a_module_importing_what_caro_lacks_is_skipped_and_others_load(caro_home, wasm, capsys):
    install(caro_home, wasm("socket"), "custom.net", ["caro_classify_risk"])
    install(caro_home, wasm("flag"), "custom.flag", ["caro_classify_risk"])
    node = Node.load(caro_home, environ={})
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "custom.net" in err and "'wasi_snapshot_preview1.sock_open'" in err
    assert {s.id: s.enabled for s in node.skills if not s.bundled} == {
        "custom.net": False, "custom.flag": True}
    assert node.pm.hook.caro_classify_risk(command=parse("ls"))


def test_a_looping_module_leaves_every_other_plugin_answering(caro_home, wasm, capsys):
    install(caro_home, wasm("loop"), "custom.loop", ["caro_classify_risk"])
    node = Node.load(caro_home, environ={})
    findings = [f for batch in node.pm.hook.caro_classify_risk(command=parse("rm -rf /"))
                for f in batch]
    assert max(f.level for f in findings) == RiskLevel.CRITICAL        # the built-in rules answered
    assert "skill 'custom.loop': caro_classify_risk ran out of fuel" in capsys.readouterr().err
    [(details, success)] = audited(node.audit, "SkillRejected")
    assert details.startswith("custom.loop: caro_classify_risk ran out of fuel")
    assert success is False


def test_an_export_that_is_not_a_module_hook_names_the_manifest_field(tmp_path):
    skill = Skill("custom.x", "1.0.0", tmp_path, {
        "provides": {"executable": True},
        "executable": {"module": "m.wasm", "exports": ["caro_shell_init"]}})
    with pytest.raises(SkillError, match=r"skill.toml: \[executable\] exports: caro_shell_init is "
                                         r"not a hook a module can implement"):
        caro_skill_plugins(skill)


def test_a_plugin_object_carries_only_the_hooks_its_module_exports(wasm, tmp_path):
    [plugin] = caro_skill_plugins(module_skill(tmp_path, wasm("flag"), ["caro_classify_risk"]))
    assert [name for name in dir(plugin) if name.startswith("caro_")] == ["caro_classify_risk"]


def test_generate_answers_become_candidates_snippets_and_explanations(wasm, tmp_path, audit):
    skill = module_skill(tmp_path, wasm("answers"),
                         ["caro_generate_commands", "caro_generate_context", "caro_generate_explain"],
                         {"terminal_exec": {"commands": ["kubectl"]}}, ["terminal_exec"])
    skill.audit = audit
    [plugin] = caro_skill_plugins(skill)
    [candidate] = plugin.caro_generate_commands("list pods", GenerateContext("linux", "offline"))
    assert (candidate.command, candidate.explanation, candidate.confidence, candidate.backend,
            candidate.source) == ("kubectl get pods", "list the pods", 0.7, "skill", "custom.mod")
    assert audited(audit, "CapabilityUsed") == [
        ("custom.mod: terminal_exec curl: denied (proposed by its module)", False)]
    assert plugin.caro_generate_context("pods") == [
        KnowledgeSnippet("custom.mod", "pods", "Pods are the smallest unit.", 70)]
    assert plugin.caro_generate_explain(parse("kubectl delete pods --all")) == [
        ("--all", "every object of the kind")]


def test_programs_choose_the_lines_a_module_is_called_for(wasm, tmp_path):
    [plugin] = caro_skill_plugins(module_skill(tmp_path, wasm("flag"), ["caro_classify_risk"],
                                               programs=["kubectl"]))
    calls = []
    call = plugin.module.call
    plugin.module.call = lambda *args: calls.append(args[0]) or call(*args)
    assert plugin.caro_classify_risk(parse("ls -l | grep kubectl")) == []
    assert calls == []                                       # not called at all
    for line in ("kubectl get pods", "sudo sh -c 'kubectl delete ns a'", "cd k && kubectl apply"):
        [finding] = plugin.caro_classify_risk(parse(line))
        assert finding.rule == "custom.flag.all", line
    assert len(calls) == 3


def test_programs_must_be_a_list_of_program_names(tmp_path):
    from caro_core.skill_manifest import validate_manifest

    manifest = {"skill": {"id": "custom.mod", "name": "M", "version": "1.0.0",
                          "description": "a module", "api_version": 1},
                "provides": {"executable": True},
                "executable": {"module": "m.wasm", "exports": ["caro_classify_risk"],
                               "programs": ["kubectl", "oc"]}}
    validate_manifest(manifest, tmp_path / "skill.toml")
    manifest["executable"]["programs"] = "kubectl"
    with pytest.raises(SkillError, match=r"skill.toml: executable.programs: "):
        validate_manifest(manifest, tmp_path / "skill.toml")


def test_a_module_without_programs_sees_every_line(wasm, tmp_path):
    [plugin] = caro_skill_plugins(module_skill(tmp_path, wasm("flag"), ["caro_classify_risk"]))
    assert [f.rule for f in plugin.caro_classify_risk(parse("ls -l"))] == ["custom.flag.all"]


def test_checking_an_unrelated_command_never_loads_wasmtime(caro_home):
    """The bundled kubernetes guard names kubectl in ``[executable] programs``."""
    code = ("import sys\n"
            "from caro_core.node import Node\n"
            "from caro_core.risk import assess\n"
            "node = Node.load()\n"
            "assess(node.pm, 'ls -l | sort', 'moderate')\n"
            "print('wasmtime' in sys.modules)\n"
            "assess(node.pm, 'kubectl delete ns prod', 'moderate')\n"
            "print('wasmtime' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CARO_HOME": str(caro_home)}, check=True).stdout
    assert out.split() == ["False", "True"]


def test_a_module_sees_secrets_redacted_unless_granted_secrets_access(wasm, tmp_path):
    line = parse("mysql -u root -phunter2 shop")
    hidden = module_skill(tmp_path, wasm("echo"), ["caro_classify_category"])
    hidden.redact = lambda text: text.replace("hunter2", "<redacted:password>")
    [plugin] = caro_skill_plugins(hidden)
    assert plugin.caro_classify_category(line) == "mysql -u root -p<redacted:password> shop"
    shown = module_skill(tmp_path, wasm("echo"), ["caro_classify_category"],
                         {"secrets_access": True}, ["secrets_access"])
    shown.redact = hidden.redact
    [plugin] = caro_skill_plugins(shown)
    assert plugin.caro_classify_category(line) == "mysql -u root -phunter2 shop"


# -- the bundled module ------------------------------------------------------------------------

KUBERNETES = bundled_dir() / "tool.kubernetes"


def test_the_bundled_guard_module_is_what_its_source_builds():
    build = runpy.run_path(str(KUBERNETES / "module" / "build.py"))
    assert build["build"]() == (KUBERNETES / "module" / "guard.wasm").read_bytes()


@pytest.mark.parametrize("command, rules", [
    ("kubectl delete namespace prod", ["tool.kubernetes.delete-namespace"]),
    ("sudo kubectl delete ns/staging", ["tool.kubernetes.delete-namespace"]),
    ("kubectl -n prod delete pods --all", ["tool.kubernetes.delete-all"]),
    ("kubectl delete deploy api -A; kubectl delete namespaces a",
     ["tool.kubernetes.delete-namespace", "tool.kubernetes.delete-all"]),
    ("kubectl get ns", []),
    ("kubectl delete pod api-1", []),
    ("kubectl delete nsx", []),
    ("echo kubectl delete namespace prod", []),
])
def test_the_kubernetes_guard_makes_namespace_and_all_deletes_critical(node, command, rules):
    found = [f for batch in node.pm.hook.caro_classify_risk(command=parse(command)) for f in batch
             if f.rule.startswith("tool.kubernetes.")]
    assert [f.rule for f in found] == rules
    assert all(f.level == RiskLevel.CRITICAL for f in found)


def test_caro_check_blocks_a_namespace_delete_in_the_default_mode(caro):
    report = json.loads(caro("check", "--json", "kubectl delete namespace payments").stdout)
    assert (report["risk"], report["blocked"]) == ("critical", True)
    assert "kubectl delete namespace removes the namespace and every object in it, with no undo" \
        in report["reasons"]
