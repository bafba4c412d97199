"""Rendering the shell integration templates of ``caro_shell`` for the shell adapters."""

from importlib.resources import files

HOME_PLACEHOLDER = "@CARO_HOME@"


def render(template, quoted_home):
    """The text of ``caro_shell/<template>`` with the node's home, already quoted for that shell."""
    text = files("caro_shell").joinpath(template).read_text(encoding="utf-8")
    return text.replace(HOME_PLACEHOLDER, quoted_home)
