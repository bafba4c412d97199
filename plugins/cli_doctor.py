"""``caro doctor``: check the node's home, identity, database and audit log; repair the database."""

import stat

import click

from caro_core import hookimpl
from caro_core.errors import CaroError, IdentityError, StoreCorrupt
from caro_core.output import echo_json
from caro_core.store import Store


class DoctorFound(CaroError):
    exit_code = 1


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def check_home(node):
    if not node.home.exists():
        return "ok", f"{node.home} (not created yet)"
    mode = _mode(node.home)
    if mode & 0o077:
        return "fail", f"{node.home} is accessible by other users (mode {mode:04o}); run: chmod 700 {node.home}"
    return "ok", f"{node.home} (mode {mode:04o})"


def check_identity(node):
    from caro_core.identity import KEY_FILE, load  # cryptography: only when checking

    key = node.home / KEY_FILE
    if not key.exists():
        return "ok", "not created yet (made on first use)"
    try:
        identity = load(node.home)
    except IdentityError as e:
        return "fail", str(e)
    return "ok", f"{identity.fingerprint} ({key}, mode {_mode(key):04o})"


def check_store(node):
    if not node.db_path.exists():
        return "ok", "no database yet"
    try:
        store = Store(node.db_path, node.migrations())
    except StoreCorrupt as e:
        return "fail", str(e)
    try:
        problems = store.integrity_problems()
    finally:
        store.close()
    if problems:
        return "fail", (f"{node.db_path} is damaged ({problems[0]}); run 'caro doctor --repair' "
                        "or 'caro doctor --fresh'")
    return "ok", f"{node.db_path} passes integrity_check"


def check_audit(node):
    ok, count, problem = node.audit.verify() if node.home.exists() else (True, 0, None)
    return ("ok", f"{count} entries, chain intact") if ok else ("fail", problem)


CHECKS = (("home", check_home), ("config", None), ("identity", check_identity),
          ("database", check_store), ("audit log", check_audit))


@hookimpl
def caro_cli_commands(cli):
    from caro_core.cli import pass_node

    @cli.command()
    @click.option("--repair", "repair_db", is_flag=True,
                  help="Salvage every readable row of a damaged database into a fresh one.")
    @click.option("--fresh", is_flag=True,
                  help="Move the database aside and start with an empty one.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_node
    def doctor(node, repair_db, fresh, as_json):
        """Check the node's health (and repair its database with --repair or --fresh)."""
        if repair_db and fresh:
            raise click.UsageError("choose one of --repair and --fresh")
        if repair_db or fresh:
            _repair(node, fresh, as_json)
            return
        results = []
        for name, check in CHECKS:
            status, detail = check(node) if check else ("ok", f"{node.config_path} is valid")
            results.append({"check": name, "status": status, "detail": detail})
        if as_json:
            echo_json(results)
        else:
            for r in results:
                mark = click.style("ok  ", fg="green") if r["status"] == "ok" else click.style("FAIL", fg="red")
                click.echo(f"{mark} {r['check']:10} {r['detail']}")
        failed = [r["check"] for r in results if r["status"] != "ok"]
        if failed:
            raise DoctorFound(f"doctor found problems with: {', '.join(failed)}")


def _repair(node, fresh, as_json):
    from caro_core import repair  # sqlite salvage: only when repairing

    if not node.db_path.exists():
        raise CaroError(f"no database at {node.db_path}: nothing to repair")
    node.close()
    if fresh:
        aside = repair.fresh(node.db_path, node.migrations())
        counts = {}
        message = f"started a fresh database; the old one is kept at {aside}"
    else:
        aside, counts = repair.salvage(node.db_path, node.migrations())
        total = sum(counts.values())
        message = (f"salvaged {total} readable rows into a fresh database; "
                   f"the damaged file is kept at {aside}")
    node.audit.append("StoreRepaired", details=f"{'fresh' if fresh else 'salvage'}: {message}")
    if as_json:
        echo_json({"mode": "fresh" if fresh else "repair", "aside": str(aside), "rows": counts})
    else:
        click.echo(message)
        for table, rows in sorted(counts.items()):
            click.echo(f"  {table}: {rows} rows")
