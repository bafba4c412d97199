"""Layer 3 of skills: a skill's WASM module answers the hooks it exports.

For every enabled skill with ``[provides] executable = true`` this plugin
checks the module named in ``[executable] module`` (without compiling it) and
returns one plugin object whose hook methods are exactly the hooks listed in
``[executable] exports``.  Each method encodes its arguments as JSON, calls the
module in the sandbox of :mod:`caro_core.wasm` and decodes the answer; a module
that faults gives no answer for that call and every other plugin keeps
answering.  Unless the skill was granted ``secrets_access``, the command lines
a module sees have their secrets redacted.  When ``[executable] programs`` is
set, the hooks that receive a command call the module only for lines that run
one of those programs; any other line costs nothing.  docs/skills_wasm.md
describes the JSON of each hook.
"""

from caro_core import hookimpl
from caro_core.skills import MANIFEST, SkillError, SkillPlugin


@hookimpl
def caro_skill_plugins(skill):
    """The plugin object of a skill's WASM module; raises SkillError or ModuleRejected."""
    if not skill.manifest.get("provides", {}).get("executable"):
        return []
    path = skill.directory / MANIFEST
    executable = skill.manifest.get("executable", {})
    if "module" not in executable:
        raise SkillError(f"{path}: [executable] module: required field missing")
    exports = executable.get("exports", [])
    for name in exports:
        if name not in HOOKS:
            raise SkillError(f"{path}: [executable] exports: {name} is not a hook a module can "
                             f"implement (one of {', '.join(HOOKS)})")
    from caro_core.wasm import Grants, Limits, SkillModule

    module = SkillModule(skill.id, skill.directory / executable["module"], exports,
                         Grants.for_skill(skill), skill.audit, Limits.for_manifest(executable))
    plugin_class = type("WasmSkillPlugin", (WasmSkillPlugin,),
                        {name: hookimpl(vars(_Hooks)[name]) for name in exports})
    return [plugin_class(skill, module)]


class WasmSkillPlugin(SkillPlugin):
    """The plugin object of one skill's module; its subclass adds the hooks the module exports."""

    def __init__(self, skill, module):
        super().__init__(skill)
        self.module = module
        # the node's secret redaction (text -> text), attached by the skill loader
        redact = getattr(skill, "redact", None)
        self.redact = None if "secrets_access" in skill.granted else redact
        #: the programs whose command lines the module judges (None: every line)
        programs = skill.manifest.get("executable", {}).get("programs")
        self.programs = frozenset(programs) if programs else None

    def concerns(self, command):
        """True when the module should see the parsed ``command``: it runs one of
        ``[executable] programs`` (nested commands included), or no list was given."""
        return self.programs is None or not self.programs.isdisjoint(command.programs)

    def __repr__(self):
        return f"<WasmSkillPlugin {self.skill.id}>"

    def redacted(self, text):
        """``text`` with its secrets redacted, unless the skill may see them."""
        return text if self.redact is None else self.redact(text)

    def command(self, command):
        """A parsed command as the module sees it; ``program`` and ``argv`` come first (docs)."""
        return {
            "commands": [{"program": c.program, "argv": [self.redacted(arg) for arg in c.argv],
                          "elevated": c.elevated, "origin": c.origin}
                         for c in command.simple_commands],
            "text": self.redacted(command.text),
        }

    def candidates(self, answer):
        """Candidates from a ``caro_generate_commands`` answer, attributed to the skill."""
        from caro_core.generate import Candidate

        return [Candidate(_text(item["command"]), _text(item.get("explanation", "")),
                          min(max(float(item.get("confidence", 0.5)), 0.0), 1.0), "skill",
                          source=self.skill.id) for item in _list(answer)]

    def snippets(self, answer):
        """Knowledge snippets from a ``caro_generate_context`` answer, attributed to the skill."""
        from caro_core.generate import KnowledgeSnippet

        return [KnowledgeSnippet(self.skill.id, _text(item["topic"]), _text(item["text"]),
                                 int(item.get("priority", 50))) for item in _list(answer)]

    def may_propose(self, command):
        """True when every program ``command`` starts, wrappers included, is granted to the skill."""
        from caro_core.cmdparse import programs_of

        refused = [program for program in programs_of(command) if not self.skill.may_run(program)]
        if refused and self.module.audit is not None:
            self.module.audit.append("CapabilityUsed", success=False, details=(
                f"{self.skill.id}: terminal_exec {refused[0]}: denied (proposed by its module)"))
        return not refused


class _Hooks:
    """Every hook a module may export, as methods for :class:`WasmSkillPlugin` subclasses."""

    def caro_classify_category(self, command):
        if not self.concerns(command):
            return None
        return self.module.call("caro_classify_category", self.command(command), _category)

    def caro_classify_risk(self, command):
        if not self.concerns(command):
            return []
        return self.module.call("caro_classify_risk", self.command(command), _findings) or []

    def caro_generate_explain(self, command):
        if not self.concerns(command):
            return []
        return self.module.call("caro_generate_explain", self.command(command),
                                _explanations) or []

    def caro_generate_commands(self, request, context):
        payload = {"request": self.redacted(request), "platform": context.platform,
                   "backend": context.backend}
        candidates = self.module.call("caro_generate_commands", payload, self.candidates) or []
        return [c for c in candidates if self.may_propose(c.command)]

    def caro_generate_context(self, request):
        return self.module.call("caro_generate_context", {"request": self.redacted(request)},
                                self.snippets) or []


#: The hooks a module may export.
HOOKS = tuple(name for name in vars(_Hooks) if name.startswith("caro_"))


def _category(answer):
    return _text(answer) or None


def _findings(answer):
    from caro_core.risk import Finding, RiskLevel

    return [Finding(RiskLevel.parse(item["level"]), _text(item["rule"]), _text(item["reason"]))
            for item in _list(answer)]


def _explanations(answer):
    return [(_text(part), _text(text)) for part, text in _list(answer)]


def _list(answer):
    if not isinstance(answer, list):
        raise TypeError(f"expected a list, got {type(answer).__name__}")
    return answer


def _text(value):
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
