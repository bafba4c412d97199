"""Render the hook reference of docs/plugins.md from the hookspec docstrings.

    python docs/hooks_reference.py          # print the reference
    python docs/hooks_reference.py --write  # refresh docs/plugins.md between the markers

A test fails when docs/plugins.md and the hookspecs disagree.
"""

import importlib
import inspect
import sys
from pathlib import Path

import caro_hookspecs

BEGIN, END = "<!-- hooks:begin -->", "<!-- hooks:end -->"
DOC = Path(__file__).with_name("plugins.md")


def hookspecs():
    """``(family, name, function, firstresult)`` for every hookspec, in family order."""
    for family in caro_hookspecs.FAMILIES:
        module = importlib.import_module(f"caro_hookspecs.{family}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            opts = getattr(fn, "caro_spec", None)
            if name.startswith("caro_") and opts is not None:
                yield family, name, fn, bool(opts.get("firstresult"))


def render():
    lines, current = [], None
    for family, name, fn, firstresult in hookspecs():
        if family != current:
            module = importlib.import_module(f"caro_hookspecs.{family}")
            lines += [f"### Family `{family}`", "", inspect.getdoc(module), ""]
            current = family
        args = ", ".join(inspect.signature(fn).parameters)
        lines += [f"#### `{name}({args})`", "",
                  "*firstresult*: the first non-None answer wins." if firstresult
                  else "*collect-all*: every plugin's answer is gathered.", "",
                  inspect.getdoc(fn), ""]
    return "\n".join(lines).rstrip() + "\n"


def current_section():
    text = DOC.read_text()
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n") + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        text = DOC.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:start] + "\n" + render() + text[end:])
    else:
        sys.stdout.write(render())
