"""Confirm and run a suggestion: the copilot's only path from a proposal to a process.

What a proposal needs before it runs (the verdict of :class:`caro_core.generate.Assessed`):

* **blocked** (Critical in every mode; High too in strict mode): never runs; the refusal is
  appended to the audit log as ``CommandBlocked`` (risk, rule ids and the command's pattern —
  never its arguments);
* **typed** (High): the user types the command's program name (``rm``);
* **yes/no** (Moderate, when the mode asks): ``y`` to run, anything else refuses;
* nothing (Safe, or Moderate in permissive mode).

Without a terminal on stdin nothing runs unless ``--yes`` answers every question; ``--yes``
never unblocks.  A recipe (a skill's :class:`~caro_core.skills.RecipeStep` list) runs its
``run`` steps in order, each confirmed on its own (its ``confirmation`` policy may ask more than
safety does, never less), each bounded by its ``timeout`` and checked against its ``expect``;
the first step that fails stops it and its ``rollback`` steps run; the ``verify`` steps run
after the last step.  A command that ran is recorded as a Caro-generated event
(``caro_generated`` and ``user_confirmed`` set) and as a ``CommandExecuted`` audit entry; a
command a skill proposed (a recipe step, a module's candidate) also as ``CapabilityUsed``, for
running it is when the skill's ``terminal_exec`` grant is used (proposing is not).
"""

import getpass
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import click

from .errors import CaroError
from .risk import RiskLevel

BLOCKED, TYPED, YES_NO = "blocked", "typed", "yes/no"
#: The exit code recorded for a recipe step killed at its timeout.
TIMED_OUT = 124


class NotRun(CaroError):
    """The command was not run: blocked, refused, or no terminal to confirm on."""

    exit_code = 1


def confirmation(assessment):
    """``BLOCKED``, ``TYPED``, ``YES_NO`` or None for one command's :class:`~caro_core.risk.Assessment`."""
    if assessment.blocked or assessment.risk >= RiskLevel.CRITICAL:
        return BLOCKED
    if not assessment.needs_confirmation:
        return None
    return TYPED if assessment.risk >= RiskLevel.HIGH else YES_NO


def program_of(command):
    """The word a typed confirmation asks for: the first program the line runs."""
    from .cmdparse import parse

    for cmd in parse(command).simple_commands:
        if cmd.program and not cmd.nested:
            return cmd.program
    return command.split()[0] if command.split() else ""


def audit_blocked(node, assessed):
    """Append ``CommandBlocked`` for a proposal Caro refuses to run."""
    from .pattern import pattern_of

    c = assessed.candidate
    rules = sorted({f.rule for a in assessed.assessments() for f in a.findings
                    if f.level >= RiskLevel.HIGH})
    node.audit.append("CommandBlocked", success=False, details=(
        f"risk {assessed.risk.label}; rules {', '.join(rules) or '-'}; "
        f"pattern {pattern_of(c.command) or '-'}; backend {c.backend}"))


def audit_capability(node, skill_id, command, exit_code):
    """Append ``CapabilityUsed`` for a command of skill ``skill_id`` that ran: the programs
    its ``terminal_exec`` grant let it start and the command's pattern, never its arguments."""
    from .cmdparse import programs_of
    from .pattern import pattern_of

    node.audit.append("CapabilityUsed", details=(
        f"skill {skill_id} terminal_exec: ran {', '.join(dict.fromkeys(programs_of(command)))}; "
        f"pattern {pattern_of(command) or '-'}; exit {exit_code}"))


@dataclass(frozen=True)
class Step:
    """One command to run: its assessment, the confirmation it needs, and recipe limits."""

    command: str
    assessment: object
    kind: str | None          # BLOCKED, TYPED, YES_NO or None
    description: str = ""
    timeout: float | None = None
    expect: str = ""          # a regular expression the output must contain


def step_confirmation(assessment, policy, mode):
    """A recipe step's confirmation: the safety verdict's, or a y/N its policy asks for.

    ``always`` asks in every mode, ``prompt`` unless the mode is permissive, ``auto`` only
    when the safety verdict does (a skill never lowers what safety asks)."""
    kind = confirmation(assessment)
    if kind or policy == "auto" or (policy == "prompt" and mode == "permissive"):
        return kind
    return YES_NO


def plan(assessed, mode):
    """``(run, verify, rollback)`` lists of :class:`Step`; a plain proposal is one run step."""
    if not assessed.steps:
        return [Step(assessed.candidate.command, assessed.assessment,
                     confirmation(assessed.assessment))], [], []
    groups = {"run": [], "verify": [], "rollback": []}
    for step, assessment in assessed.steps:
        groups.setdefault(step.role, []).append(Step(
            step.command, assessment, step_confirmation(assessment, step.confirmation, mode),
            step.description, step.timeout, step.expect))
    return groups["run"], groups["verify"], groups["rollback"]


