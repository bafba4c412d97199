"""Command lines made fit to show on a screen others may see: the shape kept, the particulars masked.

:func:`sanitize` keeps the program (its basename), subcommands, flags, small
numbers, shell operators and variable names, and replaces every argument that
looks like a path, host, IP address, URL, e-mail address, secret, long number
or free text::

    scp notes.txt ann@db1.internal:/var/backups/  →  scp ‹path› ‹host›:‹path›
    git commit -m "fix login for bob"             →  git commit -m "…"
    curl -H "$AUTH" https://api.internal/v1/users  →  curl -H "…" ‹url›

Programs are found where a command starts and, through
:func:`caro_core.cmdparse.parse`, behind wrappers and inside payloads
(``sudo /usr/bin/rm`` shows ``sudo rm``, ``ssh host uptime`` keeps ``uptime``).
Secrets were already redacted at ingest (``<redacted:KIND>``); they show as
``‹secret›``, and long random-looking words are masked the same way.  The
result is plain text: escape it for HTML like any other text.
"""

import re
from dataclasses import dataclass

from .cmdparse import basename, parse

PATH, HOST, IP, URL, EMAIL, SECRET, NUMBER, TEXT, EXPR = (
    "‹path›", "‹host›", "‹ip›", "‹url›", "‹email›", "‹secret›", "‹number›", '"…"', "‹expr›")
#: Longer results are cut with an ellipsis.
MAX_LENGTH = 240
#: How deep ``$(…)`` substitutions are shown; deeper ones are an ellipsis.
MAX_DEPTH = 3

#: Programs whose operands are hosts (``ping db1`` masks ``db1`` although it has no dot).
HOST_PROGRAMS = frozenset(
    "ssh mosh ping ping6 telnet nc ncat netcat dig host nslookup traceroute traceroute6 tracepath "
    "mtr nmap whois ftp sftp ssh-copy-id curl wget http https xh".split())
_RESERVED_START = frozenset({"if", "then", "else", "elif", "while", "until", "do", "!", "{", "time"})
_RESERVED = _RESERVED_START | {"fi", "done", "esac", "}", "in", "for", "case", "select", "function"}
_KEEP = frozenset({".", "..", "/", "~", "-", "--", "/dev/null", "/dev/stdout", "/dev/stderr"})

_CONTROL_PICTURES = {code: 0x2400 + code for code in range(32) if chr(code) not in "\t\n\r"}
_CONTROL_PICTURES[0x7F] = 0x2421
_MARKER = re.compile(r"<redacted:[a-z0-9-]+>")
_OPERATOR = re.compile(r"&&|\|\||;;|\|&|[|;&()\n]")
_REDIRECT = re.compile(r"\d{0,2}(>>|>\||>&|&>>|&>|<<<|<<-|<<|<&|<>|>|<)")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\[[^]]*\])?\+?=)(.*)", re.S)
_FLAG = re.compile(r"--[A-Za-z0-9][A-Za-z0-9_-]*|[-+][A-Za-z0-9]+")
_NUMBER = re.compile(r"[+-]?\d{1,7}(\.\d+)?[a-zA-Z%]{0,3}")  # counts, ports, pids, sizes
_VERSION = re.compile(r"=?v?\d{1,4}(\.\d{1,6}){1,2}([-+][A-Za-z0-9.]+)?")  # =: pip's name==1.2
_LONG_NUMBER = re.compile(r"(?=.*\d.*\d)[\d.,+-]{8,}")
_DIGITS = re.compile(r"\d{8,}")
_PORT = re.compile(r"\d{1,5}")
_DELIMITER = re.compile(r"(['\"]?)[A-Za-z_][A-Za-z0-9_]{0,15}\1")
_PROGRAM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}")
_VARIABLE = re.compile(r"\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9#?@*$!-])")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_EMAIL = re.compile(r"[^@\s/:]+@[^@\s/:]+\.[A-Za-z]{2,}")
_USER_HOST = re.compile(r"[^@\s/:]+@[^@\s/:]+")
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?(:\d+)?")
_IPV6 = re.compile(r"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}")
_RANDOM = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


@dataclass
class _Token:
    kind: str  # word, op, redirect, comment
    text: str
    space: bool  # whitespace before it


def sanitize(command):
    """``command`` with its particulars masked (see the module docstring); never raises.

    Control characters show as their Unicode pictures (``␛``), never raw.
    """
    text = _sanitize(command.translate(_CONTROL_PICTURES), 0)
    return text if len(text) <= MAX_LENGTH else text[:MAX_LENGTH - 1] + "…"


