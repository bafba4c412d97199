"""The built-in safety rules, grouped by what they protect.

A rule is ``f(cmd) -> [Finding]`` over one :class:`~caro_core.cmdparse.SimpleCommand`,
registered for the programs it understands with :func:`rule` (``"*"``: every
command), or ``f(parsed) -> [Finding]`` over the whole line with
:func:`line_rule`.  :func:`findings` applies them all.  The modules:
:mod:`.paths` (what a path names), :mod:`.files` (deletion, overwrites,
permissions, disks), :mod:`.processes` (scripts, shells, network, power,
history, security controls) and :mod:`.tools` (git, Kubernetes, containers,
infrastructure, databases).
"""

_RULES = {}
_LINE_RULES = []


def rule(*programs):
    """Register ``f(cmd) -> findings`` for commands running one of ``programs``."""
    def register(f):
        for program in programs:
            _RULES.setdefault(program, []).append(f)
        return f
    return register


def line_rule(f):
    """Register ``f(parsed) -> findings`` over the whole line."""
    _LINE_RULES.append(f)
    return f


def findings(parsed):
    """Every finding of every rule on ``parsed``, duplicates removed, in rule order."""
    found = []
    for check in _LINE_RULES:
        found += check(parsed)
    every = _RULES.get("*", [])
    for cmd in parsed.simple_commands:
        program = "mkfs" if cmd.program.startswith("mkfs.") else cmd.program
        for check in _RULES.get(program, []) + every:
            found += check(cmd)
    return list(dict.fromkeys(found))


from . import files, processes, tools  # noqa: E402,F401  (registers the rules)
