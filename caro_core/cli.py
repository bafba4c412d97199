"""The ``caro`` command root.

The root group holds no features itself: every command comes from a plugin's
``caro_cli_commands``.  :func:`main` turns every error into one line on stderr
and an exit code; a traceback is written to ``caro.log`` (or shown with
``CARO_DEBUG=1``), never to the user's terminal.
"""

import datetime as dt
import os
import sys
import traceback

import click

from . import __version__
from .errors import CaroError, StoreCorrupt
from .node import Node
from .store import CORRUPTION_ERRORS, corrupt_message

#: Passes the :class:`~caro_core.node.Node` as a command's first argument.
pass_node = click.make_pass_decorator(Node)

#: Exit code for an unexpected internal error (EX_SOFTWARE).
INTERNAL_ERROR = 70


class CaroGroup(click.Group):
    """The root group; ``caro --history`` and ``caro --explain CMD`` are aliases of commands,
    and ``caro "REQUEST"`` (a first word that is no command) means ``caro ask "REQUEST"``."""

    ALIASES = {"--history": "history", "--explain": "explain"}
    ROOT_OPTIONS = ("-h", "--help", "-V", "--version")

    def parse_args(self, ctx, args):
        if args and args[0] in self.ALIASES and self.ALIASES[args[0]] in self.commands:
            args = [self.ALIASES[args[0]], *args[1:]]
        elif args and "ask" in self.commands and self._is_request(args[0]):
            args = ["ask", *args]
        return super().parse_args(ctx, args)

    def _is_request(self, word):
        """Not a command or a root option, nor a one-word typo of a command (click reports those)."""
        if word in self.commands or word in self.ROOT_OPTIONS:
            return False
        if " " in word.strip():
            return True
        import difflib

        return not difflib.get_close_matches(word, list(self.commands), n=1, cutoff=0.8)


def build_cli(pm):
    """The root group with every plugin's commands added."""

    @click.group(cls=CaroGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "-V", "--version", prog_name="caro")
    def cli():
        """Caro: terminal intelligence for closed networks.

        A local copilot and observability agent; connected nodes form an
        encrypted mesh that shares aggregates, never raw commands.
        """

    pm.hook.caro_cli_commands(cli=cli)
    return cli


def main(argv=None):
    node = None
    try:
        node = Node.load()
        cli = build_cli(node.pm)
        code = cli.main(args=argv, prog_name="caro", obj=node, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("caro: aborted", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except CaroError as e:
        click.echo(f"caro: {e}", err=True)
        sys.exit(e.exit_code)
    except CORRUPTION_ERRORS as e:
        click.echo(f"caro: {corrupt_message(node.db_path if node else 'caro.db', e)}", err=True)
        sys.exit(StoreCorrupt.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # the last line of defence: no traceback reaches the user
        if os.environ.get("CARO_DEBUG"):
            raise
        where = _log_traceback(node)
        click.echo(f"caro: internal error: {type(e).__name__}: {e}"
                   + (f" (traceback in {where})" if where else ""), err=True)
        sys.exit(INTERNAL_ERROR)
    finally:
        if node is not None:
            node.close()


def _log_traceback(node):
    if node is None or not node.home.is_dir():
        return None
    path = node.home / "caro.log"
    try:
        with open(path, "a") as f:
            f.write(f"{dt.datetime.now().isoformat()} caro {' '.join(sys.argv[1:])}\n")
            f.write(traceback.format_exc())
    except OSError:
        return None
    return path
