"""Parse a command line once into the structure every classify rule reads.

:func:`parse` turns a line of shell into a :class:`ParsedCommand`: a flat list
of :class:`SimpleCommand` (one per program that would run), the pipelines
they form, the list operators, the functions defined and whether the line is
a fork bomb.  The grammar is bash's, through ``bashlex``; rules then judge
parsed words, so quoted text and the arguments of harmless programs are data.

What the parser looks through, so that rules see the program that really runs:

* wrappers — ``sudo``, ``doas``, ``env``, ``command``, ``builtin``, ``exec``,
  ``time``, ``nohup``, ``nice``, ``ionice``, ``timeout``, ``stdbuf``,
  ``xargs``, ``watch``, ``strace``/``ltrace``, ``chroot`` and a few more,
  each with its own options (``sudo -u x``, ``timeout 5s``, ``nice -n 10``);
* payloads, parsed recursively up to :data:`MAX_DEPTH` — ``bash|sh|zsh… -c``,
  ``eval``, ``su -c``, ``find -exec``, the remote command of ``ssh``, the text
  an ``echo``/``printf`` pipes into a shell, ``$(…)``/``<(…)``
  substitutions, and words glued with ``${IFS}``.

Parsing never raises.  When bashlex cannot parse a line (unbalanced quotes,
``[[ ]]``, arithmetic, …) a conservative tokeniser splits it on shell
punctuation instead and :attr:`ParsedCommand.parse_error` says why.  A line
without shell metacharacters skips bashlex (a plain word split is the same
parse), and :func:`parse` caches its results, so a realistic history costs
far less than bashlex's ~0.3 ms per line.
"""

import functools
import re
import shlex
from dataclasses import dataclass, replace

#: How deep payloads (``sh -c``, ``eval``, substitutions…) are parsed.
MAX_DEPTH = 4

#: Shell interpreters whose ``-c`` payload is parsed and that can read a
#: script from a pipe.
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"})

