"""Skills core: loading enabled skills as plugins, knowledge, categories, guardrails, load errors.

Skills are real folders installed into the test's CARO_HOME; the node is
built with ``Node.load`` as ``caro`` builds it.
"""

import json
import shutil

import pytest

from caro_core import hookimpl
from caro_core.errors import CaroError
from caro_core.node import Node
from caro_core.risk import RiskLevel, assess
from caro_core.skill_install import install
from caro_core.skill_manifest import satisfies, validate_dir
from caro_core.skills import FetchResult, SkillError, bundled_dir

MANIFEST = """\
[skill]
id = "{id}"
name = "Terraform"
version = "{version}"
description = "Terraform from the terminal"
api_version = 1
keywords = ["terraform"]
{extra_skill}
[provides]
knowledge = true

[knowledge]
topics = ["workflow"]
priority = 70

[categories]
infra = ["terraform", "tofu"]

[[guardrails.rules]]
id = "destroy"
level = "high"
reason = "terraform destroy deletes infrastructure"
program = "terraform"
subcommand = ["destroy"]

[[guardrails.rules]]
id = "auto-approve"
level = "critical"
reason = "applies without a review"
program = "terraform"
subcommand = ["apply"]
options = ["-auto-approve"]
{extra}
"""

WORKFLOW = """\
# Workflow

Always run terraform plan with -out before applying, and review the plan.

## State

Never edit the state file by hand; use terraform state mv to move resources.
"""


def make_skill(parent, skill_id="custom.terraform", version="1.0.0", extra="", extra_skill=""):
    folder = parent / skill_id
    (folder / "knowledge").mkdir(parents=True)
    (folder / "skill.toml").write_text(MANIFEST.format(id=skill_id, version=version, extra=extra,
                                                       extra_skill=extra_skill))
    (folder / "knowledge" / "workflow.md").write_text(WORKFLOW)
    return folder


