"""``caro identity show|rotate|backup|restore``: this node's key, its rotation and its backup."""

import os
import sys

import click

from caro_core import hookimpl
from caro_core.output import echo_json


def _passphrase(passphrase_file, confirm):
    """From ``--passphrase-file``, then ``CARO_PASSPHRASE``, then a hidden prompt on a TTY."""
    from caro_core.errors import IdentityError

    if passphrase_file:
        try:
            with open(passphrase_file, encoding="utf-8") as f:
                return f.readline().rstrip("\n")
        except OSError as e:
            raise IdentityError(f"{passphrase_file}: cannot read: {e.strerror}") from None
    if os.environ.get("CARO_PASSPHRASE"):
        return os.environ["CARO_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise IdentityError("no passphrase: give --passphrase-file or set CARO_PASSPHRASE "
                            "(no terminal to ask on)")
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)


def _daemon_running(node):
    from caro_core.daemon import probe

    return probe(node.home)[0] is not None


_passphrase_option = click.option(
    "--passphrase-file", type=click.Path(dir_okay=False),
    help="Read the passphrase from the first line of this file (else CARO_PASSPHRASE, "
         "else a prompt).")


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def identity():
        """This node's cryptographic identity."""

    @identity.command("show")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def show(node, as_json):
        """Show the node id and fingerprint (creating the identity on first use)."""
        facts = node.identity.describe()
        if as_json:
            echo_json(facts)
            return
        for key in ("node_id", "fingerprint", "created_at", "certificate"):
            click.echo(f"{key.replace('_', ' '):12} {facts[key]}")

    @identity.command("rotate")
    @click.option("--grace-days", type=click.IntRange(min=1, max=90), default=7,
                  show_default=True, help="How long peers still accept the old key.")
    @click.option("--json", "as_json", is_flag=True, help="Print the endorsement as JSON.")
    @pass_node
    def rotate(node, grace_days, as_json):
        """Replace the node key with a new one endorsed by the old; peers re-pin it."""
        from caro_core.daemon import notify
        from caro_core.rotation import rotate as rotate_key

        old = node.identity.fingerprint
        endorsement = rotate_key(node, grace_days)
        running = _daemon_running(node)
        notify(node.home)  # the daemon announces the new key to its peers, then switches
        if as_json:
            echo_json({k: v for k, v in endorsement.items() if k != "certificate"})
            return
        click.echo(f"rotated {old} -> {node.identity.fingerprint}")
        click.echo(f"peers accept the old key for {grace_days} more days; "
                   + ("the daemon is announcing the new key now" if running else
                      "peers learn the new key when this node next connects to them"))

    @identity.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
    @_passphrase_option
    @pass_node
    def backup(node, file, force, passphrase_file):
        """Write the node key to FILE, encrypted with a passphrase."""
        from caro_core.backup import write_backup

        write_backup(node.identity, file, _passphrase(passphrase_file, confirm=True), force)
        click.echo(f"identity {node.identity.fingerprint} backed up to {file} "
                   "(keep the file and the passphrase apart)")

    @identity.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--force", is_flag=True,
                  help="Replace a different existing identity (it is kept aside).")
    @_passphrase_option
    @pass_node
    def restore(node, file, force, passphrase_file):
        """Restore the node key from a backup FILE."""
        from caro_core.backup import read_backup, restore as restore_key
        from caro_core.errors import IdentityError

        key, meta = read_backup(file, _passphrase(passphrase_file, confirm=False))
        if _daemon_running(node):
            raise IdentityError("the daemon is running; stop it first (caro daemon stop)")
        node.ensure_home()
        identity = restore_key(node.home, key, meta, force)
        node.__dict__["identity"] = identity
        node.audit.append("IdentityCreated", details=f"fingerprint {identity.fingerprint} "
                                                     f"restored from a backup")
        click.echo(f"identity {identity.fingerprint} restored")
