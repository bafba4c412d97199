"""POSIX sh adapter (dash, ash): ``caro init sh``.

sh has no pre-exec hook and dash keeps no history: the script (``shell/caro.sh``)
records the exit status and time at every prompt, without command text or
duration; see ``docs/shells.md``. There is no history file to import.
"""

import shlex

from caro_core import hookimpl
from caro_core.shellscript import render

NAME = "sh"
#: Other names the same script serves (``caro init dash``).
ALIASES = ("dash", "ash")


@hookimpl
def caro_shell_names():
    return [NAME]


@hookimpl
def caro_shell_init_script(shell, node):
    if shell != NAME and shell not in ALIASES:
        return None
    return render("caro.sh", shlex.quote(str(node.home)))