def no_bundled(home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[skills]\nbundled = false\n")


@pytest.fixture
def home(caro_home):
    no_bundled(caro_home)
    return caro_home


def load(home):
    return Node.load(home, environ={})


def test_installed_skill_becomes_plugins_answering_context(home, tmp_path):
    install(load(home), str(make_skill(tmp_path)))
    node = load(home)
    assert [s.id for s in node.skills] == ["custom.terraform"]
    names = [name for name, _ in node.pm.list_name_plugin() if name.startswith("skill:")]
    assert names == ["skill:custom.terraform:0", "skill:custom.terraform:1"]

    snippets = [s for found in node.pm.hook.caro_generate_context(
        request="how do I move a resource in terraform state") for s in found]
    assert snippets[0].source == "custom.terraform"
    assert snippets[0].topic == "workflow"
    assert snippets[0].text.startswith("State")
    assert snippets[0].priority == 70
    assert [s for found in node.pm.hook.caro_generate_context(request="bake a cake")
            for s in found] == []


def test_categories_and_guardrails_answer_the_classifier(home, tmp_path):
    install(load(home), str(make_skill(tmp_path)))
    pm = load(home).pm
    destroy = assess(pm, "cd infra && terraform destroy")
    assert destroy.category == "infra"
    assert destroy.risk == RiskLevel.HIGH
    assert "terraform destroy deletes infrastructure" in destroy.reasons
    assert any(f.rule == "custom.terraform.destroy" for f in destroy.findings)
    assert assess(pm, "terraform apply -auto-approve").risk == RiskLevel.CRITICAL
    assert assess(pm, "terraform plan").risk == RiskLevel.SAFE
    quoted = assess(pm, "echo 'terraform destroy'")
    assert quoted.risk == RiskLevel.SAFE and quoted.category != "infra"
    assert assess(pm, "git status").category == "git"   # the built-in still answers the rest


def test_disabled_skill_is_not_registered(home, tmp_path):
    from caro_core.skill_install import set_enabled

    node = load(home)
    install(node, str(make_skill(tmp_path)))
    set_enabled(node, "custom.terraform", False)
    node = load(home)
    assert [s.enabled for s in node.skills] == [False]
    assert not [n for n, _ in node.pm.list_name_plugin() if n.startswith("skill:")]
    assert assess(node.pm, "terraform destroy").category == "other:terraform"


def test_manifest_broken_after_install_skips_that_skill_only(home, tmp_path, capsys):
    node = load(home)
    install(node, str(make_skill(tmp_path)))
    install(node, str(make_skill(tmp_path, "custom.other")))
    installed = home / "skills" / "custom.other" / "skill.toml"
    installed.write_text(installed.read_text().replace("api_version = 1",
                                                       "api_version = 1\nshoe_size = 44"))
    capsys.readouterr()
    node = load(home)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(installed) in err[0] and "skill.shoe_size: unknown field" in err[0]
    assert [s.id for s in node.skills] == ["custom.terraform"]
    assert assess(node.pm, "terraform destroy").risk == RiskLevel.HIGH


def test_unreadable_lockfile_is_one_warning_not_a_crash(home, capsys):
    (home / "skills.lock").write_text("{not json")
    node = load(home)
    assert node.skills == []
    assert "skills.lock" in capsys.readouterr().err


def test_dependency_must_be_installed_and_enabled(home, tmp_path, capsys):
    from caro_core.skill_install import set_enabled

    node = load(home)
    dependent = make_skill(tmp_path, "custom.needs", extra_skill="",
                           extra='[dependencies]\n"custom.terraform" = ">=1.0, <2"\n')
    with pytest.raises(SkillError, match=r"dependencies\.custom\.terraform: needs skill"):
        install(node, str(dependent))
    install(node, str(make_skill(tmp_path / "v1", version="1.5.0")))
    install(node, str(dependent))
    with pytest.raises(SkillError, match="custom.needs depend"):
        set_enabled(node, "custom.terraform", False)
    assert {s.id for s in load(home).skills if s.enabled} == {"custom.terraform", "custom.needs"}


def test_min_caro_version_and_platform_are_checked(home, tmp_path):
    node = load(home)
    future = make_skill(tmp_path / "a", extra_skill='min_caro_version = "99.0.0"')
    with pytest.raises(SkillError, match=r"skill.min_caro_version: needs Caro 99.0.0"):
        install(node, str(future))
    elsewhere = make_skill(tmp_path / "b", extra='[platform]\nos = ["windows"]\n')
    with pytest.raises(SkillError, match=r"platform.os: runs on windows"):
        install(node, str(elsewhere))


@pytest.mark.parametrize("version, spec, ok", [
    ("1.2.3", "*", True), ("1.2.3", ">=1.2", True), ("1.2.3", ">=1.2, <1.2.3", False),
    ("1.9.0", "^1.2", True), ("2.0.0", "^1.2", False), ("0.3.1", "^0.3", True),
    ("0.4.0", "^0.3", False), ("1.2.9", "~1.2", True), ("1.3.0", "~1.2", False),
    ("1.0.0", "1.0.0", True), ("1.0.0", "!=1.0.0", False),
])
def test_version_specs(version, spec, ok):
    assert satisfies(version, spec) is ok


def test_every_bundled_skill_validates():
    folders = [p for p in bundled_dir().iterdir() if (p / "skill.toml").exists()]
    for folder in folders:
        skill = validate_dir(folder)
        assert skill.id == folder.name


def test_bundled_skills_are_enabled_by_default_and_can_be_hidden(caro_home):
    folders = sorted(p.name for p in bundled_dir().iterdir() if (p / "skill.toml").exists())
    if not folders:
        pytest.skip("no bundled skills in this checkout yet")
    node = Node.load(caro_home, environ={})
    bundled = {s.id: s for s in node.skills if s.bundled}
    assert sorted(bundled) == folders
    assert all(s.enabled for s in bundled.values())
    for skill in bundled.values():  # declared terminal commands are granted, nothing else
        assert skill.granted <= {"terminal_exec"}
    no_bundled(caro_home)
    assert Node.load(caro_home, environ={}).skills == []


def test_lockfile_records_what_was_installed(home, tmp_path):
    install(load(home), str(make_skill(tmp_path)))
    entry = json.loads((home / "skills.lock").read_text())["skills"]["custom.terraform"]
    assert entry["version"] == "1.0.0"
    assert entry["kind"] == "path" and entry["ref"] == str((tmp_path / "custom.terraform"))
    assert entry["integrity"].startswith("blake3:") and len(entry["integrity"]) == 71
    assert sorted(entry["files"]) == ["knowledge/workflow.md", "skill.toml"]
    assert entry["capabilities"] == [] and entry["enabled"] is True


def test_knowledge_speaks_only_when_the_request_names_its_subject(home, tmp_path):
    install(load(home), str(make_skill(tmp_path)))
    pm = load(home).pm
    about = [s for found in pm.hook.caro_generate_context(
        request="never edit the state file by hand") for s in found]
    assert about == []
    named = [s for found in pm.hook.caro_generate_context(
        request="terraform: never edit the state file by hand?") for s in found]
    assert [s.topic for s in named][:1] == ["workflow"]


class FakeRegistry:
    """Answers ``oci://`` sources from folders, as the OCI source plugin does from a registry."""

    def __init__(self, folders):
        self.folders = folders
        self.asked = []

    @hookimpl(tryfirst=True)
    def caro_skill_fetch(self, source, dest):
        if not source.startswith("oci://"):
            return None
        self.asked.append(source)
        if source not in self.folders:
            raise CaroError(f"{source}: manifest unknown (HTTP 404)")
        shutil.copytree(self.folders[source], dest, dirs_exist_ok=True)
        return FetchResult("oci-registry", "sha256:" + "ab" * 32)


def test_install_by_id_tries_each_configured_registry_in_order(caro_home, tmp_path):
    caro_home.mkdir(parents=True)
    (caro_home / "config.toml").write_text(
        '[skills]\nbundled = false\nsources = ["10.0.0.1:5000", "oci://10.0.0.2:5000/team/"]\n')
    registry = FakeRegistry({
        "oci://10.0.0.2:5000/team/custom.terraform:1.0.0": make_skill(tmp_path / "a"),
        "oci://10.0.0.1:5000/skills/custom.other:latest": make_skill(tmp_path / "b"),
    })
    node = Node.load(caro_home, environ={}, extra_plugins=[("fake-registry", registry)])
    [done] = install(node, "custom.terraform@1.0.0")
    assert registry.asked == ["oci://10.0.0.1:5000/skills/custom.terraform:1.0.0",
                              "oci://10.0.0.2:5000/team/custom.terraform:1.0.0"]
    assert (done.id, done.kind) == ("custom.terraform", "oci-registry")
    entry = json.loads((caro_home / "skills.lock").read_text())["skills"]["custom.terraform"]
    assert entry["source"] == "custom.terraform@1.0.0" and entry["ref"] == "sha256:" + "ab" * 32

    with pytest.raises(SkillError, match="returned custom.terraform, not custom.other"):
        install(node, "custom.other")
    with pytest.raises(SkillError, match=r"from any \[skills\] source: .*HTTP 404.*HTTP 404"):
        install(node, "custom.missing")


def test_loaded_skills_get_the_nodes_audit_and_redaction(home, tmp_path):
    install(load(home), str(make_skill(tmp_path)))
    [skill] = load(home).skills
    assert skill.redact("curl -H 'Authorization: Bearer abc.def.ghi' x") == \
        "curl -H 'Authorization: Bearer <redacted:bearer-token>' x"
    skill.audit.append("CapabilityUsed", details="test", success=False)
    last = json.loads((home / "audit.log").read_text().splitlines()[-1])
    assert (last["event_type"], last["details"], last["success"]) == ("CapabilityUsed", "test",
                                                                     False)
