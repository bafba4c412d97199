"""Skills teach the classifier: ``[categories]`` name tools, ``[guardrails]`` add risk rules.

A skill with either section becomes a :class:`GuardrailPlugin`.

* ``caro_classify_category``: the line's first program that is not shell
  plumbing (``cd``, ``export``, ``echo``…) decides; when the skill maps that
  program to a category, the skill names it, else the next plugin decides
  (the built-in categories plugin is ``trylast``).
* ``caro_classify_risk``: each rule matches a parsed command by ``program``,
  optionally its leading ``subcommand`` words, ``options`` (any of; short
  options also inside combined flags such as ``-rf``) and ``arguments`` (any
  of).  A match is a finding with rule id ``<skill id>.<rule id>``.  Rules add
  risk only: a skill can never lower what the built-in safety rules find.
"""

from caro_core import hookimpl
from caro_core.skills import SkillPlugin

#: Programs that never decide a line's category when something else runs.
PLUMBING = frozenset("cd pushd popd export set unset source . echo printf true false : test [ "
                     "sleep clear pwd".split())
#: Where nested commands come from that never decide the category.
_NOT_MAIN = frozenset({"cmdsub", "procsub", "function", "ssh"})


def main_program(parsed):
    """The program that decides a parsed line's category, or None."""
    running = [c for c in parsed.simple_commands
               if c.origin not in _NOT_MAIN and c.argv and not c.runs_payload]
    for command in running:
        if command.program not in PLUMBING:
            return command.program
    return None


def rule_matches(rule, simple):
    """True when the guardrail ``rule`` (a manifest table) matches one simple command."""
    if simple.program != rule["program"]:
        return False
    args = list(simple.args)
    subcommand = rule.get("subcommand", ())
    if subcommand and [a for a in args if not a.startswith("-")][:len(subcommand)] != \
            list(subcommand):
        return False
    options = rule.get("options", ())
    if options and not any(_has_option(args, option) for option in options):
        return False
    arguments = rule.get("arguments", ())
    return not arguments or any(a in arguments for a in args)


def _has_option(args, option):
    for arg in args:
        if arg == option or arg.startswith(option + "="):
            return True
        if len(option) == 2 and arg.startswith("-") and not arg.startswith("--") \
                and option[1] in arg[1:]:
            return True
    return False


class GuardrailPlugin(SkillPlugin):
    """One skill's categories and risk rules."""

    def __init__(self, skill):
        super().__init__(skill)
        self.categories = {program: category
                           for category, programs in skill.manifest.get("categories", {}).items()
                           for program in programs}
        self.rules = skill.manifest.get("guardrails", {}).get("rules", ())

    @hookimpl
    def caro_classify_category(self, command):
        """The skill's category for the line's main program, or None."""
        return self.categories.get(main_program(command)) if self.categories else None

    @hookimpl
    def caro_classify_risk(self, command):
        """A finding for every rule of this skill that a command of the line matches."""
        if not self.rules:
            return []
        from caro_core.risk import Finding, RiskLevel

        findings = []
        for rule in self.rules:
            if any(rule_matches(rule, simple) for simple in command.simple_commands):
                findings.append(Finding(RiskLevel.parse(rule["level"]),
                                        f"{self.skill.id}.{rule['id']}", rule["reason"]))
        return findings


@hookimpl
def caro_skill_plugins(skill):
    """A :class:`GuardrailPlugin` for a skill with ``[categories]`` or ``[guardrails]``."""
    if skill.manifest.get("categories") or skill.manifest.get("guardrails", {}).get("rules"):
        return [GuardrailPlugin(skill)]
    return []
