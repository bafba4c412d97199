"""The first-party skills bundled in ``caro_skills`` (skills/): valid, loaded, and doing their job.

Every recipe has a sample request here; the test checks that the request
triggers that recipe above every other bundled one, fills its parameters, and
that every program its steps run is one the skill's ``terminal_exec`` allows.
"""

import re

import pytest

from caro_core.cmdparse import parse, programs_of
from caro_core.generate import GenerateContext
from caro_core.node import Node
from caro_core.risk import RiskLevel
from caro_core.skill_manifest import validate_dir
from caro_core.skill_recipe import load_recipes
from caro_core.skills import bundled_dir, make_skill, read_manifest
from caro_plugins.skill_recipes import confidence

SKILLS = ["cloud.aws", "lang.python", "lang.rust", "tool.docker", "tool.git", "tool.kubernetes"]

#: recipe -> (a request people type, parameter values it must give)
SAMPLES = {
    # tool.git
    "tool.git/undo-last-commit": ("undo the last commit but keep my changes", {"count": 1}),
    "tool.git/discard-last-commit": ("throw away the last commit", {}),
    "tool.git/revert-commit": ("revert commit 3f2a9c1", {"commit": "3f2a9c1"}),
    "tool.git/amend-message": ('change the last commit message to "Fix login redirect"',
                               {"message": "Fix login redirect"}),
    "tool.git/discard-file-changes": ("discard changes to src/app.py", {"file": "src/app.py"}),
    "tool.git/stash": ("stash my changes", {}),
    "tool.git/new-branch": ("create a branch called feature/login", {"branch": "feature/login"}),
    "tool.git/clean-merged-branches": ("delete branches merged into develop", {"base": "develop"}),
    "tool.git/delete-remote-branch": ("delete remote branch old-feature",
                                      {"branch": "old-feature", "remote": "origin"}),
    "tool.git/rebase-on-base": ("rebase onto main", {"base": "main"}),
    "tool.git/find-string-commit": ('which commit introduced "API_TOKEN"', {"text": "API_TOKEN"}),
    "tool.git/blame-line": ("who changed line 42 of src/main.rs",
                            {"line": 42, "file": "src/main.rs"}),
    "tool.git/squash-last": ("squash the last 3 commits", {"count": 3}),
    "tool.git/graph": ("show the branch graph", {}),
    # tool.kubernetes
    "tool.kubernetes/pod-logs-namespace": ("show logs of api-7d9f in namespace payments",
                                           {"pod": "api-7d9f", "namespace": "payments", "lines": 200}),
    "tool.kubernetes/pod-logs": ("show the last 50 logs of pod web-1",
                                 {"pod": "web-1", "lines": 50}),
    "tool.kubernetes/crashed-logs": ("why is api-7d9f crashing", {"pod": "api-7d9f"}),
    "tool.kubernetes/shell": ("open a shell in api-7d9f with bash",
                              {"pod": "api-7d9f", "shell": "bash"}),
    "tool.kubernetes/port-forward": ("forward port 8080 to svc/web",
                                     {"port": 8080, "target": "svc/web"}),
    "tool.kubernetes/failing-pods": ("list failing pods", {}),
    "tool.kubernetes/events": ("show recent events in the cluster", {}),
    "tool.kubernetes/contexts": ("which cluster am i on", {}),
    "tool.kubernetes/restart-namespace": ("restart deployment api in payments",
                                          {"deployment": "api", "namespace": "payments"}),
    "tool.kubernetes/restart": ("restart deployment api", {"deployment": "api"}),
    "tool.kubernetes/scale-namespace": ("scale api in payments to 5",
                                        {"deployment": "api", "namespace": "payments", "replicas": 5}),
    "tool.kubernetes/scale": ("scale api to 3", {"deployment": "api", "replicas": 3}),
    "tool.kubernetes/rollback": ("roll back api", {"deployment": "api"}),
    "tool.kubernetes/set-namespace": ("switch to namespace staging", {"namespace": "staging"}),
    "tool.kubernetes/use-context": ("switch to context prod-eu", {"context": "prod-eu"}),
    # tool.docker
    "tool.docker/container-logs": ("show the last 100 logs of container web",
                                   {"container": "web", "lines": 100}),
    "tool.docker/container-shell": ("open a shell in the postgres container",
                                    {"container": "postgres", "shell": "sh"}),
    "tool.docker/copy-out": ("copy /var/log/app.log from container web",
                             {"path": "/var/log/app.log", "container": "web"}),
    "tool.docker/stop-all": ("stop all containers", {}),
    "tool.docker/running": ("which containers are running", {}),
    "tool.docker/compose-logs": ("follow logs of service api", {"service": "api"}),
    "tool.docker/rebuild-no-cache-tag": ("rebuild myapp:dev without cache",
                                         {"tag": "myapp:dev", "context": "."}),
    "tool.docker/rebuild-no-cache": ("rebuild the docker image without cache", {}),
    "tool.docker/compose-rebuild": ("rebuild the compose services", {}),
    "tool.docker/prune": ("clean up docker, it is using too much disk", {}),
    "tool.docker/prune-images": ("remove unused images", {}),
    "tool.docker/disk-usage": ("how much space does docker use", {}),
    # cloud.aws
    "cloud.aws/whoami": ("which aws account am i using", {}),
    "cloud.aws/sso-login": ("aws sso login with profile prod-admin", {"profile": "prod-admin"}),
    "cloud.aws/tail-logs": ("tail cloudwatch logs of /aws/lambda/billing since 30m",
                            {"group": "/aws/lambda/billing", "since": "30m"}),
    "cloud.aws/list-buckets": ("list my s3 buckets", {}),
    "cloud.aws/list-objects": ("list objects in bucket team-logs", {"bucket": "team-logs"}),
    "cloud.aws/list-objects-uri": ("list objects in s3://team-logs/2026/11/",
                                   {"uri": "s3://team-logs/2026/11/"}),
    "cloud.aws/download": ("download s3://team-logs/app.log", {"uri": "s3://team-logs/app.log"}),
    "cloud.aws/upload": ("upload report.pdf to s3://team-docs/reports/",
                         {"file": "report.pdf", "uri": "s3://team-docs/reports/"}),
    "cloud.aws/sync": ("sync ./site to s3://team-web/",
                       {"folder": "./site", "uri": "s3://team-web/"}),
    "cloud.aws/presign": ("make a download link for s3://team-docs/q3.pdf valid for 2 hours",
                          {"uri": "s3://team-docs/q3.pdf", "hours": 2}),
    "cloud.aws/instances-by-tag": ("list ec2 instances with tag Env=prod",
                                   {"key": "Env", "value": "prod"}),
    "cloud.aws/instances-by-name": ("find instance named bastion", {"name": "bastion"}),
    "cloud.aws/running-instances": ("list running ec2 instances", {}),
    "cloud.aws/stop-instance": ("stop instance i-0abc123def4567890",
                                {"instance": "i-0abc123def4567890"}),
    "cloud.aws/start-instance": ("start instance i-0abc123def4567890",
                                 {"instance": "i-0abc123def4567890"}),
    "cloud.aws/ssm-shell": ("connect to instance i-0abc123def4567890",
                            {"instance": "i-0abc123def4567890"}),
    # lang.python
    "lang.python/create-venv": ("create a virtual environment", {"folder": ".venv"}),
    "lang.python/install-requirements": ("install requirements from requirements-dev.txt",
                                         {"file": "requirements-dev.txt"}),
    "lang.python/freeze": ("pip freeze to requirements.lock", {"file": "requirements.lock"}),
    "lang.python/outdated": ("which packages are outdated", {}),
    "lang.python/upgrade-package": ("upgrade requests with pip", {"package": "requests"}),
    "lang.python/upgrade-pip": ("upgrade pip", {}),
    "lang.python/test-coverage": ("run the tests with coverage of src", {"source": "src"}),
    "lang.python/run-test": ("run the test test_login", {"name": "test_login"}),
    "lang.python/rerun-failures": ("rerun failed tests", {}),
    "lang.python/profile": ("profile train.py", {"script": "train.py", "sort": "cumulative"}),
    "lang.python/serve-folder": ("serve this folder on port 8080", {"port": 8080}),
    "lang.python/editable-install": ("install this project in editable mode", {}),
    # lang.rust
    "lang.rust/new-binary": ("create a rust project called ledger", {"name": "ledger"}),
    "lang.rust/new-library": ("create a rust library called parser", {"name": "parser"}),
    "lang.rust/build-release": ("build a release binary", {}),
    "lang.rust/build-static": ("build a static linux binary for aarch64", {"arch": "aarch64"}),
    "lang.rust/test": ("run the rust tests", {}),
    "lang.rust/test-named": ("cargo test parse_header", {"name": "parse_header"}),
    "lang.rust/clippy": ("run clippy", {}),
    "lang.rust/clippy-fix": ("fix clippy warnings", {}),
    "lang.rust/fmt": ("format my rust code", {}),
    "lang.rust/update": ("update rust dependencies", {}),
    "lang.rust/update-crate": ("update the crate tokio", {"crate": "tokio"}),
    "lang.rust/add-dependency": ("add serde as a dependency", {"crate": "serde"}),
    "lang.rust/dependency-tree": ("why is openssl a dependency", {"crate": "openssl"}),
    "lang.rust/clean": ("delete the target folder", {}),
    "lang.rust/toolchain-update": ("update the rust toolchain", {}),
}


