"""Layer 2 of skills: recipes proposed as command candidates.

Each enabled skill that provides recipes becomes a :class:`RecipePlugin`
answering ``caro_generate_commands``.  Its recipe files are read on the first
request (parsed, or taken from the node's recipe cache when their bytes are
unchanged: :mod:`caro_core.skill_recipe`).  A recipe whose triggers match, whose
parameters all get valid values and whose preconditions hold becomes a
:class:`caro_core.generate.Candidate` (``backend="recipe"``) carrying its
:class:`caro_core.skills.RecipeStep`\\ s.

The skill's granted ``terminal_exec`` capability is enforced here: every
program a step would run (wrappers and pipeline stages included) must be in
its ``commands`` and not in its ``blocked`` list, or the recipe is refused and
the refusal is written to the audit log as ``CapabilityUsed``.  Proposing is
not using: the copilot audits the capability when it runs a step
(:mod:`caro_core.copilot`).  The confidence is the match score scaled by the
recipe's priority, so a skill with a higher priority outranks another
answering the same request.
"""

import os
import shutil
import sys

from caro_core import hookimpl
from caro_core.skills import SkillError, SkillPlugin


def confidence(score, priority):
    """Match score (0..1) scaled by priority (0..100) into 0.5x..1.0x."""
    return round(score * (0.5 + priority / 200), 4)


class RecipePlugin(SkillPlugin):
    """One skill's recipes as a ``caro_generate_commands`` answer."""

    def __init__(self, skill):
        super().__init__(skill)
        self._recipes = None
        self._subject = None

    def recipes(self, home=None):
        """The skill's recipes, loaded once (through ``home``'s recipe cache when given);
        a broken file is reported once and yields none."""
        if self._recipes is None:
            from caro_core.skill_recipe import load_recipes, subject_words

            self._subject = subject_words(self.skill)
            try:
                self._recipes = load_recipes(self.skill, home)
            except SkillError as e:
                sys.stderr.write(f"caro: warning: {e}; recipes of {self.skill.id} skipped\n")
                self._recipes = []
        return self._recipes

    def refused(self, steps):
        """The programs of ``steps`` the skill may not run (empty: all allowed)."""
        from caro_core.cmdparse import programs_of

        return sorted({program for step in steps for program in programs_of(step.command)
                       if not self.skill.may_run(program)})

    @hookimpl
    def caro_generate_commands(self, request, context):
        """Candidates from every recipe of this skill that ``request`` triggers."""
        from caro_core.generate import Candidate

        node = getattr(context, "node", None)
        recipes = self.recipes(node.home if node is not None else None)
        default = self.skill.manifest.get("recipes", {}).get("default_confirmation", "prompt")
        programs = getattr(context, "programs", None)
        which = (lambda p: p in programs) if programs else shutil.which
        candidates = []
        for recipe in recipes:
            matched = recipe.match(request, self._subject)
            if matched is None or not recipe.preconditions_met(which, os.environ):
                continue
            score, values = matched
            steps = recipe.steps(values, default)
            refused = self.refused(steps)
            if refused:
                if self.skill.audit is not None:
                    self.skill.audit.append(
                        "CapabilityUsed", success=False,
                        details=f"skill {self.skill.id} terminal_exec: recipe {recipe.id} "
                                f"refused: {', '.join(refused)} not granted")
                continue
            title = recipe.title_for(values)
            candidates.append(Candidate(
                command=" && ".join(s.command for s in steps if s.role == "run"),
                explanation=f"{title}: {recipe.description}" if recipe.description else title,
                confidence=confidence(score, recipe.priority), backend="recipe",
                source=self.skill.id, steps=steps))
        return candidates


@hookimpl
def caro_skill_plugins(skill):
    """A :class:`RecipePlugin` for a skill that provides recipes."""
    if skill.manifest.get("provides", {}).get("recipes"):
        return [RecipePlugin(skill)]
    return []
