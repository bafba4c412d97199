"""Shell hooks: adapters that integrate Caro with an interactive shell."""

from . import hookspec


@hookspec
def caro_shell_names():
    """Name the shells this adapter integrates.

    Called by ``caro init`` (to list choices and validate its argument) and by
    ``caro doctor``.

    :returns: a list of shell names such as ``["bash"]``.

    Collect-all.

    Example::

        @hookimpl
        def caro_shell_names():
            return ["nushell"]
    """


@hookspec(firstresult=True)
def caro_shell_init_script(shell, node):
    """Produce the integration script for ``shell``.

    Called by ``caro init SHELL``; the user evaluates the output in their shell
    start-up file (``eval "$(caro init bash)"``, ``caro init fish | source``).
    The script must record each command by appending to the node's spool
    without starting Python, and must never break the user's shell.

    :param shell: the requested shell name.
    :param node: the :class:`caro_core.node.Node` (its home, config, spool path).
    :returns: the script text, or None when this adapter does not handle ``shell``.

    firstresult: the first adapter that returns a script wins.

    Example::

        @hookimpl
        def caro_shell_init_script(shell, node):
            if shell == "nushell":
                return NU_TEMPLATE.replace("@CARO_HOME@", str(node.home))
    """


@hookspec(firstresult=True)
def caro_shell_parse_history(shell, data):
    """Parse a shell's own history file.

    Called by ``caro import`` with the file the user named (or the shell's
    default history file).

    :param shell: the shell whose format ``data`` is in (``bash``, ``zsh``, ``fish``).
    :param data: the file's raw bytes.
    :returns: a list of :class:`caro_core.events.ImportedCommand`, or None when
        this adapter does not read that shell's history.

    firstresult.

    Example::

        @hookimpl
        def caro_shell_parse_history(shell, data):
            if shell == "nushell":
                return [ImportedCommand(line, None, None) for line in data.decode().splitlines()]
    """