@pytest.fixture(scope="module")
def skills():
    """Each bundled skill, validated, as the loader makes it (its terminal_exec granted)."""
    for skill_id in SKILLS:
        validate_dir(bundled_dir() / skill_id)
    return {skill_id: make_skill(bundled_dir() / skill_id, read_manifest(bundled_dir() / skill_id))
            for skill_id in SKILLS}


@pytest.fixture(scope="module")
def recipes(skills):
    return {recipe.full_id: (skill, recipe) for skill in skills.values()
            for recipe in load_recipes(skill)}


@pytest.fixture(scope="module")
def pm(tmp_path_factory):
    """A node's plugin manager with the bundled skills loaded."""
    return Node.load(tmp_path_factory.mktemp("caro-home"), environ={}).pm


def test_the_six_first_party_skills_are_bundled():
    found = sorted(p.name for p in bundled_dir().iterdir() if (p / "skill.toml").is_file())
    assert found == SKILLS


@pytest.mark.parametrize("skill_id", SKILLS)
def test_each_bundled_skill_validates_with_knowledge_and_recipes(skills, skill_id):
    skill = skills[skill_id]
    assert {"knowledge", "recipes"} <= set(skill.layers)
    for topic in skill.manifest["knowledge"]["topics"]:
        page = (skill.directory / "knowledge" / f"{topic}.md").read_text()
        assert page.startswith("# ") and page.count("\n## ") >= 2, topic
    assert len(load_recipes(skill)) >= 6


