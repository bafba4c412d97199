"""The copilot pipeline: a natural-language request to ranked, safety-assessed commands.

:func:`suggest` builds a :class:`GenerateContext` (platform, the programs on
``PATH``, GNU or BSD tools, knowledge from ``caro_generate_context``), asks
every ``caro_generate_commands`` plugin for candidates, assesses each one —
and each step of a recipe — with the safety engine (:func:`caro_core.risk.assess`),
and ranks them.  Backends only propose: whether a command is blocked or needs
confirmation is decided here, never by a backend.

A backend that cannot answer (its server is down, its reply is unusable)
raises :class:`BackendUnavailable`; the pipeline then asks again with the
offline engine and records why in :attr:`Suggestion.notes`.
"""

import os
import sys
from dataclasses import dataclass, field, replace

OFFLINE = "offline"
OPENAI = "openai-compatible"
#: The backends ``[generate] backend`` and ``--backend`` accept.
BACKENDS = (OFFLINE, OPENAI)
#: How many alternatives are shown besides the proposed command.
MAX_ALTERNATIVES = 4


@dataclass(frozen=True)
class KnowledgeSnippet:
    """A passage of knowledge offered for a request (``caro_generate_context``)."""

    source: str      # where it comes from: "caro" or a skill id
    topic: str
    text: str
    priority: int = 50


@dataclass(frozen=True)
class Candidate:
    """One proposed command (``caro_generate_commands``); safety is judged afterwards."""

    command: str
    explanation: str
    confidence: float
    backend: str
    source: str = "caro"   # "caro" or the id of the skill whose recipe or knowledge produced it
    steps: tuple = ()      # a recipe's steps (caro_core.skills.RecipeStep), each assessed on its own


@dataclass
class GenerateContext:
    """What a backend knows about the request's surroundings."""

    platform: str                      # "linux" or "darwin"
    backend: str                       # the backend chosen by config or --backend
    programs: frozenset = frozenset()  # programs found on PATH
    gnu: bool = True                   # GNU coreutils/findutils (False: BSD tools)
    knowledge: list = field(default_factory=list)  # KnowledgeSnippet, best first
    node: object = None                # the caro_core.node.Node


class BackendUnavailable(Exception):
    """Raised by a backend that was chosen but cannot answer; the message says why."""


@dataclass
class Assessed:
    """A candidate with the safety engine's verdict (for a recipe: over all its steps)."""

    candidate: Candidate
    assessment: object                      # caro_core.risk.Assessment of the command line
    steps: list = field(default_factory=list)  # [(RecipeStep, Assessment)] for a recipe

    @property
    def risk(self):
        """The highest risk of the line and of every step."""
        return max([self.assessment.risk] + [a.risk for _, a in self.steps])

    @property
    def blocked(self):
        """Critical is always blocked for a suggestion; the mode may block more."""
        return any(_blocked(a) for a in self.assessments())

    @property
    def needs_confirmation(self):
        """Not blocked, and the line or a step needs confirmation in the mode."""
        return not self.blocked and any(a.needs_confirmation for a in self.assessments())

    @property
    def reasons(self):
        """Every reason once: the line's, then each step's."""
        seen = {}
        for a in self.assessments():
            for reason in a.reasons:
                seen.setdefault(reason, None)
        return list(seen)

    def assessments(self):
        """The line's assessment, then each step's."""
        return [self.assessment] + [a for _, a in self.steps]

    def to_json(self):
        """The JSON of one proposal (the keys of ``caro ask --json``)."""
        c = self.candidate
        data = {"command": c.command, "explanation": c.explanation, "risk": self.risk.label,
                "reasons": self.reasons, "category": self.assessment.category,
                "backend": c.backend, "source": c.source, "blocked": self.blocked,
                "needs_confirmation": self.needs_confirmation}
        if self.steps:
            data["steps"] = [{"command": step.command, "explanation": step.description,
                              "role": step.role,
                              "risk": a.risk.label, "reasons": a.reasons, "category": a.category,
                              "blocked": _blocked(a), "needs_confirmation":
                                  a.needs_confirmation and not _blocked(a)}
                             for step, a in self.steps]
        return data


