"""``caro explain CMD…`` (alias ``caro --explain CMD``): what a command does, part by part.

Like ``caro check``, options go before the command and everything from its first word on is
the command; a single quoted argument is a whole command line.  Nothing is run.  The exit code
is 0 whatever the verdict, 2 for bad usage.
"""

import click

from caro_core import hookimpl

MODE_CHOICES = ("strict", "moderate", "permissive")
_INDENT = {0: "  ", 1: "      "}


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command(context_settings={"ignore_unknown_options": True,
                                   "allow_interspersed_args": False})
    @click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
    @click.option("--mode", type=click.Choice(MODE_CHOICES),
                  help="Safety mode for the verdict (default: [safety] mode).")
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    @pass_node
    def explain(node, as_json, mode, command):
        """Explain a command part by part, with its risk; nothing is run."""
        from caro_core.explain import explain as explain_line

        text = " ".join(command).strip()
        if not text:
            raise click.UsageError("give the command to explain, e.g. caro explain tar -czf a.tgz src")
        result = explain_line(node.pm, text, mode or node.config["safety"]["mode"])
        if as_json:
            from caro_core.output import echo_json

            echo_json(result.to_json())
            return
        _print(node, result)


def _print(node, result):
    from caro_core.redact import redact

    settings = node.config["redact"]
    shown, _ = redact(node.pm, result.command, settings["patterns"], settings["enabled"])
    click.echo(click.style(shown, bold=True))
    width = min(max((len(p.text) for p in result.parts), default=0), 24)
    for part in result.parts:
        text = redact(node.pm, part.text, settings["patterns"], settings["enabled"])[0]
        line = f"{_INDENT[part.depth]}{text.ljust(width)}  {part.explanation}"
        click.echo(line if part.known else click.style(line, dim=True))
    a = result.assessment
    verdict = ("blocked" if a.blocked else "needs confirmation" if a.needs_confirmation
               else "allowed")
    click.echo(f"risk {a.risk.label} ({verdict}) · category {a.category}")
    for reason in a.reasons:
        click.echo(f"  - {reason}")