def test_a_node_loads_every_bundled_skill_without_a_warning(caro_home, capsys):
    node = Node.load(caro_home, environ={})
    assert capsys.readouterr().err == ""
    assert {s.id: (s.enabled, bool(s.plugins)) for s in node.skills} == {
        skill_id: (True, True) for skill_id in SKILLS}


def test_every_bundled_recipe_has_a_sample_request(recipes):
    assert sorted(recipes) == sorted(SAMPLES)


@pytest.mark.parametrize("recipe_id", sorted(SAMPLES))
def test_a_sample_request_fills_its_recipe_and_ranks_it_first(recipes, recipe_id):
    request, expected = SAMPLES[recipe_id]
    skill, recipe = recipes[recipe_id]
    score, values = recipe.match(request)
    assert {name: values[name] for name in expected} == expected
    ranked = max(((confidence(m[0], r.priority), r.full_id) for _, r in recipes.values()
                  if (m := r.match(request))))
    assert ranked[1] == recipe_id
    for step in recipe.steps(values):
        assert not re.search(r"(?<!\{)\{[a-z_]+\}(?!\})", step.command), step.command
        assert all(skill.may_run(program) for program in programs_of(step.command)), step.command


def test_a_request_becomes_a_recipe_candidate_through_the_generate_hook(pm):
    context = GenerateContext("linux", "offline", programs=frozenset({"git"}))
    found = [c for batch in pm.hook.caro_generate_commands(request="squash the last 3 commits",
                                                            context=context) for c in batch]
    [recipe] = [c for c in found if c.source == "tool.git"]
    assert recipe.backend == "recipe"
    assert recipe.command.startswith("git reset --soft HEAD~3 && git commit --edit -m")
    assert [step.role for step in recipe.steps] == ["run", "run", "rollback"]


