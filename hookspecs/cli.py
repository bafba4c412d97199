"""CLI hooks: plugins add commands to ``caro``."""

from . import hookspec


@hookspec
def caro_cli_commands(cli):
    """Add commands to the ``caro`` command group.

    Called once when the CLI is built, before arguments are parsed.  Keep heavy
    imports inside the command functions so that ``caro --help`` stays fast.

    :param cli: the root :class:`click.Group`; call ``cli.add_command`` or
        decorate with ``@cli.command()``.
    :returns: nothing.

    Example::

        @hookimpl
        def caro_cli_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
    """
