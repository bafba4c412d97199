"""``caro skills …``: install, list, enable, verify, sign and bundle skills (ADR-004).

Also declares the ``[skills]`` config section.  The work is done by the
``caro_core.skill_*`` modules; this plugin turns it into commands and output.
"""

import sys

import click

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.output import echo_json, echo_table


@hookimpl
def caro_config_schema():
    """Declare the ``[skills]`` section."""
    return {"skills": {
        "sources": Setting(list, [], "internal OCI registries (HOST:PORT or HOST:PORT/PATH) "
                                     "tried in order by `caro skills install ID`", item=str),
        "require_signature": Setting(bool, False, "refuse skills not signed by a trusted signer"),
        "trusted_signers": Setting(list, [], "signer ids (caro:ed25519:…) whose skill "
                                             "signatures are trusted", item=str),
        "bundled": Setting(bool, True, "offer the first-party skills bundled with Caro"),
    }}


def describe(skill):
    """The JSON facts of one skill (``caro skills list --json``)."""
    return {"id": skill.id, "version": skill.version, "enabled": skill.enabled,
            "source": skill.source, "capabilities": sorted(skill.granted),
            "layers": skill.layers, "requested": skill.requested, "bundled": skill.bundled,
            "name": skill.name, "description": skill.description}


def capability_text(skill, name):
    """A capability request in words: ``terminal_exec (git, gh)``."""
    value = skill.manifest.get("capabilities", {}).get(name)
    if isinstance(value, dict):
        value = value.get("commands", [])
    if isinstance(value, list):
        return f"{name} ({', '.join(value)})"
    return name