def _sanitize(command, depth):
    # programs behind wrappers and in payloads, which do not start a command
    programs = {cmd.argv[0] for cmd in parse(command).simple_commands
                if cmd.argv and (cmd.wrappers or cmd.origin in ("ssh", "find-exec", "xargs"))}
    return _render(_lex(command), programs, depth)


# -- lexing -------------------------------------------------------------------

def _lex(text):
    """Split a command line into words, operators, redirections and comments (never fails)."""
    tokens, i, space = [], 0, False
    while i < len(text):
        char = text[i]
        if char in " \t\r":
            i, space = i + 1, True
            continue
        if char == "\\" and text.startswith("\\\n", i):  # line continuation
            i, space = i + 2, True
            continue
        if char == "#" and (not tokens or space or tokens[-1].kind == "op"):
            tokens.append(_Token("comment", text[i:], space))
            break
        if char in "<>" and text.startswith("(", i + 1):  # process substitution is a word
            end = _skip_balanced(text, i + 1)
            tokens.append(_Token("word", text[i:end], space))
            i, space = end, False
            continue
        match = None if _MARKER.match(text, i) else _REDIRECT.match(text, i)
        if match:
            tokens.append(_Token("redirect", match.group(), space))
            i, space = match.end(), False
            continue
        match = _OPERATOR.match(text, i)
        if match:
            tokens.append(_Token("op", match.group(), space))
            i, space = match.end(), False
            continue
        end = _word_end(text, i)
        tokens.append(_Token("word", text[i:end], space))
        i, space = end, False
    return tokens


def _word_end(text, i):
    """Index after the word starting at ``i``: quotes, escapes and substitutions stay inside."""
    while i < len(text):
        char = text[i]
        marker = _MARKER.match(text, i)
        if marker:
            i = marker.end()
        elif char in " \t\r\n|;&()<>":
            return i
        elif char == "\\":
            i += 2
        elif char == "'":
            close = text.find("'", i + 1)
            i = len(text) if close < 0 else close + 1
        elif char == '"':
            i = _skip_double_quoted(text, i)
        elif char == "`":
            close = text.find("`", i + 1)
            i = len(text) if close < 0 else close + 1
        elif text.startswith("$(", i):
            i = _skip_balanced(text, i + 1)
        elif text.startswith("${", i):
            close = text.find("}", i)
            i = len(text) if close < 0 else close + 1
        else:
            i += 1
    return min(i, len(text))


def _skip_double_quoted(text, i):
    i += 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return min(i + 1, len(text))


def _skip_balanced(text, i):
    """Index after the parenthesis group opening at ``text[i] == "("``."""
    depth = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif char == "'":
            close = text.find("'", i + 1)
            i = len(text) if close < 0 else close
        elif char == '"':
            i = _skip_double_quoted(text, i) - 1
        elif char == "\\":
            i += 1
        i += 1
    return len(text)


# -- rendering ----------------------------------------------------------------

def _render(tokens, programs, depth):
    out = []
    at_start, program, redirect, heredoc, newline = True, "", None, False, False
    for token in tokens:
        text = token.text
        if token.kind == "comment":
            shown = "# …"
        elif token.kind == "op":
            if text == "\n" and heredoc:
                out.append(" ‹heredoc›")
                break
            shown = ";" if text == "\n" else text
            at_start, redirect = text != ")", None
        elif token.kind == "redirect":
            shown, redirect = text, text
            heredoc = heredoc or text.lstrip("0123456789") in ("<<", "<<-")
        elif redirect:
            shown, redirect = _redirect_target(redirect, text), None
        elif at_start and text in _RESERVED:
            shown, at_start = text, text in _RESERVED_START
        elif at_start and _ASSIGNMENT.fullmatch(text) and not _has_random(text.split("=")[0]):
            name, value = _ASSIGNMENT.fullmatch(text).groups()
            shown = name + _mask(value, "", depth)
        elif at_start or _unquote(text) in programs:
            shown = program = _program(text)
            at_start = False
        else:
            shown = _mask(text, program, depth)
        if out and (token.space or newline):
            out.append(" ")
        out.append(shown)
        newline = token.kind == "op" and text == "\n"
    return "".join(out).strip()


def _program(word):
    """The program as shown: its basename, quotes removed.

    A word that does not look like a program name (a pasted URL, address or
    token, which the shell then reported as not found) is masked like an argument.
    """
    value = _unquote(word)
    if "$(" in value or "`" in value:
        return EXPR
    name = basename(value)
    if (_PROGRAM.fullmatch(name) and name.count(".") < 2
            and not _has_random(name) and not _DIGITS.search(name)):
        return name
    shown = _mask_value(value, "")
    return PATH if shown == value else shown


