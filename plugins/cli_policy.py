"""``caro policy show|check|sign|apply``: the sharing policy, what a node may see and why,
and the organisation's signed policy templates (:mod:`caro_core.policy`)."""

from pathlib import Path

import click

from caro_core import hookimpl


def _template_status(node, policy):
    """The installed template's facts, whether it still verifies and what it tightens."""
    from caro_core import ca
    from caro_core import policy as policy_mod
    from caro_core.errors import CaroError

    path = node.home / policy_mod.TEMPLATE_FILE
    try:
        policy_mod.verify_template(path, ca.installed_root(node.home))
        status = "ok"
    except CaroError as e:  # the root was replaced or removed, the file edited
        status = str(e)
    return {"file": str(path), **policy.template_info, "signature": status,
            "rules": policy.template.to_json(),
            "tightens": policy_mod.tightens(policy.own, policy.template)}


def _describe(rules):
    """Lines for people: ``allow.peers = ["*"]`` and so on."""
    import json

    lines = [f"{kind}.{key} = {json.dumps(list(entries))}"
             for kind, table in (("allow", rules.allow), ("deny", rules.deny))
             for key, entries in table.items()]
    withheld = [c for c, shared in rules.categories.items() if not shared]
    return lines + ([f"categories withheld: {', '.join(withheld)}"] if withheld else [])


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node
    from caro_core.output import echo_json, echo_table

    @cli.group()
    def policy():
        """The sharing policy: who may see what of this node's data."""

    @policy.command("show")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def show(node, as_json):
        """The policy in force: own [sharing] and the organisation's template."""
        from caro_core import policy as policy_mod

        effective = policy_mod.load(node)
        template = _template_status(node, effective) if effective.template else None
        if as_json:
            echo_json({"max_level": effective.max_level, "min_cohort": effective.min_cohort,
                       "epsilon": effective.epsilon, "categories": effective.categories,
                       "config": effective.own.to_json(), "template": template})
            return
        levels = {0: "share nothing", 1: "Level-1 summaries to trusted peers",
                  2: "summaries to peers, Level-2 aggregates to supervisors"}
        click.echo(f"max_level   {effective.max_level} ({levels[effective.max_level]})")
        click.echo(f"min_cohort  {effective.min_cohort} (Level-2 aggregates over fewer nodes "
                   f"are not shown)")
        click.echo(f"epsilon     {effective.epsilon or 'off'}"
                   + (" (Laplace noise on Level-2 counts)" if effective.epsilon else ""))
        click.echo(f"config      {node.config_path}")
        for line in _describe(effective.own):
            click.echo(f"  {line}")
        if template is None:
            click.echo("template    none (caro policy apply FILE installs the organisation's)")
            return
        click.echo(f"template    signed by {template['signer']} at {template['signed_at']}, "
                   f"signature {template['signature']}")
        for line in _describe(effective.template):
            click.echo(f"  {line}")
        click.echo(f"  tightens: {', '.join(template['tightens']) or 'nothing'}")

    @policy.command("check")
    @click.argument("node_id")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def check(node, node_id, as_json):
        """What a node may see of this node's data, and why.

        NODE_ID is a node id or the fingerprint (prefix) of a known peer.
        """
        from caro_core import policy as policy_mod
        from caro_core.peers import find_known
        from caro_core.trust import decide

        peer = find_known(node.store, node.home, node_id)
        trust = decide(node, peer)
        summaries = policy_mod.summary_level(node, peer)
        queries = {q: policy_mod.decide(node, peer, q) for q in policy_mod.QUERY_CATEGORIES}
        if as_json:
            echo_json({"node_id": peer.node_id, "fingerprint": peer.fingerprint,
                       "trust": trust.label, "summaries": summaries.to_json(),
                       "queries": {q: d.to_json() for q, d in queries.items()}})
            return
        click.echo(f"{peer.fingerprint} ({peer.node_id}) is trusted as {trust.label}")
        echo_table([(what, d.level, "allowed" if d.level else "ACCESS_DENIED", d.rule, d.reason)
                    for what, d in [("summaries", summaries), *queries.items()]],
                   ["data", "level", "answer", "rule", "why"])

    @policy.command("sign")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--ca", "ca_dir", required=True,
                  type=click.Path(file_okay=False, path_type=Path),
                  help="The organisation root's directory (caro ca init).")
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the signed template (a new file).")
    def sign(file, ca_dir, out):
        """Sign a [sharing] policy FILE with the organisation root.

        Every node then installs the result with caro policy apply.
        """
        from caro_core import policy as policy_mod

        signature = policy_mod.sign_template(file, ca_dir, out)
        click.echo(f"{out}: signed by {signature['signer']} at {signature['signed_at']}; "
                   f"nodes install it with: caro policy apply {out.name}")

    @policy.command("apply")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @pass_node
    def apply(node, file):
        """Verify FILE against the installed organisation root and install it."""
        from caro_core import policy as policy_mod

        info, fields = policy_mod.apply_template(node, file)
        click.echo(f"policy template signed by {info['signer']} at {info['signed_at']} "
                   f"installed; it tightens: {', '.join(fields) or 'nothing'} (this node's "
                   f"stricter settings still win)")
