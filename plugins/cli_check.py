"""``caro check CMD…``: the risk, category and reasons of a command, without running it.

Options go before the command (``caro check --json rm -rf /``); everything
after the first word of the command is part of it.  The exit code is 0
whatever the verdict — a blocked command is reported, not an error — and 2
for bad usage (no command, unknown mode).  The command is shown with secrets
redacted.
"""

import click

from caro_core import hookimpl
from caro_core.config import Setting

MODE_CHOICES = ("strict", "moderate", "permissive")
_COLOURS = {"safe": ("green", False), "moderate": ("yellow", False), "high": ("red", False),
            "critical": ("red", True)}


@hookimpl
def caro_config_schema():
    """Declare ``[safety] mode``."""
    return {"safety": {"mode": Setting(str, "moderate", "what is blocked or needs confirmation: "
                                                         "strict, moderate or permissive",
                                       choices=MODE_CHOICES)}}


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command(context_settings={"ignore_unknown_options": True,
                                   "allow_interspersed_args": False})
    @click.option("--json", "as_json", is_flag=True, help="Print the assessment as JSON.")
    @click.option("--mode", type=click.Choice(MODE_CHOICES),
                  help="Safety mode for this check (default: [safety] mode).")
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    @pass_node
    def check(node, as_json, mode, command):
        """Rate a command's risk without running it."""
        from caro_core.output import echo_json
        from caro_core.redact import redact
        from caro_core.risk import assess

        text = " ".join(command).strip()
        if not text:
            raise click.UsageError("give the command to check, e.g. caro check rm -rf build")
        assessment = assess(node.pm, text, mode or node.config["safety"]["mode"])
        if as_json:
            echo_json(assessment.to_json())
            return
        settings = node.config["redact"]
        shown, _ = redact(node.pm, text, settings["patterns"], settings["enabled"])
        _print_human(shown, assessment)


def _print_human(shown, assessment):
    label = assessment.risk.label
    colour, bold = _COLOURS[label]
    verdict = ("blocked" if assessment.blocked else
               "needs confirmation" if assessment.needs_confirmation else "allowed")
    click.echo(f"command   {shown}")
    click.echo("risk      " + click.style(label.upper(), fg=colour, bold=bold) + f"  ({verdict})")
    click.echo(f"category  {assessment.category}")
    for reason in assessment.reasons:
        click.echo(f"  - {reason}")
