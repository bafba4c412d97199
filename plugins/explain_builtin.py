"""Caro's own explanations of programs, options, arguments, pipes, redirections and operators.

Reads the notes of :mod:`caro_core.explain_data` and walks each command's words the way the
program would: a subcommand switches to its options, an option that takes a value explains the
next word too (or the rest of the word: ``-n5``, ``--lines=5``), combined short options are
explained letter by letter (``-czf``), and the words of ``find -exec … ;`` belong to the command
it runs.  It is ``trylast``: skills and installed plugins explain first.
"""

import re

from caro_core import hookimpl

_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


@hookimpl(trylast=True)
def caro_generate_explain(command):
    """Explain every part Caro has notes on."""
    from caro_core.explain import redirect_text
    from caro_core.explain_data import OPERATORS, programs

    table = programs()
    found = []
    for cmd in command.simple_commands:
        found += [(w, table[w].summary) for w in cmd.wrappers if w in table]
        found += [(a, f"sets {a.split('=')[0]} for this command only") for a in cmd.assignments]
        doc = table.get(cmd.program) or table.get(cmd.program.split(".")[0])
        if doc and cmd.argv:
            found.append((cmd.argv[0], doc.summary))
            found += words(doc, list(cmd.args))
        found += [(redirect_text(op, target), redirection(op, target)) for op, target in cmd.redirects]
        if cmd.pipes_to:
            found.append(("|", OPERATORS["|"].format(left=cmd.program, right=cmd.pipes_to)))
    found += [(op, OPERATORS[op]) for op in command.operators if op in OPERATORS]
    return found


def redirection(operator, target):
    """A sentence for one redirection: ``2>&1`` → send error messages to standard output."""
    from caro_core.explain_data import REDIRECTS, TARGETS

    fd = re.match(r"\d*", operator).group()
    base = operator[len(fd):]
    template = REDIRECTS.get(operator) or REDIRECTS.get(base, "redirect {target}")
    text = template.format(target=TARGETS.get(target, target))
    if fd and operator not in REDIRECTS:
        text = f"descriptor {fd}: {text}"
    return text


def _operand(operands, index):
    if not operands:
        return None
    return operands[min(index, len(operands) - 1)].partition(": ")[2] or None


def words(doc, args):
    """``(word, explanation)`` for the arguments of a program described by ``doc``."""
    found, options, operands = [], dict(doc.options), doc.operands
    index, ended, subcommand_seen, i = 0, False, False, 0
    while i < len(args):
        word = args[i]
        i += 1
        if not ended and word in _EXEC:
            found.append((word, options.get(word, ("", "run a command on every file found"))[1]))
            while i < len(args) and args[i] not in (";", "+"):
                found.append((args[i], "replaced by each file found" if args[i] == "{}"
                              else "part of the command it runs"))
                i += 1
            if i < len(args):
                found.append((args[i], "ends the command (+: files passed in batches)"))
                i += 1
            continue
        if ended or not word.startswith(("-", "+")) or word == "-":
            key = word.split("=")[0] + "=" if "=" in word else None
            if not ended and (word in options or key in options):
                found.append((word, options.get(word, options.get(key))[1]))
            elif not ended and not subcommand_seen and index == 0 and word in doc.subcommands:
                sub = doc.subcommands[word]
                found.append((word, sub.summary))
                options.update(sub.options)
                operands, doc = sub.operands, sub
            else:
                text = _operand(operands, index)
                if text:
                    found.append((word, text))
                index += 1
            subcommand_seen = True
            continue
        if word == "--":
            found.append((word, "end of options: the words after it are arguments"))
            ended = True
            continue
        i, explained = _option(word, args, i, options)
        found += explained
    return found


def _option(word, args, i, options):
    """Explain one option word (and its value); returns the next index and the pairs."""
    name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
    if name in options:
        placeholder, text = options[name]
        pairs = [(word, f"{text} ({placeholder} {value})" if eq else text)]
        if placeholder and not eq and i < len(args):
            pairs.append((args[i], f"the {placeholder} for {name}"))
            i += 1
        return i, pairs
    if re.fullmatch(r"-\d+", word) and "-NUM" in options:
        return i, [(word, options["-NUM"][1].replace("NUM", word[1:]))]
    if word.startswith("--") or len(word) <= 2:
        return i, []
    pieces, rest = [], ""
    for position, letter in enumerate(word[1:], 2):
        known = options.get("-" + letter)
        if known is None:
            return i, []
        pieces.append(f"-{letter}: {known[1]}")
        if known[0]:
            rest = word[position:]
            if rest:
                pieces.append(f"{known[0]} {rest}")
            elif i < len(args):
                return i + 1, [(word, "; ".join(pieces)), (args[i], f"the {known[0]} for -{letter}")]
            break
    return i, [(word, "; ".join(pieces))]
