"""Risk levels, findings, safety modes and the assessment of one command line.

:func:`assess` parses the line once (:mod:`caro_core.cmdparse`), asks the
classify hooks for its category and its risk findings, and applies the safety
mode to decide whether the command is blocked or needs confirmation.

Safety modes (``[safety] mode``):

============ ============ ============ ============
level        strict       moderate     permissive
============ ============ ============ ============
critical     blocked      blocked      confirm
high         blocked      confirm      confirm
moderate     confirm      confirm      —
safe         —            —            —
============ ============ ============ ============

Permissive blocks nothing: it is for people who want every decision
themselves, but it still asks before a high or critical command.
"""

import enum
from dataclasses import dataclass, field

from .cmdparse import parse


class RiskLevel(enum.IntEnum):
    """How much harm a command can do; ordered, so ``max()`` works."""

    SAFE = 0
    MODERATE = 1
    HIGH = 2
    CRITICAL = 3

    @property
    def label(self):
        """The lowercase name used in output and JSON: ``"high"``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text):
        """The level named ``text`` (any case); ValueError when unknown."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            known = ", ".join(level.label for level in cls)
            raise ValueError(f"unknown risk level {text!r} (known: {known})") from None


@dataclass(frozen=True)
class Finding:
    """One reason a command is risky: its level, a stable rule id and a sentence."""

    level: RiskLevel
    rule: str
    reason: str


@dataclass(frozen=True)
class Mode:
    """What a safety mode does with each risk level."""

    blocked: frozenset
    confirm: frozenset


#: The safety modes; see the module docstring.
MODES = {
    "strict": Mode(blocked=frozenset({RiskLevel.CRITICAL, RiskLevel.HIGH}),
                   confirm=frozenset({RiskLevel.MODERATE})),
    "moderate": Mode(blocked=frozenset({RiskLevel.CRITICAL}),
                     confirm=frozenset({RiskLevel.HIGH, RiskLevel.MODERATE})),
    "permissive": Mode(blocked=frozenset(),
                       confirm=frozenset({RiskLevel.CRITICAL, RiskLevel.HIGH})),
}


@dataclass
class Assessment:
    """The verdict on one command line."""

    category: str
    risk: RiskLevel
    reasons: list
    blocked: bool
    needs_confirmation: bool
    findings: list = field(default_factory=list)

    def to_json(self):
        """A JSON-ready dict with exactly the public keys."""
        return {"category": self.category, "risk": self.risk.label, "reasons": list(self.reasons),
                "blocked": self.blocked, "needs_confirmation": self.needs_confirmation}


UNPARSED_RULE = "parse.unparsed"


def assess(pm, text, mode="moderate"):
    """Classify ``text`` with the plugins of ``pm`` under the safety ``mode``."""
    try:
        policy = MODES[mode]
    except KeyError:
        raise ValueError(f"unknown safety mode {mode!r} (known: {', '.join(MODES)})") from None
    parsed = parse(text)
    category = pm.hook.caro_classify_category(command=parsed)
    if category is None:
        first = next((c.program for c in parsed.simple_commands if c.program), "")
        category = f"other:{first}"
    findings = [f for found in pm.hook.caro_classify_risk(command=parsed) for f in found or ()]
    if parsed.parse_error and not findings:
        findings.append(Finding(RiskLevel.MODERATE, UNPARSED_RULE,
                                f"could not be parsed reliably: {parsed.parse_error}"))
    findings.sort(key=lambda f: (-f.level, f.rule))
    risk = max((f.level for f in findings), default=RiskLevel.SAFE)
    return Assessment(category=category, risk=risk, reasons=_unique(f.reason for f in findings),
                      blocked=risk in policy.blocked, needs_confirmation=risk in policy.confirm,
                      findings=findings)


def _unique(items):
    seen = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