@dataclass
class Suggestion:
    """The answer to one request: the best proposal, alternatives, and what happened on the way."""

    request: str
    backend: str                 # the backend that answered (after any fallback)
    proposals: list              # [Assessed], best first
    notes: list = field(default_factory=list)  # e.g. why the chosen backend was not used

    @property
    def best(self):
        return self.proposals[0] if self.proposals else None

    @property
    def alternatives(self):
        return self.proposals[1:1 + MAX_ALTERNATIVES]

    def to_json(self):
        """``command`` … ``needs_confirmation`` of the best proposal, its ``alternatives``."""
        if self.best is None:
            return {"request": self.request, "command": None, "alternatives": [],
                    "explanation": "no suggestion", "risk": None, "reasons": [], "category": None,
                    "backend": self.backend, "source": None, "blocked": False,
                    "needs_confirmation": False, "notes": self.notes}
        return {"request": self.request, **self.best.to_json(),
                "alternatives": [a.to_json() for a in self.alternatives], "notes": self.notes}


def _blocked(assessment):
    from .risk import RiskLevel

    return assessment.blocked or assessment.risk >= RiskLevel.CRITICAL


# -- context ----------------------------------------------------------------------------------

def path_programs(environ=os.environ):
    """The names of the files in the ``PATH`` directories (not checked for the exec bit:
    listing is cheap, a stat per file is not)."""
    names = set()
    for directory in environ.get("PATH", "").split(os.pathsep):
        try:
            with os.scandir(directory or ".") as entries:
                names.update(entry.name for entry in entries)
        except OSError:
            continue
    return frozenset(names)


def gnu_tools(platform, environ=os.environ):
    """True when ``ls``, ``find``, ``sed`` are GNU: Linux unless they are BusyBox; never macOS."""
    if platform == "darwin":
        return False
    for directory in environ.get("PATH", "").split(os.pathsep):
        found = os.path.join(directory or ".", "ls")
        if os.access(found, os.X_OK):
            return not os.path.basename(os.path.realpath(found)).startswith("busybox")
    return True


def build_context(node, request, backend, environ=os.environ):
    """The :class:`GenerateContext` for ``request`` on this machine."""
    platform = "darwin" if sys.platform == "darwin" else "linux"
    found = node.pm.hook.caro_generate_context(request=request)
    knowledge = sorted((s for snippets in found for s in snippets or ()),
                       key=lambda s: -s.priority)
    return GenerateContext(platform=platform, backend=backend, programs=path_programs(environ),
                           gnu=gnu_tools(platform, environ), knowledge=knowledge, node=node)


# -- the pipeline -----------------------------------------------------------------------------

def choose_backend(node, override=None):
    """``--backend`` when given, else ``[generate] backend``."""
    return override or node.config["generate"]["backend"]


def candidates(node, request, context):
    """Every plugin's candidates; a chosen backend that cannot answer falls back to offline."""
    notes = []
    try:
        found = node.pm.hook.caro_generate_commands(request=request, context=context)
    except BackendUnavailable as e:
        if context.backend == OFFLINE:
            raise
        notes.append(f"{context.backend} backend unavailable ({e}); using the offline engine")
        context = replace(context, backend=OFFLINE)
        found = node.pm.hook.caro_generate_commands(request=request, context=context)
    return [c for batch in found for c in batch or ()], context.backend, notes


def assess_candidate(pm, candidate, mode):
    """The candidate's :class:`Assessed`: its line and every recipe step through the safety engine."""
    from .risk import assess

    steps = [(step, assess_step(pm, step, mode)) for step in candidate.steps]
    return Assessed(candidate, assess(pm, candidate.command, mode), steps)


def assess_step(pm, step, mode):
    """A recipe step's assessment: the safety engine's or the skill's claimed risk, the higher."""
    from .risk import MODES, Assessment, RiskLevel, assess

    found = assess(pm, step.command, mode)
    try:
        claimed = RiskLevel.parse(step.risk)
    except ValueError:
        return found
    if claimed <= found.risk:
        return found
    policy = MODES[mode]
    return Assessment(category=found.category, risk=claimed,
                      reasons=found.reasons + [f"the skill rates this step {claimed.label}"],
                      blocked=claimed in policy.blocked,
                      needs_confirmation=claimed in policy.confirm, findings=found.findings)


def rank(assessed):
    """Best first: higher confidence, then lower risk; the same command only once."""
    unique = {}
    for a in sorted(assessed, key=lambda a: (-a.candidate.confidence, a.risk)):
        key = " ".join(a.candidate.command.split())
        if key and key not in unique:
            unique[key] = a
    return list(unique.values())


def suggest(node, request, backend=None, mode=None, environ=os.environ):
    """Propose commands for ``request``; see the module docstring."""
    request = " ".join(request.split())
    context = build_context(node, request, choose_backend(node, backend), environ)
    found, used, notes = candidates(node, request, context)
    mode = mode or node.config["safety"]["mode"]
    proposals = rank(assess_candidate(node.pm, c, mode) for c in found if c.command.strip())
    return Suggestion(request=request, backend=used, proposals=proposals, notes=notes)
