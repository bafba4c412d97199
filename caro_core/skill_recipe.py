"""Layer-2 recipes: parse a skill's recipe files, match a request, fill the parameters.

The file format is documented in ``docs/skills.md`` and its schema is
``$defs/recipe_file`` of ``schemas/skill.schema.json``.  This module adds what
a schema cannot check (every ``{placeholder}`` is a defined parameter, regular
expressions compile, defaults are valid values) and turns a matching request
into :class:`~caro_core.skills.RecipeStep` tuples whose parameter values are
validated and shell-quoted, so a request can never inject shell syntax.

A request pays only for the recipes it could trigger: an intent's regular
expression is compiled, and tried, only when the request contains every word
the intent requires (a substring test).  Parsed recipe files are kept in
``$CARO_HOME/recipes.cache/<skill id>.json`` (:class:`RecipeCache`), keyed by
the BLAKE3 hash of each file's bytes, which are read every time: an edited
file is parsed again, never served stale.
"""

import functools
import json
import os
import re
import shlex
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import blake3

from . import __version__
from .skills import CONFIRMATIONS, RecipeStep, SkillError

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_WORD = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_TRUE = {"yes", "y", "true", "on", "1"}
_FALSE = {"no", "n", "false", "off", "0"}
_TYPES = ("string", "integer", "boolean", "path", "choice")
_RISKS = ("safe", "moderate", "high", "critical")
#: Words an intent placeholder never takes as a value (unless quoted): "restart the
#: network service" does not name a deployment called "the".
_FILLER = frozenset("a an the this that these those my our your his her their its it them me "
                    "us some".split())
#: The folder of ``$CARO_HOME`` holding the parsed recipes, one JSON file per skill.
CACHE_DIR = "recipes.cache"
#: Changes whenever :meth:`Recipe.to_json` writes something else.
CACHE_FORMAT = 1


class InvalidValue(ValueError):
    """A parameter value that does not fit its type or constraints."""


@dataclass(frozen=True)
class Parameter:
    """A typed recipe parameter."""

    name: str
    type: str
    description: str = ""
    default: object = None
    required: bool = True
    pattern: str = ""
    extract: str = ""
    choices: tuple = ()
    min: int | None = None
    max: int | None = None

    def convert(self, raw):
        """The typed value of ``raw`` (text or a TOML value); raise :class:`InvalidValue`."""
        text = str(raw).strip()
        if self.type == "integer":
            try:
                value = int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else int(text)
            except ValueError:
                raise InvalidValue(f"{self.name}: {text!r} is not an integer") from None
            if (self.min is not None and value < self.min) or (
                    self.max is not None and value > self.max):
                raise InvalidValue(f"{self.name}: {value} is outside {self.min}..{self.max}")
            return value
        if self.type == "boolean":
            if isinstance(raw, bool):
                return raw
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise InvalidValue(f"{self.name}: {text!r} is not yes/no")
        if self.type == "choice":
            for choice in self.choices:
                if choice.lower() == text.lower():
                    return choice
            raise InvalidValue(f"{self.name}: {text!r} is not one of {', '.join(self.choices)}")
        if not text and self.required:
            raise InvalidValue(f"{self.name}: empty")
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise InvalidValue(f"{self.name}: {text!r} does not match {self.pattern!r}")
        return os.path.expanduser(text) if self.type == "path" else text


@dataclass(frozen=True)
class Intent:
    """An intent trigger: its phrase, the regular expression it compiles to, and the words
    (lowercase) a request must contain before the expression is worth compiling and trying."""

    template: str
    pattern: str
    needs: tuple

    def search(self, request, folded):
        """The placeholders' captured text when ``request`` contains the phrase, else None.

        ``folded`` is the request lowercased, or None when it is not ASCII (then the
        substring test could differ from the case-insensitive expression and is skipped).
        A placeholder that caught a filler word (``the``, ``my``…) means no match.
        """
        if folded is not None and not all(word in folded for word in self.needs):
            return None
        found = _compiled(self.pattern).search(request)
        if found is None:
            return None
        captured = found.groupdict()
        if any(value.lower().rstrip(",;:!?") in _FILLER for value in captured.values()):
            return None
        return captured