_FAST_OK = re.compile(r"[^|&;<>()$`\\\"'\n\r#{}!\[]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_TIME_KEYWORD = re.compile(r"(^|[;&|(\n]\s*|\b(?:then|do|else)\s+)time(?=\s)")
_IFS = re.compile(r"\$\{IFS\}|\$IFS(?![A-Za-z0-9_])")
_RESERVED = frozenset({"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done",
                       "case", "esac", "function", "select", "time", "coproc", "[["})
_CONTROL_OPS = frozenset({"|", "|&", "||", "&&", ";", "&", ";;", "(", ")", "\n"})
_REDIRECT_OPS = frozenset({">", ">>", "<", "<<", "<<<", ">&", "&>", "&>>", "<&", ">|", "<>"})


@dataclass(frozen=True)
class SimpleCommand:
    """One program that the command line would run.

    ``argv`` starts with the program as written (``/bin/rm``); ``program`` is
    its basename.  When only wrappers were given (``sudo -i``), ``argv`` is
    empty and ``program`` is the last wrapper.
    """

    argv: tuple
    program: str
    wrappers: tuple = ()
    assignments: tuple = ()
    #: ``(operator, target)`` pairs; the operator carries its file descriptor
    #: (``"2>"``) and a descriptor target is written ``"&1"``.
    redirects: tuple = ()
    pipeline_position: int = 0
    pipeline_length: int = 1
    pipes_to: str | None = None
    pipes_from: str | None = None
    #: where the command came from: ``top``, ``shell-c``, ``eval``, ``xargs``,
    #: ``find-exec``, ``ssh``, ``piped-script``, ``cmdsub``, ``procsub``, ``function``,
    #: ``ifs`` (the words re-split on ``${IFS}``).
    origin: str = "top"
    elevated: bool = False
    #: the commands of ``$(…)``/``<(…)`` substitutions in this command's words.
    substitutions: tuple = ()
    #: True for ``sh -c``/``eval``/``su -c``/``ssh host cmd``: the payload is
    #: parsed into commands of its own and this one only carries it.
    runs_payload: bool = False

    @property
    def args(self):
        """The arguments after the program."""
        return self.argv[1:]

    @property
    def nested(self):
        """True when the command came from a payload, substitution or xargs."""
        return self.origin != "top"


@dataclass(frozen=True)
class ParsedCommand:
    """A command line, parsed once; see the module docstring."""

    text: str
    simple_commands: tuple = ()
    #: each pipeline of two or more stages, as the first command of each stage
    pipelines: tuple = ()
    #: list operators in order of appearance (``&&``, ``||``, ``;``, ``&``)
    operators: tuple = ()
    #: names of the functions the line defines
    functions: tuple = ()
    fork_bomb: bool = False
    parse_error: str | None = None

    @property
    def programs(self):
        """The program names, in order, nested ones included."""
        return tuple(c.program for c in self.simple_commands)


@functools.lru_cache(maxsize=8192)
def parse(text):
    """Parse ``text`` into a :class:`ParsedCommand`; never raises; cached."""
    builder = _Builder()
    builder.parse_text(text, _Ctx())
    return builder.finish(text)


def clear_cache():
    """Forget cached parses (benchmarks measure cold cost with it)."""
    parse.cache_clear()


def programs_of(text):
    """Every program running ``text`` would start, in order: wrappers (``sudo``, ``env``…)
    and nested commands included, as a skill's ``terminal_exec`` grant must cover them."""
    found = []
    for simple in parse(text).simple_commands:
        found.extend(simple.wrappers)
        if simple.argv:
            found.append(simple.program)
    return tuple(found)


@dataclass(frozen=True)
class _Ctx:
    origin: str = "top"
    elevated: bool = False
    depth: int = 0
    position: int = 0
    length: int = 1


class _Builder:
    """Collects the commands of one line while its parse trees are walked."""

    def __init__(self):
        self.commands = []
        self.pipelines = []
        self.operators = []
        self.functions = {}
        self.errors = []

    def finish(self, text):
        pipelines = []
        for heads in self.pipelines:
            for i, idx in enumerate(heads):
                self.commands[idx] = replace(
                    self.commands[idx],
                    pipes_from=self.commands[heads[i - 1]].program if i else None,
                    pipes_to=self.commands[heads[i + 1]].program if i + 1 < len(heads) else None)
            pipelines.append(tuple(self.commands[idx] for idx in heads))
        return ParsedCommand(
            text=text, simple_commands=tuple(self.commands), pipelines=tuple(pipelines),
            operators=tuple(self.operators), functions=tuple(self.functions),
            fork_bomb=self._fork_bomb(), parse_error=self.errors[0] if self.errors else None)

    def _fork_bomb(self):
        """A defined function that spawns itself twice (or in the background) and is called."""
        for name, (calls, spawns) in self.functions.items():
            called = any(c.program == name and c.origin != "function" for c in self.commands)
            if called and (calls >= 2 or spawns):
                return True
        return False

    # -- entry points ---------------------------------------------------

    def parse_text(self, text, ctx):
        """Parse a whole line (or payload) and return the indices of its commands."""
        if ctx.depth > MAX_DEPTH:
            self.errors.append("payloads nested too deeply to follow")
            return []
        if not text.strip():
            return []
        if _FAST_OK.fullmatch(text):
            words = text.split()
            if words[0] not in _RESERVED:
                return [self.add_command(words, (), (), ctx)]
        try:
            trees = _bashlex_parse(text)
        except Exception as e:  # bashlex raises many types; none may escape
            self.errors.append(f"could not parse ({type(e).__name__}: {_short(e)}); "
                               "tokenised conservatively")
            return self._fallback(text, ctx)
        heads = []
        for tree in trees:
            heads += self._walk(tree, ctx)
        return heads

    # -- bashlex trees --------------------------------------------------

    def _walk(self, node, ctx):
        kind = node.kind
        if kind == "command":
            return self._command_node(node, ctx)
        if kind == "pipeline":
            stages = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
            heads = []
            for i, stage in enumerate(stages):
                got = self._walk(stage, replace(ctx, position=i, length=len(stages)))
                heads.append(got[0] if got else None)
            if len(stages) > 1 and None not in heads:
                self.pipelines.append(heads)
                self._echo_into_shell(heads, ctx)
            return [h for h in heads if h is not None]
        if kind == "function":
            return self._function_node(node, ctx)
        if kind == "operator":
            if node.op != "\n":
                self.operators.append(node.op)
            return []
        start = len(self.commands)
        heads = []
        for child in _children(node):
            heads += self._walk(child, ctx)
        redirects = getattr(node, "redirects", None)
        if redirects:  # `{ …; } > f` and `( … ) > f` redirect every inner command
            extra = tuple(self._redirect(r, ctx, []) for r in redirects)
            for i in range(start, len(self.commands)):
                cmd = self.commands[i]
                self.commands[i] = replace(cmd, redirects=cmd.redirects + extra)
        return heads

    def _function_node(self, node, ctx):
        name = node.name.word
        start, ops = len(self.commands), len(self.operators)
        self._walk(node.body, replace(ctx, origin="function", position=0, length=1))
        body = [c for c in self.commands[start:] if c.program == name]
        spawns = any(c.pipeline_length > 1 for c in body) or "&" in self.operators[ops:]
        self.functions[name] = (len(body), spawns and bool(body))
        return []

    def _command_node(self, node, ctx):
        words, redirects, subs = [], [], []
        for part in node.parts:
            if part.kind in ("word", "assignment"):
                words.append(part.word)
                subs += self._substitutions(part, ctx)
            elif part.kind == "redirect":
                redirects.append(self._redirect(part, ctx, subs))
        return [self.add_command(words, tuple(redirects), tuple(subs), ctx)]

    def _redirect(self, part, ctx, subs):
        fd = "" if part.input is None else str(part.input)
        if isinstance(part.output, int):
            return (fd + part.type, f"&{part.output}")
        if isinstance(part.output, str):  # bashlex gives ``<&-`` / ``>&-`` (close) as text
            return (fd + part.type, part.output)
        subs += self._substitutions(part.output, ctx)
        return (fd + part.type, part.output.word)

    def _substitutions(self, word, ctx):
        found = []
        stack = list(getattr(word, "parts", ()) or ())
        while stack:
            part = stack.pop()
            if part.kind in ("commandsubstitution", "processsubstitution"):
                origin = "cmdsub" if part.kind == "commandsubstitution" else "procsub"
                sub_ctx = _Ctx(origin=origin, elevated=ctx.elevated, depth=ctx.depth + 1)
                start = len(self.commands)
                self._walk(part.command, sub_ctx)
                found += self.commands[start:]
            else:
                stack += getattr(part, "parts", ()) or ()
        return found

    def _echo_into_shell(self, heads, ctx):
        """``echo 'cmd' | sh`` runs the echoed text: parse it as a payload."""
        for before, after in zip(heads, heads[1:]):
            src, dst = self.commands[before], self.commands[after]
            if src.program in ("echo", "printf") and reads_script_from_stdin(dst):
                text = " ".join(a for a in src.args if not a.startswith("-")).replace("\\n", "\n")
                self.commands[after] = replace(dst, runs_payload=True)
                self.parse_text(text, _Ctx(origin="piped-script", elevated=dst.elevated,
                                           depth=ctx.depth + 1))

    # -- fallback tokeniser ---------------------------------------------

    def _fallback(self, text, ctx):
        tokens = _tokenise(text)
        heads, stage_heads, words, redirects = [], [], [], []
        i = 0

        def flush():
            if words or redirects:
                stage_heads.append(self.add_command(list(words), tuple(redirects), (), ctx))
            words.clear()
            redirects.clear()

        def end_pipeline():
            if len(stage_heads) > 1:
                for pos, idx in enumerate(stage_heads):
                    self.commands[idx] = replace(self.commands[idx], pipeline_position=pos,
                                                 pipeline_length=len(stage_heads))
                self.pipelines.append(list(stage_heads))
            heads.extend(stage_heads)
            stage_heads.clear()

        while i < len(tokens):
            tok = tokens[i]
            if tok in ("|", "|&"):
                flush()
            elif tok in _CONTROL_OPS:
                flush()
                end_pipeline()
                if tok not in ("(", ")", "\n"):
                    self.operators.append(tok)
            elif tok in _REDIRECT_OPS:
                fd = words.pop() if words and words[-1].isdigit() else ""
                target = tokens[i + 1] if i + 1 < len(tokens) else ""
                redirects.append((fd + tok, target))
                i += 1
            else:
                words.append(tok)
            i += 1
        flush()
        end_pipeline()
        return heads

    # -- one simple command ---------------------------------------------

    def add_command(self, words, redirects, subs, ctx):
        """Resolve wrappers and payloads of one command; return its index."""
        i = 0
        while i < len(words) and _ASSIGNMENT.match(words[i]):
            i += 1
        assignments, argv = tuple(words[:i]), list(words[i:])
        wrappers, elevated, origin = [], ctx.elevated, ctx.origin
        while argv:
            name = basename(argv[0])
            unwrap = _WRAPPERS.get(name)
            inner = unwrap(argv) if unwrap else None
            if not inner:
                break
            wrappers.append(name)
            elevated = elevated or name in ("sudo", "doas")
            origin = "xargs" if name == "xargs" else origin
            argv = inner
        program = basename(argv[0]) if argv else (wrappers[-1] if wrappers else "")
        elevated = elevated or program in ("sudo", "doas", "su")
        cmd = SimpleCommand(
            argv=tuple(argv), program=program, wrappers=tuple(wrappers), assignments=assignments,
            redirects=tuple(redirects), pipeline_position=ctx.position,
            pipeline_length=ctx.length, origin=origin, elevated=elevated,
            substitutions=tuple(subs))
        index = len(self.commands)
        self.commands.append(cmd)
        self._payloads(index, cmd, ctx)
        if any("IFS" in word for word in words):
            # `rm${IFS}-rf${IFS}/`: word splitting on IFS hides the real words
            spaced = _IFS.sub(" ", " ".join(words))
            if spaced != " ".join(words):
                self.parse_text(spaced, _Ctx(origin="ifs", elevated=elevated, depth=ctx.depth + 1))
        return index

    def _payloads(self, index, cmd, ctx):
        """Parse what ``cmd`` hands to another interpreter, as nested commands."""
        found = _payload_of(cmd)
        if found is None:
            return
        origin, payload = found
        inner = _Ctx(origin=origin, elevated=cmd.elevated, depth=ctx.depth + 1)
        if origin == "find-exec":
            self.add_command(payload, (), (), inner)
            return
        self.commands[index] = replace(cmd, runs_payload=True)
        self.parse_text(payload, inner)


def basename(word):
    """The program name of a command word: ``/usr/bin/rm`` → ``rm``.

    A word built at run time (``$(…)``, ``$VAR``, backquotes) is kept whole.
    """
    if "$" in word or "`" in word or "/" not in word.rstrip("/"):
        return word
    return word.rstrip("/").rsplit("/", 1)[-1]


def _children(node):
    for attr in ("parts", "list"):
        for child in getattr(node, attr, None) or ():
            if hasattr(child, "kind") and child.kind not in ("word", "reservedword", "pipe"):
                yield child
    for attr in ("command",):
        child = getattr(node, attr, None)
        if child is not None and hasattr(child, "kind"):
            yield child


def _short(error):
    return str(error).splitlines()[0][:80] if str(error) else "unsupported syntax"


def _bashlex_parse(text):
    import bashlex  # imported on first use: `caro --help` does not pay for it

    try:
        return bashlex.parse(text)
    except NotImplementedError as e:
        # bash's `time` keyword is not in bashlex's grammar; `\time` (the same
        # command, as a word) is, and the wrapper table looks through it.
        if "time" not in str(e):
            raise
        return bashlex.parse(_TIME_KEYWORD.sub(r"\1\\time", text))


def _tokenise(text):
    """Split on shell punctuation, tolerating unbalanced quotes."""
    for suffix in ("", '"', "'"):
        lexer = shlex.shlex(text + suffix, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            return list(lexer)
        except ValueError:
            continue
    return text.split()


def reads_script_from_stdin(cmd):
    """A shell with no ``-c`` and no script file reads its script from stdin."""
    if cmd.program not in SHELLS or cmd.pipeline_position == 0:
        return False
    positional = [a for a in cmd.args if not a.startswith(("-", "+"))]
    return not positional or "-s" in cmd.args or positional[0] == "-"


# -- payloads -----------------------------------------------------------------

def _payload_of(cmd):
    """``(origin, payload)`` for commands that run other code, else None.

    The payload is text for interpreters and an argv list for ``find -exec``.
    """
    program, args = cmd.program, list(cmd.args)
    if program in SHELLS:
        text = _shell_c_payload(args)
        return ("shell-c", text) if text is not None else None
    if program == "eval" and args:
        return ("eval", " ".join(args))
    if program == "su":
        for i, arg in enumerate(args):
            if arg in ("-c", "--command") and i + 1 < len(args):
                return ("shell-c", args[i + 1])
            if arg.startswith("--command="):
                return ("shell-c", arg.split("=", 1)[1])
        return None
    if program == "find":
        for i, arg in enumerate(args):
            if arg in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+")), len(args))
                if end > i + 1:
                    return ("find-exec", args[i + 1:end])
        return None
    if program == "ssh":
        host = _skip_options(args, _SSH_WITH_ARG, positional=1)
        if host is None:
            return None
        after = _skip_options(args[host:], _SSH_WITH_ARG)
        if after is None:  # an option missing its argument: no remote command
            return None
        rest = host + after
        return ("ssh", " ".join(args[rest:])) if rest < len(args) else None
    return None


def _shell_c_payload(args):
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith(("-", "+")) or arg in ("-", "+"):
            return None
        if arg in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if not arg.startswith("--") and "c" in arg[1:]:
            return args[i + 1] if i + 1 < len(args) else None
        i += 1
    return None


# -- wrappers -----------------------------------------------------------------
# Each unwrapper takes the argv starting at the wrapper and returns the argv of
# the command it runs, or None when this use of the program wraps nothing.

_SSH_WITH_ARG = frozenset("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B".split())


def _skip_options(args, with_arg, positional=0):
    """Index in ``args`` after the options (and ``positional`` leading operands)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        if arg in with_arg:
            i += 2
        else:
            i += 1
    for _ in range(positional):
        if i >= len(args):
            return None
        i += 1
    return i if i <= len(args) else None


def _options_wrapper(with_arg, positional=0, refuse=()):
    def unwrap(argv):
        args = argv[1:]
        if refuse and any(a in refuse for a in args[:_skip_options(args, with_arg)]):
            return None
        start = _skip_options(args, with_arg, positional)
        return args[start:] if start is not None and start < len(args) else None
    return unwrap


def _unwrap_env(argv):
    args = argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-S", "--split-string") and i + 1 < len(args):
            return _tokenise(args[i + 1]) + args[i + 2:]
        if arg.startswith("--split-string="):
            return _tokenise(arg.split("=", 1)[1]) + args[i + 1:]
        if arg in ("-u", "--unset", "-C", "--chdir"):
            i += 2
        elif arg == "--":
            i += 1
            break
        elif arg.startswith("-") and arg != "-" or _ASSIGNMENT.match(arg):
            i += 1
        else:
            break
    while i < len(args) and _ASSIGNMENT.match(args[i]):
        i += 1
    return args[i:] or None


def _unwrap_watch(argv):
    inner = _options_wrapper(frozenset({"-n", "--interval", "-q", "--equexit"}))(argv)
    if inner and len(inner) == 1 and " " in inner[0]:
        return _tokenise(inner[0])
    return inner


_WRAPPERS = {
    "sudo": _options_wrapper(frozenset(
        "-u -g -C -D -p -r -t -U -T -R -h --user --group --close-from --chdir --prompt "
        "--role --type --other-user --command-timeout --host".split()),
        refuse=("-e", "--edit", "-l", "--list", "-v", "--validate", "-k", "-K")),
    "doas": _options_wrapper(frozenset({"-u", "-C"})),
    "env": _unwrap_env,
    "command": _options_wrapper(frozenset(), refuse=("-v", "-V")),
    "builtin": _options_wrapper(frozenset()),
    "exec": _options_wrapper(frozenset({"-a"})),
    "time": _options_wrapper(frozenset({"-f", "--format", "-o", "--output"})),
    "nohup": _options_wrapper(frozenset()),
    "setsid": _options_wrapper(frozenset()),
    "unbuffer": _options_wrapper(frozenset()),
    "torsocks": _options_wrapper(frozenset()),
    "proxychains": _options_wrapper(frozenset({"-f"})),
    "proxychains4": _options_wrapper(frozenset({"-f"})),
    "nice": _options_wrapper(frozenset({"-n", "--adjustment"})),
    "ionice": _options_wrapper(frozenset({"-c", "--class", "-n", "--classdata", "-p", "--pid",
                                          "-P", "--pgid", "-u", "--uid"})),
    "timeout": _options_wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), positional=1),
    "stdbuf": _options_wrapper(frozenset({"-i", "--input", "-o", "--output", "-e", "--error"})),
    "chroot": _options_wrapper(frozenset({"--userspec", "--groups"}), positional=1),
    "xargs": _options_wrapper(frozenset(
        "-I -L -n -P -s -d -E -a --max-args --max-procs --max-lines --delimiter "
        "--arg-file --eof --max-chars --replace".split())),
    "watch": _unwrap_watch,
    "strace": _options_wrapper(frozenset("-o -e -p -s -u -E -P -I -b -a -X -O -S".split()),
                               refuse=("-p",)),
    "ltrace": _options_wrapper(frozenset("-o -e -p -s -u -n -a -A -D -F -L -x".split()),
                               refuse=("-p",)),
}
