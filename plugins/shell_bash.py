"""bash adapter: ``caro init bash`` and reading ``~/.bash_history``.

The script (``shell/caro.bash``) records each command through PS0 and the first
PROMPT_COMMAND entry, or through bash-preexec when that is loaded; see
``docs/shells.md``.
"""

import re
import shlex

from caro_core import hookimpl
from caro_core.shellscript import render

NAME = "bash"
_STAMP = re.compile(rb"#(\d{1,12})")


@hookimpl
def caro_shell_names():
    return [NAME]


@hookimpl
def caro_shell_init_script(shell, node):
    if shell != NAME:
        return None
    return render("caro.bash", shlex.quote(str(node.home)))


def parse_bash_history(data):
    """Parse a bash history file.

    Without ``HISTTIMEFORMAT`` every line is one command. With it, bash writes a
    ``#<epoch>`` line before each entry, and everything up to the next stamp is
    one entry -- a multi-line command saved with ``shopt -s lithist``.
    """
    from caro_core.events import ImportedCommand  # the store's modules: only when parsing

    lines = bytes(data).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stamped = any(_STAMP.fullmatch(line) for line in lines)
    commands = []
    if not stamped:
        for line in lines:
            if line.strip():
                commands.append(ImportedCommand(_text(line), None, None))
        return commands
    when, body = None, []

    def flush():
        text = b"\n".join(body)
        if text.strip():
            commands.append(ImportedCommand(_text(text), when, None))

    for line in lines:
        match = _STAMP.fullmatch(line)
        if match:
            flush()
            when, body = float(match[1]), []
        else:
            body.append(line)
    flush()
    return commands


def _text(raw):
    return raw.decode("utf-8", "surrogateescape")


@hookimpl
def caro_shell_parse_history(shell, data):
    if shell != NAME:
        return None
    return parse_bash_history(data)
