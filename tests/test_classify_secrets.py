"""classify_secrets and caro_core.redact: secrets are replaced, the command keeps its shape."""

import pytest

from caro_core.errors import ConfigError
from caro_core.plugins import make_plugin_manager
from caro_core.redact import SecretSpan, redact


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(environ={})


@pytest.mark.parametrize("text, expected, kind", [
    ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
     "aws configure set aws_access_key_id <redacted:aws-access-key>", "aws-access-key"),
    ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "export AWS_SECRET_ACCESS_KEY=<redacted:aws-secret-key>", "aws-secret-key"),
    ("git clone https://ghp_" + "a" * 36 + "@github.com/o/r",
     "git clone https://<redacted:github-token>@github.com/o/r", "github-token"),
    ("gh auth login --with-token github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
     "gh auth login --with-token <redacted:github-token>", "github-token"),
    ("curl -H 'PRIVATE-TOKEN: glpat-abcdefghij0123456789' x",
     "curl -H 'PRIVATE-TOKEN: <redacted:gitlab-token>' x", "gitlab-token"),
    ("slack-cli send xoxb-123456789012-abcdefABCDEF",
     "slack-cli send <redacted:slack-token>", "slack-token"),
    ("stripe login --api-key sk_live_abcdefghijklmnop1234",
     "stripe login --api-key <redacted:stripe-key>", "stripe-key"),
    ("npm config set //registry/:_authToken npm_" + "b" * 36,
     "npm config set //registry/:_authToken <redacted:npm-token>", "npm-token"),
    ("git clone https://bob:hunter2@git.example.com/r.git",
     "git clone https://bob:<redacted:url-password>@git.example.com/r.git", "url-password"),
    ("API_TOKEN=abc123 ./deploy.sh", "API_TOKEN=<redacted:assignment> ./deploy.sh", "assignment"),
    ("export DB_PASSWORD='s3cr et'", "export DB_PASSWORD=<redacted:assignment>", "assignment"),
    ("STRIPE_SECRET=xyz make", "STRIPE_SECRET=<redacted:assignment> make", "assignment"),
    ("mysql -u root -ps3cret shop", "mysql -u root -p<redacted:password-option> shop",
     "password-option"),
    ("mysqldump --password hunter2 db", "mysqldump --password <redacted:password-option> db",
     "password-option"),
    ("curl -H 'Authorization: Bearer abc.def.ghi' https://api",
     "curl -H 'Authorization: Bearer <redacted:bearer-token>' https://api", "bearer-token"),
    ("echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "echo <redacted:jwt>", "jwt"),
    ("echo '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----'",
     "echo '<redacted:private-key>'", "private-key"),
])
def test_builtin_patterns(pm, text, expected, kind):
    redacted, kinds = redact(pm, text)
    assert redacted == expected
    assert kind in kinds


@pytest.mark.parametrize("text", [
    "git status", "ls -la ~/.ssh", "mysql -u root -p shop", "export PATH=$HOME/bin:$PATH",
    "curl https://example.com/a:b", "ssh user@host", "echo KEYBOARD=us",
])
def test_plain_commands_are_untouched(pm, text):
    assert redact(pm, text) == (text, [])


def test_extra_patterns_and_switch(pm):
    text = "deploy --license LIC-1234-5678"
    assert redact(pm, text, extra_patterns=[r"LIC-[0-9-]+"]) == (
        "deploy --license <redacted:custom>", ["custom"])
    assert redact(pm, text, extra_patterns=[r"--license (\S+)"])[0] == (
        "deploy --license <redacted:custom>")
    assert redact(pm, "API_TOKEN=x", enabled=False) == ("API_TOKEN=x", [])


def test_a_bad_extra_pattern_is_a_config_error(pm):
    with pytest.raises(ConfigError, match=r"\[redact\] patterns"):
        redact(pm, "x", extra_patterns=["("])


class Overlapping:
    from caro_core import hookimpl

    @hookimpl
    def caro_classify_secrets(self, text):
        return [SecretSpan(0, 4, "a"), SecretSpan(2, 6, "b"), SecretSpan(-3, 0, "empty"),
                SecretSpan(8, 99, "c")]


def test_spans_from_plugins_are_merged_and_clipped():
    pm = make_plugin_manager({"disable": ["classify_secrets"], "autoload": False}, environ={},
                             extra_plugins=[("overlap", Overlapping())])
    assert redact(pm, "0123456789") == ("<redacted:a>67<redacted:c>", ["a", "c"])


def test_config_schema_declares_the_redact_section(node):
    assert node.config["redact"] == {"enabled": True, "patterns": []}
