"""config.toml: validated against the sections plugins declare; one-line errors naming file and key."""

import pytest

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.errors import ConfigError
from caro_core.node import Node


class DemoSettings:
    @hookimpl
    def caro_config_schema(self):
        return {"demo": {"listen": Setting(str, "127.0.0.1:1", "address:port"),
                         "retries": Setting(int, 3, "how often"),
                         "mode": Setting(str, "a", "mode", choices=("a", "b")),
                         "names": Setting(list, [], "names", item=str)}}


def load(home, text):
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "config.toml").write_text(text)
    return Node.load(home, environ={}, extra_plugins=[("demo", DemoSettings())])


def test_defaults_fill_missing_keys(caro_home):
    node = load(caro_home, "[demo]\nretries = 5\n")
    assert node.config["demo"] == {"listen": "127.0.0.1:1", "retries": 5, "mode": "a", "names": []}
    assert node.config["plugins"] == {"disable": [], "autoload": True}


@pytest.mark.parametrize("text, expected", [
    ("[demo]\nretries = 'five'\n", "[demo] retries: expected an integer, got string 'five'"),
    ("[demo]\nretries = true\n", "[demo] retries: expected an integer, got boolean True"),
    ("[demo]\nmode = 'c'\n", "[demo] mode: expected one of 'a', 'b'"),
    ("[demo]\nnames = [1]\n", "[demo] names: expected a list of strings"),
    ("[demo]\nlistne = 'x'\n", "[demo] unknown key 'listne' (known keys: listen, mode, names, retries)"),
    ("[dmeo]\n", "unknown section [dmeo]"),
    ("demo = 3\n", "demo must be a table"),
    ("[demo\n", "syntax error"),
])
def test_bad_config_names_file_and_key(caro_home, text, expected):
    with pytest.raises(ConfigError) as info:
        load(caro_home, text)
    message = str(info.value)
    assert message.startswith(str(caro_home / "config.toml"))
    assert expected in message
    assert "\n" not in message


def test_a_key_declared_by_two_plugins_is_reported(caro_home):
    with pytest.raises(ConfigError, match="declared by both demo and twin"):
        Node.load(caro_home, environ={},
                  extra_plugins=[("demo", DemoSettings()), ("twin", DemoSettings())])


def test_cli_reports_bad_config_in_one_line_and_exits_2(caro_home, caro):
    caro_home.mkdir(mode=0o700)
    (caro_home / "config.toml").write_text("[plugins]\ndisable = 'x'\n")
    result = caro("identity", "show")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "config.toml: [plugins] disable: expected a list, got string 'x'" in result.stderr
    assert not (caro_home / "identity.key").exists()


def test_documented_defaults_match_the_code(node, repo_root):
    """docs/configuration.md lists every key the built-in plugins declare."""
    text = (repo_root / "docs" / "configuration.md").read_text()
    for section, keys in node.config.items():
        assert f"[{section}]" in text, section
        for key in keys:
            assert f"`{key}`" in text, f"{section}.{key} undocumented"