@dataclass(frozen=True)
class Recipe:
    """One recipe of a skill; :meth:`match` and :meth:`steps` do the work."""

    skill_id: str
    id: str
    title: str
    description: str
    priority: int
    confirmation: str
    keywords: tuple
    intents: tuple          # Intent
    parameters: dict        # name -> Parameter
    commands_needed: tuple
    env_needed: tuple
    raw_steps: tuple        # (role, dict)

    @property
    def full_id(self):
        return f"{self.skill_id}/{self.id}"

    def match(self, request, subject=frozenset()):
        """``(score 0..1, values)`` when ``request`` triggers this recipe, else None.

        The intent with the most words found in the request counts (the first of
        equals): 0.9, or 0.6 when its phrase requires a single word and the request
        does not name the skill (a word of ``subject``, :func:`subject_words`) —
        ``restart {deployment}`` only guesses that "restart nginx" is about
        Kubernetes.  Otherwise the keywords decide: at least half of them must occur,
        and two different words must back the match — two keywords, or one and a word
        of ``subject`` — so one generic word ("build") never triggers a recipe.
        ``values`` holds every parameter, typed and validated; None is returned too
        when a required value is missing or invalid.
        """
        folded, words, spaced = _analysed(request)
        captured, score = None, 0.0
        for intent in self.intents:
            captured = intent.search(request, folded)
            if captured is not None:
                score = 0.9 if len(intent.needs) > 1 or subject & words else 0.6
                break
        if captured is None:
            hits = [k for k in self.keywords if f" {k} " in spaced]
            backing = {word for k in hits for word in k.split()} | (subject & words)
            if not hits or 2 * len(hits) < len(self.keywords) or len(backing) < 2:
                return None
            captured, score = {}, 0.3 + 0.5 * len(hits) / len(self.keywords)
        try:
            return score, self._values(request, captured)
        except InvalidValue:
            return None

    def to_json(self):
        """The recipe as JSON data for :class:`RecipeCache` (without the skill id)."""
        return {"id": self.id, "title": self.title, "description": self.description,
                "priority": self.priority, "confirmation": self.confirmation,
                "keywords": self.keywords,
                "intents": [[i.template, i.pattern, i.needs] for i in self.intents],
                "parameters": {name: asdict(p) for name, p in self.parameters.items()},
                "commands_needed": self.commands_needed, "env_needed": self.env_needed,
                "raw_steps": self.raw_steps}

    @classmethod
    def from_json(cls, skill_id, data):
        """The recipe :meth:`to_json` wrote; KeyError, TypeError or ValueError when malformed."""
        return cls(skill_id=skill_id, id=data["id"], title=data["title"],
                   description=data["description"], priority=int(data["priority"]),
                   confirmation=data["confirmation"], keywords=tuple(data["keywords"]),
                   intents=tuple(Intent(t, p, tuple(n)) for t, p, n in data["intents"]),
                   parameters={name: Parameter(**{**p, "choices": tuple(p["choices"])})
                               for name, p in data["parameters"].items()},
                   commands_needed=tuple(data["commands_needed"]),
                   env_needed=tuple(data["env_needed"]),
                   raw_steps=tuple((role, dict(step)) for role, step in data["raw_steps"]))

    def _values(self, request, captured):
        values = {}
        for name, param in self.parameters.items():
            raw = captured.get(name)
            if raw is None and param.extract:
                found = re.search(param.extract, request, re.IGNORECASE)
                if found:
                    raw = found.group(1) if found.groups() else found.group(0)
            if raw is not None:
                raw = _unquote(raw)
            elif param.default is not None:
                raw = param.default
            elif not param.required:
                values[name] = ""
                continue
            else:
                raise InvalidValue(f"{name}: no value")
            values[name] = param.convert(raw)
        return values

    def preconditions_met(self, which, environ):
        """True when every needed program is found by ``which`` and every variable is set."""
        return (all(which(program) for program in self.commands_needed)
                and all(name in environ for name in self.env_needed))

    def title_for(self, values):
        return render(self.title, values, quote=False)

    def steps(self, values, default_confirmation="prompt"):
        """The recipe's steps, verification and rollback with ``values`` filled in."""
        out = []
        recipe_confirmation = self.confirmation or default_confirmation
        for role, step in self.raw_steps:
            out.append(RecipeStep(
                command=render(step["command"], values, quote=True),
                description=render(step.get("description", ""), values, quote=False),
                risk=step.get("risk", "safe"),
                confirmation=step.get("confirmation", recipe_confirmation),
                expected_output=render(step.get("expected_output", ""), values, quote=False),
                expect=step.get("expect", ""),
                timeout=float(step.get("timeout", 60)),
                role=role))
        return tuple(out)


