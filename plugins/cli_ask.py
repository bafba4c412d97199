"""``caro ask REQUEST`` (also ``caro "REQUEST"``): a command for a request, then maybe run it.

Prints the proposed command with its one-line explanation, category and risk, and its
alternatives.  ``--execute`` confirms and runs it (:mod:`caro_core.copilot`), ``--dry-run``
shows what running would need and never runs.  Exit codes: 0 (the command's own exit code
when it ran), 1 when it was not run (blocked, refused, no terminal without ``--yes``),
2 when there is no suggestion or the usage is wrong.  Declares ``[generate] backend``.
"""

import click

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.generate import BACKENDS, OFFLINE

MODE_CHOICES = ("strict", "moderate", "permissive")
_STYLES = {"safe": {"fg": "green"}, "moderate": {"fg": "yellow"}, "high": {"fg": "red"},
           "critical": {"fg": "red", "bold": True}}
#: Exit code when no backend has a suggestion.
NO_SUGGESTION = 2


@hookimpl
def caro_config_schema():
    """Declare ``[generate] backend``."""
    return {"generate": {"backend": Setting(str, OFFLINE, "the generate backend: offline or "
                                            "openai-compatible", choices=BACKENDS)}}


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.argument("request", nargs=-1, required=True)
    @click.option("--json", "as_json", is_flag=True, help="Print the suggestion as JSON.")
    @click.option("--backend", type=click.Choice(BACKENDS),
                  help="Backend for this request (default: [generate] backend).")
    @click.option("--mode", type=click.Choice(MODE_CHOICES),
                  help="Safety mode for this request (default: [safety] mode).")
    @click.option("--execute", "-x", is_flag=True, help="Confirm and run the proposed command.")
    @click.option("--dry-run", is_flag=True, help="Show what running would need; never run.")
    @click.option("--yes", "-y", is_flag=True,
                  help="Answer every confirmation with yes (a blocked command still never runs).")
    @pass_node
    def ask(node, request, as_json, backend, mode, execute, dry_run, yes):
        """Propose a command for a request in plain words.

        caro "list files modified today" is short for caro ask "list files modified today".
        """
        from caro_core.generate import suggest

        text = " ".join(request).strip()
        if not text:
            raise click.UsageError('say what you want to do, e.g. caro "list files modified today"')
        suggestion = suggest(node, text, backend=backend, mode=mode)
        for note in suggestion.notes:
            click.echo(f"caro: {note}", err=True)
        best = suggestion.best
        if as_json:
            from caro_core.output import echo_json

            echo_json(suggestion.to_json())
        if best is None:
            if not as_json:
                click.echo(f"caro: no suggestion for {text!r}: Caro does not know how to do this "
                           "(rephrase it, or name the tool to use)", err=True)
            raise click.exceptions.Exit(NO_SUGGESTION)
        if best.blocked:
            from caro_core.copilot import audit_blocked  # subprocess & co. only when needed

            audit_blocked(node, best)
        if not as_json:
            _print(suggestion)
        if execute or dry_run:
            from caro_core.copilot import run

            code = run(node, best, mode=mode or node.config["safety"]["mode"], yes=yes,
                       dry_run=dry_run)
            raise click.exceptions.Exit(code)


def _risk(assessed):
    label = assessed.risk.label
    verdict = (" · BLOCKED" if assessed.blocked else
               " · needs confirmation" if assessed.needs_confirmation else "")
    return click.style(label, **_STYLES[label]) + verdict


def _print(suggestion):
    best = suggestion.best
    click.echo(click.style(best.candidate.command, bold=True))
    if best.candidate.explanation:
        click.echo(f"  {best.candidate.explanation}")
    for number, (step, assessment) in enumerate(best.steps, 1):
        click.echo(f"  {number}. {step.command}  [{assessment.risk.label}]")
    click.echo(f"  risk {_risk(best)} · category {best.assessment.category} · "
               f"backend {best.candidate.backend}"
               + (f" · from {best.candidate.source}" if best.candidate.source != "caro" else ""))
    for reason in best.reasons:
        click.echo(f"    - {reason}")
    if suggestion.alternatives:
        click.echo("alternatives:")
        for alt in suggestion.alternatives:
            explanation = f"  # {alt.candidate.explanation}" if alt.candidate.explanation else ""
            click.echo(f"  {alt.candidate.command}{explanation}  [{_risk(alt)}]")
