"""``caro init [SHELL]``: print the shell integration script.

Usage, in the shell's start-up file::

    eval "$(caro init bash)"      # ~/.bashrc
    eval "$(caro init zsh)"       # ~/.zshrc
    caro init fish | source       # ~/.config/fish/config.fish
    eval "$(caro init sh)"        # the file named by $ENV (dash, ash)

Without SHELL the shell is detected from the parent process, then ``$SHELL``.
"""

import os
import sys

import click

from caro_core import hookimpl

#: Process names that are served by another adapter's name.
ALIASES = {"dash": "sh", "ash": "sh", "busybox": "sh"}


def _process_name(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        pass
    if sys.platform.startswith("linux"):
        return ""
    import subprocess  # macOS and BSDs have no /proc

    try:
        out = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip()


def _normalise(name):
    name = os.path.basename(name.strip()).lstrip("-")
    return ALIASES.get(name, name)


def detect_shell(known, environ=os.environ, ppid=None):
    """The user's shell among ``known``: the parent process, else ``$SHELL``; None if neither."""
    parent = _normalise(_process_name(os.getppid() if ppid is None else ppid))
    if parent in known:
        return parent
    login = _normalise(environ.get("SHELL", ""))
    return login if login in known else None


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command("init")
    @click.argument("shell", required=False)
    @pass_node
    @click.pass_context
    def init(ctx, node, shell):
        """Print the integration script for SHELL (bash, zsh, fish, sh).

        \b
        bash/zsh/sh:  eval "$(caro init bash)"
        fish:         caro init fish | source
        """
        names = sorted({n for names in node.pm.hook.caro_shell_names() for n in names or ()})
        if shell is None:
            shell = detect_shell(names)
            if shell is None:
                click.echo("caro: cannot tell which shell this is; run 'caro init SHELL' with one of: "
                           + ", ".join(names), err=True)
                ctx.exit(2)
        script = node.pm.hook.caro_shell_init_script(shell=shell, node=node)
        if script is None:
            click.echo(f"caro: unknown shell '{shell}'; choose one of: " + ", ".join(names), err=True)
            ctx.exit(2)
        click.echo(script, nl=not script.endswith("\n"))
