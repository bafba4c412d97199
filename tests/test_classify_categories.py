"""classify_categories: the category of a line is its main program's family."""

import pytest

from caro_core import hookimpl
from caro_core.plugins import make_plugin_manager
from caro_core.risk import assess


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(environ={})


@pytest.mark.parametrize("text, category", [
    ("git status", "git"),
    ("docker ps", "docker"), ("podman images", "docker"), ("docker-compose up", "docker"),
    ("kubectl get pods", "kubernetes"), ("helm list", "kubernetes"), ("k9s", "kubernetes"),
    ("npm test", "npm"), ("yarn add x", "npm"), ("pnpm i", "npm"),
    ("cargo build", "cargo"), ("rustup update", "cargo"),
    ("ls -la", "file-ops"), ("tar xzf a.tgz", "file-ops"), ("chmod +x a", "file-ops"),
    ("curl -I https://x", "network"), ("ssh host", "network"), ("dig x", "network"),
    ("systemctl status x", "system"), ("apt install x", "system"), ("mkfs.ext4 /dev/sdb", "system"),
    ("vim x", "editor"), ("code .", "editor"), ("sudoedit /etc/hosts", "editor"),
    ("frobnicate --now", "other:frobnicate"),
])
def test_known_programs(pm, text, category):
    assert assess(pm, text).category == category


@pytest.mark.parametrize("text, category", [
    ("sudo -u deploy git pull", "git"),                 # wrappers
    ("/usr/bin/git status", "git"),                     # absolute path
    ("cd repo && git pull", "git"),                     # trivial first command skipped
    ("echo '{}' | kubectl apply -f -", "kubernetes"),   # trivial pipeline head skipped
    ("ps aux | grep python", "system"),                 # the first real stage decides
    ("bash -c 'docker ps'", "docker"),                  # payloads looked through
    ("(cd web && npm run build)", "npm"),               # subshells looked through
    ("echo $(git rev-parse HEAD)", "other:echo"),       # substitutions never decide
    ("ssh prod 'sudo reboot'", "network"),              # remote commands never decide
    ("cd /tmp", "other:cd"),                            # all trivial: the first decides
    ("sudo -i", "system"),
    (":(){ :|:& };:", "system"),
    ("FOO=1", "other:shell"),
])
def test_the_main_command_decides(pm, text, category):
    assert assess(pm, text).category == category


class TerraformCategory:
    @hookimpl
    def caro_classify_category(self, command):
        if any(c.program == "terraform" for c in command.simple_commands):
            return "terraform"
        return None


def test_other_plugins_answer_before_the_builtin_fallback():
    pm = make_plugin_manager(environ={}, extra_plugins=[("tf", TerraformCategory())])
    assert assess(pm, "terraform plan").category == "terraform"
    assert assess(pm, "git status").category == "git"


def test_a_disabled_builtin_leaves_other_program(monkeypatch):
    pm = make_plugin_manager({"disable": ["classify_categories"], "autoload": False}, environ={})
    assert assess(pm, "git status").category == "other:git"
