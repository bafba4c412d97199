"""Layer-2 recipes: parse a skill's recipe files, match a request, fill the parameters.

The file format is documented in ``docs/skills.md`` and its schema is
``$defs/recipe_file`` of ``schemas/skill.schema.json``.  This module adds what
a schema cannot check (every ``{placeholder}`` is a defined parameter, regular
expressions compile, defaults are valid values) and turns a matching request
into :class:`~caro_core.skills.RecipeStep` tuples whose parameter values are
validated and shell-quoted, so a request can never inject shell syntax.
"""

import os
import re
import shlex
from dataclasses import dataclass

from .skills import CONFIRMATIONS, RecipeStep, SkillError

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_WORD = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_TRUE = {"yes", "y", "true", "on", "1"}
_FALSE = {"no", "n", "false", "off", "0"}
_TYPES = ("string", "integer", "boolean", "path", "choice")
_RISKS = ("safe", "moderate", "high", "critical")


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
class Recipe:
    """One recipe of a skill; :meth:`match` and :meth:`steps` do the work."""

    skill_id: str
    id: str
    title: str
    description: str
    priority: int
    confirmation: str
    keywords: tuple
    intents: tuple          # (template, compiled regex)
    parameters: dict        # name -> Parameter
    commands_needed: tuple
    env_needed: tuple
    raw_steps: tuple        # (role, dict)

    @property
    def full_id(self):
        return f"{self.skill_id}/{self.id}"

    def match(self, request):
        """``(score 0..1, values)`` when ``request`` triggers this recipe, else None.

        ``values`` holds every parameter, typed and validated; None is returned
        too when a required value is missing or invalid.
        """
        captured, score = None, 0.0
        for _template, regex in self.intents:
            found = regex.search(request)
            if found:
                captured, score = found.groupdict(), 0.9
                break
        if captured is None:
            if not self.keywords:
                return None
            lowered = " " + " ".join(_WORD.findall(request.lower())) + " "
            hits = sum(1 for k in self.keywords if f" {k} " in lowered)
            share = hits / len(self.keywords)
            if share < 0.5:
                return None
            captured, score = {}, 0.3 + 0.5 * share
        try:
            return score, self._values(request, captured)
        except InvalidValue:
            return None

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
    """A regex for an intent: words match case-insensitively with any spacing, ``[word]`` is
    optional, ``{name}`` captures one word or a quoted string into parameter ``name``."""
    pieces, pos, seen = [], 0, set()
    for match in _PLACEHOLDER.finditer(template):
        pieces.extend(_literal(word) for word in template[pos:match.start()].split())
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
    pieces.extend(_literal(word) for word in template[pos:].split())
    if not pieces or all(optional for _, optional in pieces):
        raise SkillError(f"{where}: an intent needs at least one word that is not optional")
    regex, glue = "", ""
    for piece, optional in pieces:
        if optional:
            regex += f"(?:{glue}{piece})?" if glue else f"(?:{piece}\\s+)?"
        else:
            regex += glue + piece
            glue = r"\s+"
    return re.compile(r"(?<!\w)" + regex + r"(?!\w)", re.IGNORECASE)


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
    intents = tuple((t, _intent_regex(t, params, f"{field}.triggers.intents[{n}]"))
                    for n, t in enumerate(triggers.get("intents", ())))
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
                  intents=intents, parameters=params,
                  commands_needed=tuple(pre.get("commands", ())),
                  env_needed=tuple(pre.get("env", ())), raw_steps=tuple(steps))


def load_recipes(skill):
    """Every recipe of ``skill``'s recipe files; raise :class:`SkillError` on the first problem."""
    from .skill_manifest import read_toml

    recipes, seen = [], set()
    for name in skill.manifest.get("recipes", {}).get("files", ()):
        path = skill.directory / name
        data = read_toml(path)
        entries = data.get("recipe")
        if not isinstance(entries, list):
            raise SkillError(f"{path}: recipe: expected [[recipe]] tables")
        for n, entry in enumerate(entries):
            recipe = parse_recipe(skill.id, entry, path, n)
            if recipe.id in seen:
                raise SkillError(f"{path}: recipe[{n}].id: {recipe.id!r} is defined twice")
            seen.add(recipe.id)
            recipes.append(recipe)
    return recipes