def _ask(skill, name):
    return click.confirm(f"Grant {capability_text(skill, name)} to {skill.id}?", default=False)


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.group()
    def skills():
        """Skills: knowledge, recipes and sandboxed modules for tools (docs/skills.md)."""

    @skills.command("list")
    @click.option("--all", "show_all", is_flag=True,
                  help="Also bundled skills that are disabled or hidden, and unreadable ones.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def list_skills(node, show_all, as_json):
        """List installed and enabled skills."""
        from caro_core.skills import find_skills

        bundled = show_all or node.config["skills"]["bundled"]
        found, errors = find_skills(node.home, bundled)
        if not show_all:
            found = [s for s in found if s.enabled or not s.bundled]
        if as_json:
            data = [describe(s) for s in found]
            if show_all:
                data += [{"error": message} for message in errors]
            echo_json(data)
            return
        if not found:
            click.echo("No skills (caro skills list --all shows the bundled ones).")
        else:
            echo_table([(s.id, s.version, "yes" if s.enabled else "no",
                         "bundled" if s.bundled else s.source, ", ".join(s.layers),
                         ", ".join(sorted(s.granted)) or "-") for s in found],
                       ["id", "version", "enabled", "source", "layers", "granted"])
        for message in errors if show_all else ():
            click.echo(f"unreadable: {message}")

    @skills.command()
    @click.argument("skill_id")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def info(node, skill_id, as_json):
        """Show one skill: manifest, layers, capabilities, lockfile record."""
        from caro_core.skill_install import lookup
        from caro_core.skill_recipe import load_recipes

        skill, entry = lookup(node, skill_id)
        facts = describe(skill)
        facts.update(path=str(skill.directory),
                     topics=skill.manifest.get("knowledge", {}).get("topics", []),
                     recipes=[{"id": r.id, "title": r.title} for r in load_recipes(skill)],
                     categories=skill.manifest.get("categories", {}),
                     guardrails=[r["id"] for r in skill.manifest.get("guardrails", {})
                                 .get("rules", [])],
                     dependencies=skill.manifest.get("dependencies", {}),
                     lock={k: v for k, v in entry.items() if k not in ("files", "manifest_stat", "manifest")})
        if as_json:
            echo_json(facts)
            return
        click.echo(f"{skill.id} {skill.version}  {skill.name}: {skill.description}")
        click.echo(f"  enabled      {'yes' if skill.enabled else 'no'}")
        click.echo(f"  source       {'bundled with Caro' if skill.bundled else skill.source}")
        click.echo(f"  path         {skill.directory}")
        click.echo(f"  layers       {', '.join(skill.layers) or '-'}")
        for name in skill.requested:
            state = "granted" if name in skill.granted else "not granted"
            click.echo(f"  capability   {capability_text(skill, name)}: {state}")
        if facts["topics"]:
            click.echo(f"  topics       {', '.join(facts['topics'])}")
        for recipe in facts["recipes"]:
            click.echo(f"  recipe       {recipe['id']}: {recipe['title']}")
        if entry.get("integrity"):
            click.echo(f"  integrity    {entry['integrity']}")
            click.echo(f"  ref          {entry.get('kind')} {entry.get('ref')}")
        if entry.get("signer"):
            click.echo(f"  signer       {entry['signer']}")

    @skills.command()
    @click.argument("source")
    @click.option("--grant", "grants", multiple=True, metavar="CAP",
                  help="Grant a requested capability (repeatable; 'all' for every one).")
    @click.option("--yes", "-y", is_flag=True, help="Grant every requested capability, no questions.")
    @pass_node
    def install(node, source, grants, yes):
        """Install a skill from a folder, git repository, archive, OCI layout or registry, or by id."""
        from caro_core.skill_install import install as do_install

        ask = _ask if not yes and sys.stdin.isatty() else None
        for done in do_install(node, source, grants, yes, ask):
            signed = f", signed by {done.signer}" if done.signer else ""
            click.echo(f"installed {done.id} {done.version} ({done.kind} {done.ref}{signed})")
            if done.granted:
                click.echo(f"  granted: {', '.join(done.granted)}")
            for name in done.not_granted:
                click.echo(f"  not granted: {name} (caro skills grant {done.id} {name})")
            if done.missing_tools:
                click.echo(f"  note: not on PATH: {', '.join(done.missing_tools)}")

    @skills.command()
    @click.argument("skill_id")
    @pass_node
    def remove(node, skill_id):
        """Remove an installed skill."""
        from caro_core.skill_install import remove as do_remove

        click.echo(f"removed {skill_id} {do_remove(node, skill_id)}")

    @skills.command()
    @click.argument("skill_id")
    @pass_node
    def enable(node, skill_id):
        """Enable a skill."""
        from caro_core.skill_install import set_enabled

        set_enabled(node, skill_id, True)
        click.echo(f"enabled {skill_id}")

    @skills.command()
    @click.argument("skill_id")
    @pass_node
    def disable(node, skill_id):
        """Disable a skill (it stays installed)."""
        from caro_core.skill_install import set_enabled

        set_enabled(node, skill_id, False)
        click.echo(f"disabled {skill_id}")

    @skills.command()
    @click.argument("skill_id")
    @click.argument("capabilities", nargs=-1, required=True)
    @pass_node
    def grant(node, skill_id, capabilities):
        """Grant capabilities the skill requests."""
        from caro_core.skill_install import set_capability

        for name in capabilities:
            set_capability(node, skill_id, name, True)
            click.echo(f"granted {name} to {skill_id}")

    @skills.command()
    @click.argument("skill_id")
    @click.argument("capabilities", nargs=-1, required=True)
    @pass_node
    def revoke(node, skill_id, capabilities):
        """Revoke granted capabilities."""
        from caro_core.skill_install import set_capability

        for name in capabilities:
            set_capability(node, skill_id, name, False)
            click.echo(f"revoked {name} from {skill_id}")

    @skills.command()
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    @pass_node
    def verify(node, ctx, as_json):
        """Check installed skills against the lockfile; exit 1 on any change."""
        from caro_core.skill_lock import verify_installed

        results = verify_installed(node.home)
        if as_json:
            echo_json(results)
        for r in results if not as_json else ():
            if r["ok"]:
                click.echo(f"ok        {r['id']}")
                continue
            click.echo(f"CHANGED   {r['id']}" + ("  (folder missing)" if r.get("missing") else ""))
            for kind in ("changed", "added", "removed"):
                for path in r[kind] if not r.get("missing") else ():
                    click.echo(f"  {kind:8} {path}")
            if r.get("signature"):
                click.echo(f"  signature {r['signature']}")
        if not results and not as_json:
            click.echo("No installed skills.")
        if any(not r["ok"] for r in results):
            ctx.exit(1)

    @skills.command()
    @click.argument("directory", type=click.Path(file_okay=False))
    @pass_node
    def validate(node, directory):
        """Check a skill folder: manifest schema, files, recipes."""
        from caro_core.skill_manifest import validate_dir

        skill = validate_dir(directory)
        click.echo(f"ok: {skill.id} {skill.version} ({', '.join(skill.layers) or 'classifier'})")

    @skills.command()
    @click.argument("skill_id")
    @click.option("--dir", "parent", default=".", type=click.Path(file_okay=False),
                  help="Folder to create the skill in (default: here).")
    def new(skill_id, parent):
        """Scaffold a working knowledge + recipe skill in a new folder."""
        from caro_core.skill_scaffold import scaffold

        target = scaffold(skill_id, parent)
        click.echo(f"created {target}: edit it, then `caro skills validate {target}` and "
                   f"`caro skills install {target}`")

    @skills.command()
    @click.argument("directory", type=click.Path(file_okay=False, exists=True))
    @click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True),
                  help="Ed25519 private key (PEM); default: this node's identity key.")
    @pass_node
    def sign(node, directory, key_file):
        """Sign a skill folder (writes skill.sig)."""
        from pathlib import Path

        from caro_core.identity import read_private_key
        from caro_core.skill_lock import content_hash, file_hashes
        from caro_core.skill_manifest import validate_dir
        from caro_core.skill_sign import sign as do_sign
        from caro_core.skills import SkillError

        skill = validate_dir(directory)
        key = (read_private_key(Path(key_file), SkillError) if key_file
               else node.identity.private_key)
        integrity = content_hash(file_hashes(Path(directory)))
        signer = do_sign(Path(directory), key, integrity)
        click.echo(f"signed {skill.id} {skill.version} ({integrity}) as {signer}")

    @skills.command()
    @click.argument("file", type=click.Path(dir_okay=False))
    @pass_node
    def bundle(node, file):
        """Write every installed skill into one .tar.gz for an air-gapped site."""
        from caro_core.skill_install import bundle as do_bundle

        ids = do_bundle(node, file)
        click.echo(f"bundled {len(ids)} skill(s) into {file}: {', '.join(ids)}; "
                   f"install there with `caro skills install {file}`")