def render(template, values, quote):
    """Fill ``{name}`` placeholders; ``quote`` shell-quotes each value (command templates)."""
    def fill(match):
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = values[match.group(1)]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if not quote:
            return text
        return text if re.fullmatch(r"[A-Za-z0-9_./:=@%+,~-]+", text) and not \
            text.startswith("~") else shlex.quote(text)
    return _PLACEHOLDER.sub(fill, template)


def _unquote(text):
    """A captured word without its quotes, or without trailing sentence punctuation."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text.rstrip(",;:!?") if len(text) > 1 else text


def _intent_regex(template, names, where):
    """``(regex, needs)`` of an intent: words match case-insensitively with any spacing,
    ``[word]`` is optional, ``{name}`` captures one word or a quoted string into parameter
    ``name``; ``needs`` are the lowercase ASCII words a matching request must contain."""
    pieces, needs, pos, seen = [], [], 0, set()

    def literals(text):
        for word in text.split():
            piece = _literal(word)
            pieces.append(piece)
            if not piece[1] and word.isascii():
                needs.append(word.lower())

    for match in _PLACEHOLDER.finditer(template):
        literals(template[pos:match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append((re.escape(token[0]), False))
        else:
            name = _placeholder_name(match, names, where)
            if name in seen:
                raise SkillError(f"{where}: parameter {{{name}}} appears twice")
            seen.add(name)
            pieces.append((rf"(?P<{name}>\"[^\"]*\"|'[^']*'|\S+)", False))
        pos = match.end()
    literals(template[pos:])
    if not pieces or all(optional for _, optional in pieces):
        raise SkillError(f"{where}: an intent needs at least one word that is not optional")
    regex, glue = "", ""
    for piece, optional in pieces:
        if optional:
            regex += f"(?:{glue}{piece})?" if glue else f"(?:{piece}\\s+)?"
        else:
            regex += glue + piece
            glue = r"\s+"
    return r"(?<!\w)" + regex + r"(?!\w)", tuple(dict.fromkeys(needs))


@functools.lru_cache(maxsize=None)
def _compiled(pattern):
    """An intent's regular expression, compiled on its first use in this process."""
    return re.compile(pattern, re.IGNORECASE)


@functools.lru_cache(maxsize=32)
def _analysed(request):
    """``(folded, words, spaced)`` of a request: lowercased (None unless ASCII, see
    :meth:`Intent.search`), its set of words, and its words joined by single spaces."""
    lowered = request.lower()
    words = _WORD.findall(lowered)
    return (lowered if request.isascii() else None), frozenset(words), f" {' '.join(words)} "


def subject_words(skill):
    """The words naming ``skill``: its ``[skill] keywords`` and the name part of its id."""
    meta = skill.manifest.get("skill", {})
    text = " ".join([*meta.get("keywords", ()), skill.id.split(".", 1)[-1].replace("-", " ")])
    return frozenset(_WORD.findall(text.lower()))


