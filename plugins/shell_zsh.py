"""zsh adapter: ``caro init zsh`` and reading ``~/.zsh_history``.

The script (``shell/caro.zsh``) records each command from ``preexec``/``precmd``
hooks installed with ``add-zsh-hook``; see ``docs/shells.md``.
"""

import re
import shlex

from caro_core import hookimpl
from caro_core.shellscript import render

NAME = "zsh"
_EXTENDED = re.compile(rb": ?(\d+):(\d+);(.*)", re.DOTALL)
#: zsh writes the bytes it uses internally (0x83 and up) as META followed by the byte ^ 0x20.
_META = 0x83


@hookimpl
def caro_shell_names():
    return [NAME]


@hookimpl
def caro_shell_init_script(shell, node):
    if shell != NAME:
        return None
    return render("caro.zsh", shlex.quote(str(node.home)))


def unmetafy(raw):
    """Undo zsh's "metafication" of history bytes (META, then byte XOR 32)."""
    if _META not in raw:
        return raw
    out = bytearray()
    it = iter(raw)
    for byte in it:
        if byte == _META:
            byte = next(it, 0x20) ^ 0x20
        out.append(byte)
    return bytes(out)


def parse_zsh_history(data):
    """Parse a zsh history file, extended (``: start:elapsed;cmd``) or plain.

    zsh saves the newlines of a multi-line command as a backslash at the end
    of a line; such lines are joined back with a newline. A command that really
    ends in a backslash is saved with a space after it, which is dropped.
    """
    from caro_core.events import ImportedCommand  # the store's modules: only when parsing

    commands = []
    entry = []
    for line in unmetafy(bytes(data)).split(b"\n"):
        if line.endswith(b"\\"):
            entry.append(line[:-1])
            continue
        entry.append(line)
        raw = b"\n".join(entry)
        entry = []
        if not raw.strip():
            continue
        match = _EXTENDED.fullmatch(raw)
        if match:
            commands.append(ImportedCommand(_text(match[3]), float(match[1]), int(match[2]) * 1000))
        else:
            commands.append(ImportedCommand(_text(raw), None, None))
    if entry and b"\n".join(entry).strip():  # a file cut off after a continuation
        raw = b"\n".join(entry)
        match = _EXTENDED.fullmatch(raw)
        commands.append(ImportedCommand(_text(match[3]), float(match[1]), int(match[2]) * 1000)
                        if match else ImportedCommand(_text(raw), None, None))
    return commands


def _text(raw):
    if raw.endswith(b"\\ "):
        raw = raw[:-1]
    return raw.decode("utf-8", "surrogateescape")


@hookimpl
def caro_shell_parse_history(shell, data):
    if shell != NAME:
        return None
    return parse_zsh_history(data)
