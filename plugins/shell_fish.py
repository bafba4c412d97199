"""fish adapter: ``caro init fish`` and reading fish's ``fish_history``.

The script (``shell/caro.fish``) records each command from a ``fish_postexec``
event handler; see ``docs/shells.md``.
"""

from caro_core import hookimpl
from caro_core.shellscript import render

NAME = "fish"


@hookimpl
def caro_shell_names():
    return [NAME]


def fish_quote(text):
    """Quote ``text`` as one fish word (single quotes; only ``\\`` and ``'`` are special)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@hookimpl
def caro_shell_init_script(shell, node):
    if shell != NAME:
        return None
    return render("caro.fish", fish_quote(str(node.home)))


def unescape(raw):
    """Undo fish's history escaping: ``\\\\`` is a backslash, ``\\n`` a newline."""
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x5C and i + 1 < len(raw):  # backslash
            nxt = raw[i + 1]
            if nxt == 0x5C:
                out.append(0x5C)
                i += 2
                continue
            if nxt == 0x6E:  # n
                out.append(0x0A)
                i += 2
                continue
        out.append(byte)
        i += 1
    return bytes(out)


def parse_fish_history(data):
    """Parse fish's YAML-like history: ``- cmd: …`` then ``  when: <epoch>`` (and ``  paths:``)."""
    from caro_core.events import ImportedCommand  # the store's modules: only when parsing

    commands = []
    cmd, when = None, None

    def flush():
        if cmd is not None and cmd.strip():
            commands.append(ImportedCommand(cmd.decode("utf-8", "surrogateescape"), when, None))

    for line in bytes(data).split(b"\n"):
        if line.startswith(b"- cmd: "):
            flush()
            cmd, when = unescape(line[len(b"- cmd: "):]), None
        elif line.startswith(b"  when: ") and cmd is not None:
            try:
                when = float(line[len(b"  when: "):].strip())
            except ValueError:
                when = None
    flush()
    return commands


@hookimpl
def caro_shell_parse_history(shell, data):
    if shell != NAME:
        return None
    return parse_fish_history(data)