def ask(step):
    """Ask on the terminal; True when the user accepts."""
    assessment = step.assessment
    reasons = "; ".join(assessment.reasons)
    if step.kind == TYPED:
        program = program_of(step.command)
        click.echo(f"HIGH risk: {reasons}", err=True)
        answer = click.prompt(f"Type '{program}' to run it (anything else cancels)", default="",
                              show_default=False, err=True)
        return answer.strip() == program
    if reasons:
        click.echo(f"{assessment.risk.label.upper()} risk: {reasons}", err=True)
    return click.confirm("Run it?", default=False, err=True)


def run(node, assessed, mode="moderate", yes=False, dry_run=False, interactive=None,
        environ=os.environ):
    """Confirm and run a proposal (a recipe: its steps, then its verification; its rollback
    when a step fails); return the exit code of the last command run.

    Raises :class:`NotRun` when it is blocked, refused, or cannot be confirmed.
    """
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if assessed.blocked:
        raise NotRun("blocked: " + ("; ".join(assessed.reasons) or assessed.risk.label))
    steps, verify, rollback = plan(assessed, mode)
    labelled = len(steps) + len(verify) > 1
    if dry_run:
        for label, group in (("step", steps), ("verify", verify), ("rollback", rollback)):
            for number, step in enumerate(group, 1):
                need = f"after {step.kind} confirmation" if step.kind else "without confirmation"
                where = f"{label} {number}: " if labelled or label != "step" else ""
                click.echo(f"dry run: {where}would run {need}: {step.command}", err=True)
        return 0
    if not yes and not interactive:
        raise NotRun("not run: no terminal to confirm on (add --yes to run a command "
                     "that is not blocked)")
    skill = assessed.candidate.source if assessed.candidate.source != "caro" else None
    for number, step in enumerate(steps, 1):
        label = f"step {number}/{len(steps)}" if labelled else ""
        code = _run_step(node, step, label, yes, environ, skill)
        if code != 0:
            if labelled:
                click.echo(f"caro: {label} failed (exit code {code}); stopping", err=True)
            for index, undo in enumerate(rollback, 1):
                _run_step(node, undo, f"rollback {index}/{len(rollback)}", yes, environ, skill)
            return code
    for number, step in enumerate(verify, 1):
        code = _run_step(node, step, f"verify {number}/{len(verify)}", yes, environ, skill)
        if code != 0:
            click.echo(f"caro: verification {number} failed (exit code {code})", err=True)
            return code
    return 0


def _run_step(node, step, label, yes, environ, skill):
    if label:
        about = f"  # {step.description}" if step.description else ""
        click.echo(f"{label}: {step.command}{about}", err=True)
    confirmed = bool(step.kind) and (yes or ask(step))
    if step.kind and not confirmed:
        raise NotRun(f"{label + ': ' if label else ''}not run: not confirmed")
    code, output = execute(node, step.command, confirmed, environ, step.timeout, bool(step.expect))
    if skill is not None:
        audit_capability(node, skill, step.command, code)
    if code == 0 and step.expect and not re.search(step.expect, output):
        click.echo(f"caro: {label}: the output does not contain {step.expect!r}", err=True)
        return 1
    return code


def execute(node, command, confirmed, environ=os.environ, timeout=None, capture=False):
    """Run ``command`` with ``$SHELL -c``, record it; ``(exit code, output when captured)``.

    A command still running after ``timeout`` seconds is killed (exit code 124, as timeout(1)).
    """
    shell = environ.get("SHELL") or "/bin/sh"
    started, clock = time.time(), time.monotonic()
    output = ""
    try:
        done = subprocess.run([shell, "-c", command], env=dict(environ), timeout=timeout,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.STDOUT if capture else None)
        code = done.returncode
        if capture:
            output = done.stdout.decode(errors="replace")
            click.echo(output, nl=False)
    except subprocess.TimeoutExpired:
        code = TIMED_OUT
        click.echo(f"caro: timed out after {timeout:g} s: {command}", err=True)
    except OSError as e:
        raise NotRun(f"cannot start {shell}: {e.strerror}") from None
    duration_ms = int((time.monotonic() - clock) * 1000)
    record(node, command, started, code, duration_ms, confirmed, shell, environ)
    return code, output


def record(node, command, started, exit_code, duration_ms, confirmed, shell, environ=os.environ):
    """Store the command as a Caro-generated event and append ``CommandExecuted``."""
    from .events import insert_events
    from .ingest import classify
    from .pattern import pattern_of

    name = os.path.basename(shell) or "sh"
    event = classify(node, command, timestamp=started, exit_code=exit_code,
                     duration_ms=duration_ms, cwd=os.getcwd(), shell=name,
                     session=f"{name}-{os.getpid()}-{int(started)}",
                     user=environ.get("USER") or getpass.getuser(), elevated=os.geteuid() == 0,
                     caro_generated=True, user_confirmed=confirmed, source="copilot")
    for stored in insert_events(node.store, [event]):
        node.pm.hook.caro_observe_event(event=stored, node=node)
    node.audit.append("CommandExecuted", success=exit_code == 0, details=(
        f"risk {event.risk.label}; pattern {pattern_of(command) or '-'}; exit {exit_code}; "
        f"confirmed {'yes' if confirmed else 'not needed'}"))