def _literal(word):
    """``(regex, optional)`` of one literal intent word; ``[word]`` is optional."""
    if len(word) > 2 and word[0] == "[" and word[-1] == "]":
        return re.escape(word[1:-1]), True
    return re.escape(word), False


def _placeholder_name(match, names, where):
    name = match.group(1).strip()
    if not _NAME.fullmatch(name) or name not in names:
        defined = ", ".join(sorted(names)) or "none"
        raise SkillError(f"{where}: undefined parameter {{{name}}} (defined: {defined})")
    return name


def _check_placeholders(template, names, where):
    for match in _PLACEHOLDER.finditer(template):
        if match.group(0) not in ("{{", "}}"):
            _placeholder_name(match, names, where)


def _compile_regex(pattern, where):
    try:
        re.compile(pattern)
    except re.error as e:
        raise SkillError(f"{where}: not a valid regular expression: {e}") from None
    return pattern


def parse_recipe(skill_id, data, path, index):
    """One :class:`Recipe` from a ``[[recipe]]`` table; raise :class:`SkillError` naming the field."""
    field = f"{path}: recipe[{index}]"
    if not isinstance(data, dict):
        raise SkillError(f"{field}: expected a table")
    for key in ("id", "title", "steps"):
        if key not in data:
            raise SkillError(f"{field}.{key}: required field missing")
    params = {}
    for name, spec in (data.get("parameters") or {}).items():
        where = f"{field}.parameters.{name}"
        if not _NAME.fullmatch(name) or not isinstance(spec, dict):
            raise SkillError(f"{where}: expected a table named with lowercase letters and _")
        kind = spec.get("type")
        if kind not in _TYPES:
            raise SkillError(f"{where}.type: expected one of {', '.join(_TYPES)}, got {kind!r}")
        if kind == "choice" and not spec.get("choices"):
            raise SkillError(f"{where}.choices: required for type choice")
        param = Parameter(name, kind, spec.get("description", ""), spec.get("default"),
                          bool(spec.get("required", True)),
                          _compile_regex(spec.get("pattern", ""), f"{where}.pattern"),
                          _compile_regex(spec.get("extract", ""), f"{where}.extract"),
                          tuple(spec.get("choices", ())), spec.get("min"), spec.get("max"))
        if param.default is not None:
            try:
                param.convert(param.default)
            except InvalidValue as e:
                raise SkillError(f"{where}.default: invalid: {e}") from None
        params[name] = param
    triggers = data.get("triggers") or {}
    if not triggers.get("keywords") and not triggers.get("intents"):
        raise SkillError(f"{field}.triggers: needs keywords or intents")
    intents = [Intent(t, *_intent_regex(t, params, f"{field}.triggers.intents[{n}]"))
               for n, t in enumerate(triggers.get("intents", ()))]
    intents.sort(key=lambda intent: -len(intent.needs))   # the most specific is tried first
    _check_placeholders(data["title"], params, f"{field}.title")
    steps = []
    for role, key in (("run", "steps"), ("verify", "verification"), ("rollback", "rollback")):
        for n, step in enumerate(data.get(key, ())):
            where = f"{field}.{key}[{n}]"
            if not isinstance(step, dict) or not isinstance(step.get("command"), str):
                raise SkillError(f"{where}.command: required field missing")
            for text_field in ("command", "description", "expected_output"):
                _check_placeholders(step.get(text_field, ""), params, f"{where}.{text_field}")
            if step.get("risk", "safe") not in _RISKS:
                raise SkillError(f"{where}.risk: expected one of {', '.join(_RISKS)}")
            if step.get("confirmation", "prompt") not in CONFIRMATIONS:
                raise SkillError(f"{where}.confirmation: expected one of {', '.join(CONFIRMATIONS)}")
            _compile_regex(step.get("expect", ""), f"{where}.expect")
            steps.append((role, step))
    if not any(role == "run" for role, _ in steps):
        raise SkillError(f"{field}.steps: at least one step is required")
    pre = data.get("preconditions") or {}
    return Recipe(skill_id=skill_id, id=data["id"], title=data["title"],
                  description=data.get("description", ""), priority=int(data.get("priority", 50)),
                  confirmation=data.get("confirmation", ""),
                  keywords=tuple(" ".join(_WORD.findall(k.lower()))
                                 for k in triggers.get("keywords", ())),
                  intents=tuple(intents), parameters=params,
                  commands_needed=tuple(pre.get("commands", ())),
                  env_needed=tuple(pre.get("env", ())), raw_steps=tuple(steps))


