"""``caro ca init|sign|install|show``: an organisation root that vouches for node certificates.

``init`` and ``sign`` run wherever the organisation keeps its root (they use
no node); ``install`` and ``show`` run on a node.  The certificates are built
and checked by :mod:`caro_core.ca`; the ``trust_ca`` plugin trusts them.
"""

from pathlib import Path

import click

from caro_core import hookimpl

DEFAULT_ROOT_NAME = "Caro organisation root"


def _status(node):
    """What ``caro ca show`` reports: the root, the node certificate, and which one TLS uses."""
    from caro_core import ca

    facts = {"root": None, "certificate": None,
             "presented": str(ca.tls_certificate_path(node.identity)),
             "ca_level": node.config.get("trust", {}).get("ca_level")}
    root = ca.installed_root(node.home)
    if root is not None:
        facts["root"] = ca.describe(root) | {"status": _problem(ca.check_root, root)}
    cert = ca.installed_certificate(node.home)
    if cert is not None:
        status = (_problem(ca.check_node_certificate, cert, root, node.identity.node_id)
                  if root is not None else "no root installed")
        facts["certificate"] = ca.describe(cert) | {"status": status}
    return facts


def _problem(check, *args):
    from caro_core.ca import CAError

    try:
        check(*args)
    except CAError as e:
        return str(e)
    return "ok"


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node
    from caro_core.output import echo_json

    @cli.group()
    def ca():
        """An organisation root CA: nodes holding its certificates trust each other."""

    @ca.command("init")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--name", default=DEFAULT_ROOT_NAME, show_default=True,
                  help="The root's common name.")
    @click.option("--days", type=click.IntRange(min=1), default=3650, show_default=True,
                  help="How long the root is valid.")
    def init(directory, name, days):
        """Create an organisation root (Ed25519 key and CA certificate) in DIRECTORY."""
        from caro_core import ca as ca_mod

        cert = ca_mod.create_root(directory, name, days)
        facts = ca_mod.describe(cert)
        click.echo(f"organisation root {facts['subject']} created in {directory}")
        click.echo(f"  certificate  {directory / ca_mod.CA_CERT_FILE} (every node installs it)")
        click.echo(f"  private key  {directory / ca_mod.CA_KEY_FILE} (keep it offline: it signs "
                   f"node certificates)")
        click.echo(f"  sha256       {facts['sha256']}")
        click.echo(f"  valid until  {facts['not_after']}")
        click.echo(f"next: caro ca sign {directory} NODE_ID --out NODE.crt")

    @ca.command("sign")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.argument("node_id")
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the certificate (a new file).")
    @click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
                  help="How long the certificate is valid (never beyond the root).")
    @click.option("--name", default=None, help="Common name [default: caro-<fingerprint>].")
    def sign(directory, node_id, out, days, name):
        """Issue a certificate for the key of NODE_ID (from `caro identity show` on the node)."""
        from caro_core import ca as ca_mod

        cert = ca_mod.issue(directory, node_id, days, name)
        ca_mod.write_certificate(cert, out)
        facts = ca_mod.describe(cert)
        click.echo(f"issued {out}: {facts['subject']}, serial {facts['serial']}, valid until "
                   f"{facts['not_after']}")
        click.echo(f"on the node: caro ca install {out} --root {directory / ca_mod.CA_CERT_FILE}")

    @ca.command("install")
    @click.argument("certificate", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--root", "root_path", required=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="The organisation root certificate (ca.crt).")
    @pass_node
    def install(node, certificate, root_path):
        """Install this node's CA-issued CERTIFICATE and the root it chains to."""
        from caro_core import ca as ca_mod
        from caro_core.daemon import notify

        node.ensure_home()
        cert, root = ca_mod.install(node.home, node.identity, certificate, root_path)
        facts, root_facts = ca_mod.describe(cert), ca_mod.describe(root)
        node.audit.append("TrustChanged", details=(
            f"organisation root {root_facts['subject']} (sha256 {root_facts['sha256'][:16]}) "
            f"installed with node certificate serial {facts['serial']} valid until "
            f"{facts['not_after']}"))
        notify(node.home)
        click.echo(f"installed: this node presents {node.home / ca_mod.NODE_CERT_FILE} and trusts "
                   f"nodes certified by {root_facts['subject']}")

    @ca.command("show")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def show(node, as_json):
        """The installed organisation root, this node's certificate and which one TLS uses."""
        facts = _status(node)
        if as_json:
            echo_json(facts)
            return
        if facts["root"] is None and facts["certificate"] is None:
            click.echo("no organisation CA installed (caro ca install CERT --root ROOT.crt)")
            return
        for label, key in (("organisation root", "root"), ("node certificate", "certificate")):
            c = facts[key]
            click.echo(f"{label:18} " + (f"{c['subject']}, serial {c['serial']}, valid until "
                                         f"{c['not_after']}: {c['status']}" if c else "none"))
        click.echo(f"{'presented in TLS':18} {facts['presented']}")
        click.echo(f"{'CA-certified peers':18} trusted as {facts['ca_level']}")