def _redirect_target(operator, word):
    if operator.lstrip("0123456789") in ("<<", "<<-"):  # the here-document's delimiter
        return word if _DELIMITER.fullmatch(word) else TEXT
    if operator.endswith("&") and re.fullmatch(r"\d{1,2}-?|-", word):
        return word
    return word if word in _KEEP else PATH


def _mask(word, program, depth):
    """One argument as shown, masked when it is particular (the order of the checks matters)."""
    if not word:
        return word
    if _MARKER.fullmatch(word):
        return SECRET
    if word[0] in "-+" and _LONG_NUMBER.fullmatch(word):
        return NUMBER
    if word[0] in "-+" and len(word) > 1 and word[1] not in "'\"":
        return _flag(word, program, depth)
    if word.startswith(("$(", "<(", ">(")) and word.endswith(")"):
        inner = _sanitize(word[2:-1], depth + 1) if depth < MAX_DEPTH else "…"
        return word[:2] + inner + ")"
    if "$(" in word or "`" in word:
        return EXPR
    assignment = _ASSIGNMENT.fullmatch(word)
    if assignment and not _has_random(assignment.group(1)):  # export TOKEN=…, make CC=gcc
        return assignment.group(1) + _mask(assignment.group(2), program, depth)
    if any(q in word for q in "'\""):
        return TEXT
    if _MARKER.search(word):
        return SECRET
    return _mask_value(word.replace("\\", ""), program)


def _flag(word, program, depth):
    """``--name=value``, ``-x``, ``-I/usr/include``: the option kept, an attached value masked."""
    name, equals, value = word.partition("=")
    if not (_FLAG.fullmatch(name) or _NUMBER.fullmatch(name)) or _has_random(name):
        name = name[:2] + _mask(name[2:], program, depth)
    return name + equals + (_mask(value, program, depth) if equals else "")


def _mask_value(value, program):
    """An unquoted argument that is not a flag, a substitution or a secret marker."""
    if value in _KEEP or _NUMBER.fullmatch(value) or _VERSION.fullmatch(value):
        return value
    if _URL.match(value):
        return URL
    if _EMAIL.fullmatch(value):
        return HOST if program in HOST_PROGRAMS else EMAIL
    if _IPV4.fullmatch(value) or (value.count(":") >= 2 and _IPV6.search(value)):
        return IP
    if _LONG_NUMBER.fullmatch(value):  # account, card or phone numbers
        return NUMBER
    remote = _remote(value) if ":" in value else None
    if remote:
        return remote
    if _USER_HOST.fullmatch(value):
        return HOST
    if "/" in value or value.startswith(("~", ".")) or any(c in value for c in "*?["):
        return PATH
    if any(c.isspace() for c in value):  # escaped blanks: free text
        return TEXT
    if _HEX.fullmatch(value) or _has_random(value):
        return SECRET
    if _DIGITS.search(value):
        return NUMBER
    if "." in value:
        return HOST if program in HOST_PROGRAMS and _HOSTNAME.fullmatch(value) else PATH
    if program in HOST_PROGRAMS and not _VARIABLE.fullmatch(value):
        return HOST
    return TEXT if len(value) > 64 else value


def _remote(value):
    """``host:path``, ``user@host:path`` or ``host:port`` masked, else None (``nginx:latest``)."""
    where, _, rest = value.partition(":")
    if _IPV4.fullmatch(where):
        host = IP
    elif (_USER_HOST.fullmatch(where) or where == "localhost"
          or ("." in where and _HOSTNAME.fullmatch(where) and not where[0].isdigit())
          or (_HOSTNAME.fullmatch(where) and rest.startswith(("/", "~")))):
        host = HOST
    else:
        return None
    return host + ":" + (rest if _PORT.fullmatch(rest) or not rest else PATH)


def _has_random(text):
    """A run of 20+ token characters mixing letters and digits, as keys and tokens are
    (a long plain word is not a secret)."""
    return any(any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
               for run in _RANDOM.findall(text))


def _unquote(word):
    out, quote, i = [], None, 0
    while i < len(word):
        char = word[i]
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        elif char == "\\" and quote != "'" and i + 1 < len(word):
            i += 1
            out.append(word[i])
        else:
            out.append(char)
        i += 1
    return "".join(out)