@pytest.mark.parametrize("command, rule, level", [
    ("git reflog expire --expire=now --all", "tool.git.reflog-expire", RiskLevel.HIGH),
    ("git push --mirror backup", "tool.git.push-mirror", RiskLevel.HIGH),
    ("docker volume prune", "tool.docker.volume-prune", RiskLevel.HIGH),
    ("docker compose down -v", "tool.docker.compose-down-volumes", RiskLevel.HIGH),
    ("kubectl delete pvc data-db-0", "tool.kubernetes.delete-pvc", RiskLevel.HIGH),
    ("kubectl delete namespace shop", "tool.kubernetes.delete-namespace", RiskLevel.CRITICAL),
    ("aws s3 rb s3://team-logs --force", "cloud.aws.s3-rb-force", RiskLevel.CRITICAL),
    ("aws ec2 terminate-instances --instance-ids i-0abc", "cloud.aws.ec2-terminate", RiskLevel.HIGH),
    ("aws kms schedule-key-deletion --key-id k", "cloud.aws.kms-schedule-deletion", RiskLevel.CRITICAL),
    ("pip install --break-system-packages requests", "lang.python.break-system-packages",
     RiskLevel.MODERATE),
    ("python3 -m pip install --extra-index-url https://pypi.internal x",
     "lang.python.extra-index-url-module", RiskLevel.MODERATE),
    ("cargo publish --no-verify", "lang.rust.publish-no-verify", RiskLevel.HIGH),
])
def test_bundled_guardrails_raise_the_risk(pm, command, rule, level):
    found = {f.rule: f.level for batch in pm.hook.caro_classify_risk(command=parse(command))
             for f in batch}
    assert found.get(rule) == level


@pytest.mark.parametrize("command", ["git status", "aws s3 ls", "kubectl get pods", "cargo build",
                                     "pip list", "docker ps"])
def test_everyday_commands_stay_safe(pm, command):
    assert not [f for batch in pm.hook.caro_classify_risk(command=parse(command)) for f in batch]


@pytest.mark.parametrize("command, category", [
    ("aws sts get-caller-identity", "aws"), ("pytest -x", "python"), ("uv pip install x", "python"),
    ("skaffold dev", "kubernetes"), ("hadolint Dockerfile", "docker"), ("pre-commit run", "git"),
    ("cargo-nextest run", "cargo"),
])
def test_bundled_skills_teach_categories(pm, command, category):
    assert pm.hook.caro_classify_category(command=parse(command)) == category


@pytest.mark.parametrize("request_text, skill_id", [
    ("how do I undo a commit I already pushed", "tool.git"),
    ("why is my pod in CrashLoopBackOff", "tool.kubernetes"),
    ("docker is using too much disk space", "tool.docker"),
    ("which aws account and region am I using", "cloud.aws"),
    ("pip says externally-managed-environment", "lang.python"),
    ("make my rust binary smaller and faster", "lang.rust"),
])
def test_knowledge_answers_the_context_hook(pm, request_text, skill_id):
    sources = [s.source for batch in pm.hook.caro_generate_context(request=request_text) for s in batch]
    assert skill_id in sources
