"""``caro explain CMD``: a command line explained part by part, with its risk.

The line is parsed once (:mod:`caro_core.cmdparse`).  Every simple command is handed to
``caro_generate_explain`` on its own (a :class:`~caro_core.cmdparse.ParsedCommand` holding just
that command), so each answer belongs to one program's words; the whole line is asked once
more for its list operators (``&&``, ``||``, ``;``, ``&``).  For each part the first answer wins
— skills and installed plugins answer before the built-in tables — and a part nobody knows is
still listed, marked as unknown.  The risk, its reasons and the category come from the safety
engine (:func:`caro_core.risk.assess`).
"""

from dataclasses import dataclass

from .cmdparse import ParsedCommand, parse

UNKNOWN = {"program": "a program Caro has no notes on", "wrapper": "runs the command after it",
           "option": "an option Caro has no notes on", "argument": "an argument",
           "assignment": "sets a variable for this command only", "redirect": "a redirection",
           "pipe": "a pipe: the output on the left becomes the input on the right",
           "operator": "a list operator"}


@dataclass(frozen=True)
class Part:
    """One word or operator of the line and what it does."""

    text: str
    kind: str          # program, wrapper, assignment, option, argument, redirect, pipe, operator
    explanation: str
    known: bool        # False when no plugin explained it
    depth: int = 0     # 0 for what was typed, 1 for payloads (sh -c, $(…), find -exec…)

    def to_json(self):
        return {"part": self.text, "kind": self.kind, "explanation": self.explanation,
                "known": self.known, "nested": self.depth > 0}


@dataclass
class Explanation:
    """A command line's parts, and the safety engine's verdict on it."""

    command: str
    parts: list
    assessment: object

    def to_json(self):
        return {"command": self.command, "parts": [p.to_json() for p in self.parts],
                **self.assessment.to_json()}


def redirect_text(operator, target):
    """How a redirection is written: ``2>&1``, ``> out.txt``."""
    if target.startswith("&"):
        return operator.rstrip("&") + target
    return f"{operator} {target}"


def answers(pm, parsed):
    """The first explanation given for each part by the ``caro_generate_explain`` plugins."""
    known = {}
    for pairs in pm.hook.caro_generate_explain(command=parsed):
        for part, text in pairs or ():
            if text:
                known.setdefault(part, text)
    return known


def explain(pm, text, mode="moderate"):
    """Explain ``text``; see the module docstring."""
    from .risk import assess

    parsed = parse(text)
    parts = []
    for cmd in parsed.simple_commands:
        parts += _command_parts(pm, cmd)
    if parsed.operators:
        known = answers(pm, parsed)
        for op in dict.fromkeys(parsed.operators):
            parts.append(_part(op, "operator", known))
    return Explanation(text, parts, assess(pm, text, mode))


def _part(text, kind, known, depth=0):
    if text in known:
        return Part(text, kind, known[text], True, depth)
    return Part(text, kind, UNKNOWN[kind], False, depth)


def _command_parts(pm, cmd):
    depth = 0 if cmd.origin == "top" else 1
    known = answers(pm, ParsedCommand(text=" ".join(cmd.argv), simple_commands=(cmd,)))
    parts = [_part(word, "wrapper", known, depth) for word in cmd.wrappers]
    parts += [_part(word, "assignment", known, depth) for word in cmd.assignments]
    if cmd.argv:
        parts.append(_part(cmd.argv[0], "program", known, depth))
    options_done = False
    for word in cmd.args:
        option = not options_done and word.startswith("-") and word != "-"
        options_done = options_done or word == "--"
        parts.append(_part(word, "option" if option else "argument", known, depth))
    parts += [_part(redirect_text(op, target), "redirect", known, depth)
              for op, target in cmd.redirects]
    if cmd.pipes_to:
        parts.append(_part("|", "pipe", known, depth))
    return parts