def load_recipes(skill, home=None):
    """Every recipe of ``skill``'s recipe files; raise :class:`SkillError` on the first problem.

    With ``home`` (a node's home), files whose bytes are unchanged come from its
    :class:`RecipeCache` and files parsed anew are added to it.
    """
    cache = RecipeCache(home, skill.id) if home is not None else None
    recipes, seen = [], set()
    for name in skill.manifest.get("recipes", {}).get("files", ()):
        path = skill.directory / name
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SkillError(f"{path}: cannot read: {e.strerror}") from None
        digest = blake3.blake3(data).hexdigest()
        parsed = cache.get(name, digest, skill.id) if cache is not None else None
        if parsed is None:
            parsed = parse_file(skill.id, path, data)
            if cache is not None:
                cache.put(name, digest, parsed)
        for n, recipe in enumerate(parsed):
            if recipe.id in seen:
                raise SkillError(f"{path}: recipe[{n}].id: {recipe.id!r} is defined twice")
            seen.add(recipe.id)
            recipes.append(recipe)
    if cache is not None:
        cache.save()
    return recipes


def parse_file(skill_id, path, data):
    """The recipes of one recipe file, given its bytes; raise :class:`SkillError`."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SkillError(f"{path}: TOML syntax error: {e}") from None
    entries = document.get("recipe")
    if not isinstance(entries, list):
        raise SkillError(f"{path}: recipe: expected [[recipe]] tables")
    return [parse_recipe(skill_id, entry, path, n) for n, entry in enumerate(entries)]


class RecipeCache:
    """The parsed recipe files of one skill in ``$CARO_HOME/recipes.cache/<skill id>.json``.

    An entry is keyed by the BLAKE3 hash of the file's bytes (which the caller reads
    each time), and the whole cache by :data:`CACHE_FORMAT` and Caro's version, so
    neither an edited file nor a new Caro is ever served old recipes.  A malformed
    entry counts as missing.  The cache is only written into an existing home;
    deleting it is harmless.
    """

    def __init__(self, home, skill_id):
        self.home = Path(home)
        self.path = self.home / CACHE_DIR / f"{skill_id}.json"
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            data = None
        fresh = (isinstance(data, dict) and data.get("format") == CACHE_FORMAT
                 and data.get("caro") == __version__ and isinstance(data.get("files"), dict))
        self.files = data["files"] if fresh else {}
        self.used = {}

    def get(self, name, digest, skill_id):
        """The recipes of file ``name`` when cached for bytes hashing to ``digest``, else None."""
        entry = self.files.get(name)
        try:
            if entry[0] != digest:
                return None
            recipes = [Recipe.from_json(skill_id, item) for item in entry[1]]
        except (LookupError, TypeError, ValueError, AttributeError):
            return None
        self.used[name] = entry
        return recipes

    def put(self, name, digest, recipes):
        """Remember the recipes parsed from file ``name`` whose bytes hash to ``digest``."""
        self.used[name] = [digest, [recipe.to_json() for recipe in recipes]]

    def save(self):
        """Write the entries used by this load when they differ from what was read."""
        if self.used == self.files or not self.home.is_dir():
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            tmp.write_text(json.dumps({"format": CACHE_FORMAT, "caro": __version__,
                                       "files": self.used}), encoding="utf-8")
            os.replace(tmp, self.path)
        except (OSError, TypeError, ValueError):  # a read-only home, a value JSON cannot hold
            tmp.unlink(missing_ok=True)
