"""A command line's *pattern*: its shape without arguments (``git commit | grep``).

Summaries count distinct patterns ("unique command patterns") and never carry
the patterns themselves.  A pattern holds program names and, for tools built
around subcommands, the subcommand word; never a path, a host, an option
value or any other argument.
"""

import re

from .cmdparse import parse

#: Tools whose first word after the options is a subcommand (``git commit``).
SUBCOMMAND_TOOLS = frozenset(
    "git gh docker podman docker-compose kubectl helm oc kind minikube npm yarn pnpm bun deno "
    "cargo rustup go pip pip3 poetry uv conda apt apt-get dnf yum zypper pacman brew snap "
    "flatpak systemctl journalctl service ip nmcli terraform ansible-galaxy vagrant aws gcloud "
    "az make just".split())

_SUBCOMMAND = re.compile(r"[a-z][a-z0-9-]{0,23}")
#: Commands nested this way are not part of what the user typed.
_NESTED = frozenset({"cmdsub", "procsub", "function"})


def pattern_of(command):
    """The pattern of ``command``, or ``""`` when it runs nothing."""
    parts = []
    for cmd in parse(command).simple_commands:
        if cmd.origin in _NESTED or not cmd.program:
            continue
        part = cmd.program
        if part in SUBCOMMAND_TOOLS:
            word = next((a for a in cmd.args if not a.startswith("-")), None)
            if word and _SUBCOMMAND.fullmatch(word):
                part += " " + word
        parts.append(part)
    return " | ".join(parts)[:200]
