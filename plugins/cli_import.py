"""``caro import``: bring in existing shell history so a new user sees value on day one."""

import getpass
import os
from pathlib import Path

import click

from caro_core import hookimpl
from caro_core.errors import CaroError

SHELLS = ("bash", "zsh", "fish")


def default_history_file(shell, environ=os.environ):
    home = Path(environ.get("HOME", "~")).expanduser()
    if shell == "fish":
        data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "fish" / "fish_history"
    current = Path(environ.get("SHELL", "")).name
    if environ.get("HISTFILE") and current == shell:
        return Path(environ["HISTFILE"]).expanduser()
    return home / (".bash_history" if shell == "bash" else ".zsh_history")


def import_history(node, shell, path):
    """Parse, classify and store a history file; return ``(read, stored)``."""
    from caro_core.events import insert_events
    from caro_core.ingest import classify

    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as e:
        raise CaroError(f"cannot read history file {path}: {e.strerror}") from None
    commands = node.pm.hook.caro_shell_parse_history(shell=shell, data=data)
    if commands is None:
        raise CaroError(f"no installed plugin reads {shell} history")
    user = getpass.getuser()
    events = []
    for index, item in enumerate(commands):
        # Undated entries get the file's time, spaced 1 ms apart in file order, so a
        # second import of the same file recognises them and stores nothing twice.
        when = item.timestamp if item.timestamp is not None else mtime - (len(commands) - index) / 1000
        events.append(classify(node, item.command, timestamp=when, exit_code=None,
                               duration_ms=item.duration_ms, cwd=None, shell=shell,
                               session=f"import:{path}", user=user, elevated=False,
                               caro_generated=False, source="import"))
    return len(events), len(insert_events(node.store, events))


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command("import")
    @click.option("--shell", "shell", type=click.Choice(SHELLS),
                  help="The history's format (default: your $SHELL).")
    @click.argument("file", required=False, type=click.Path(path_type=Path))
    @pass_node
    def import_command(node, shell, file):
        """Import existing bash, zsh (extended or plain) or fish history."""
        shell = shell or Path(os.environ.get("SHELL", "")).name
        if shell not in SHELLS:
            raise click.UsageError(f"cannot tell the history format from $SHELL ({shell or 'unset'}): "
                                   f"pass --shell {'|'.join(SHELLS)}")
        path = file or default_history_file(shell)
        read, stored = import_history(node, shell, path)
        click.echo(f"imported {stored} commands from {path}"
                   + (f" ({read - stored} were already present)" if read != stored else ""))
