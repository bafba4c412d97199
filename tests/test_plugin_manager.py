"""The plugin manager factory: built-ins, entry-point plugins, disabling, tracing, broken plugins."""

import json
import sys
import textwrap

import click
import pytest

from caro_core import hookimpl
from caro_core.plugins import BUILTIN_PLUGINS, ESSENTIAL, make_plugin_manager


def make_distribution(site, dist, version, module, source, entry_name=None):
    """A real installed distribution on ``site``: a module plus dist-info with an entry point."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[caro]\n{entry_name or module} = {module}\n")
    (info / "RECORD").write_text("")


GOOD = '''
    import click
    from caro_core import hookimpl
    from caro_core.config import Setting

    @hookimpl
    def caro_config_schema():
        return {"greeter": {"greeting": Setting(str, "hello", "what to say")}}

    @hookimpl
    def caro_cli_commands(cli):
        from caro_core.cli import pass_node

        @cli.command()
        @pass_node
        def greet(node):
            """Say the configured greeting."""
            click.echo(node.config["greeter"]["greeting"] + " from a plugin")
'''


@pytest.fixture
def site(tmp_path):
    return tmp_path / "site"


def test_builtins_register_in_tuple_order(node):
    names = [name for name, plugin in node.pm.list_name_plugin() if plugin is not None]
    assert names[:len(BUILTIN_PLUGINS)] == [name for _, name in BUILTIN_PLUGINS]
    assert node.pm.builtin_tiers["cli_doctor"] == ESSENTIAL


def test_external_plugin_is_listed_and_its_hooks_take_effect(site, caro, caro_home):
    make_distribution(site, "caro-greeter", "1.2.3", "caro_greeter", GOOD, entry_name="greeter")
    env = {"PYTHONPATH": str(site)}
    listed = json.loads(caro("plugins", "list", "--json", env=env).stdout)
    assert listed == [{"name": "greeter", "hooks": ["caro_cli_commands", "caro_config_schema"],
                       "distribution": "caro-greeter", "version": "1.2.3"}]
    assert caro("greet", env=env).stdout == "hello from a plugin\n"

    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text('[greeter]\ngreeting = "hi"\n')
    assert caro("greet", env=env).stdout == "hi from a plugin\n"

    with_hook = json.loads(caro("plugins", "list", "--all", "--hook", "caro_config_schema",
                                "--json", env=env).stdout)
    assert "greeter" in [p["name"] for p in with_hook]
    assert all("caro_config_schema" in p["hooks"] for p in with_hook)
    without = json.loads(caro("plugins", "list", "--all", "--hook", "caro_shell_names",
                              "--json", env=env).stdout)
    assert "greeter" not in [p["name"] for p in without]

    disabled = caro("plugins", "list", "--json", env={**env, "CARO_DISABLE_PLUGINS": "greeter"})
    assert disabled.returncode != 0  # its config section is now unknown: say so, don't ignore it
    assert "unknown section [greeter]" in disabled.stderr
    (caro_home / "config.toml").unlink()
    disabled = caro("plugins", "list", "--json", env={**env, "CARO_DISABLE_PLUGINS": "greeter"})
    assert json.loads(disabled.stdout) == []
    not_allowed = caro("plugins", "list", "--json", env={**env, "CARO_LOAD_PLUGINS": ""})
    assert json.loads(not_allowed.stdout) == []


@pytest.mark.parametrize("source, expected", [
    ("raise ImportError('missing dependency foo')",
     "plugin 'broken' (caro-broken 0.1) failed to import: ImportError: missing dependency foo; skipped"),
    ('''
     from caro_core import hookimpl
     @hookimpl
     def caro_no_such_hook():
         pass
     ''', "plugin 'broken' (caro-broken 0.1) implements unknown hook(s) caro_no_such_hook; skipped"),
    ('''
     from caro_core import hookimpl
     @hookimpl
     def caro_cli_commands(cli, extra):
         pass
     ''', "plugin 'broken' (caro-broken 0.1) could not be registered"),
])
def test_a_broken_plugin_is_reported_in_one_line_and_skipped(site, caro, source, expected):
    make_distribution(site, "caro-broken", "0.1", "caro_broken", source, entry_name="broken")
    make_distribution(site, "caro-greeter", "1.0", "caro_greeter", GOOD, entry_name="greeter")
    result = caro("plugins", "list", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert [p["name"] for p in json.loads(result.stdout)] == ["greeter"]


class Recorder:
    def __init__(self):
        self.calls = 0

    @hookimpl
    def caro_cli_commands(self, cli):
        self.calls += 1


def test_disabled_default_plugin_is_not_loaded(monkeypatch):
    from caro_core import plugins
    monkeypatch.setattr(plugins, "BUILTIN_PLUGINS", BUILTIN_PLUGINS + (("default", "cli_demo"),))
    demo = Recorder()
    monkeypatch.setitem(sys.modules, "caro_plugins.cli_demo", demo)
    pm = make_plugin_manager(environ={})
    pm.hook.caro_cli_commands(cli=click.Group())
    assert demo.calls == 1
    for settings, environ in ((None, {"CARO_DISABLE_PLUGINS": "cli_demo"}),
                              ({"disable": ["cli_demo"], "autoload": True}, {})):
        pm = make_plugin_manager(settings, environ=environ)
        assert pm.is_blocked("cli_demo") and pm.get_plugin("cli_demo") is None
        pm.hook.caro_cli_commands(cli=click.Group())
        assert demo.calls == 1  # a disabled plugin's hooks never run


def test_essential_plugins_cannot_be_disabled(capsys):
    pm = make_plugin_manager({"disable": ["cli_doctor"], "autoload": False}, environ={})
    assert pm.get_plugin("cli_doctor") is not None
    assert "essential and cannot be disabled" in capsys.readouterr().err


def test_tracing_prints_hook_calls(caro):
    result = caro("plugins", "list", env={"CARO_TRACE_PLUGINS": "1"})
    assert result.returncode == 0
    assert "caro_cli_commands" in result.stderr and "caro_config_schema" in result.stderr


def test_unknown_hook_name_for_listing_is_a_usage_error(caro):
    result = caro("plugins", "list", "--hook", "caro_nope")
    assert result.returncode == 2 and "no hook named 'caro_nope'" in result.stderr
