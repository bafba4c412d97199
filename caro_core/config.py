"""Loading and validating ``config.toml``.

The core knows only the ``[plugins]`` section; every other section is declared
by the plugin that reads it through ``caro_config_schema``.  Validation reports
the first problem as one line naming the file, the key and what is expected.
"""

import copy
import tomllib
from dataclasses import dataclass, field

from .errors import ConfigError

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


@dataclass(frozen=True)
class Setting:
    """One config key: its type, default and a one-line description.

    ``item`` is the element type of a list; ``choices`` restricts the value.
    """

    type: type
    default: object
    help: str
    item: type | None = None
    choices: tuple = field(default=())

    def check(self, value):
        """Return None when ``value`` fits, else what was expected."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return None
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            return _TYPE_NAMES.get(self.type, self.type.__name__)
        if self.type is list and self.item is not None:
            if not all(isinstance(v, self.item) for v in value):
                return f"a list of {_KIND_NAMES[self.item]}s"
        if self.choices:
            values = value if isinstance(value, list) else [value]
            if any(v not in self.choices for v in values):
                return "one of " + ", ".join(repr(c) for c in self.choices)
        return None


#: The core's own sections: which plugins load, and what observation leaves out.
CORE_SCHEMA = {
    "plugins": {
        "disable": Setting(list, [], "plugin names not to load (built-in or external)", item=str),
        "autoload": Setting(bool, True, "load external plugins from the 'caro' entry-point group"),
    },
    "observe": {
        "history_filter": Setting(list, [], "regexes: matching commands are not recorded", item=str),
        "cwd_filter": Setting(list, [], "regexes: commands run in matching directories are not "
                                        "recorded", item=str),
    },
}


def read_raw(path):
    """Parse ``path`` as TOML; a missing file is an empty config."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: syntax error: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None


def plugin_settings(raw, path):
    """Validate and return the ``[plugins]`` section alone (needed before plugins load)."""
    return validate({"plugins": raw.get("plugins", {})}, CORE_SCHEMA, path)["plugins"]


def merge_schemas(contributions):
    """Merge ``(plugin_name, schema)`` pairs into one schema; a duplicate key is an error."""
    merged = copy.copy(CORE_SCHEMA)
    owners = {f"{s}.{k}": "core" for s, keys in CORE_SCHEMA.items() for k in keys}
    for plugin_name, schema in contributions:
        for section, keys in (schema or {}).items():
            target = merged.setdefault(section, {})
            if target is CORE_SCHEMA.get(section):
                target = merged[section] = dict(target)
            for key, setting in keys.items():
                dotted = f"{section}.{key}"
                if dotted in owners:
                    raise ConfigError(f"config key {dotted} is declared by both {owners[dotted]} "
                                      f"and {plugin_name}: disable one of them")
                owners[dotted] = plugin_name
                target[key] = setting
    return merged


def validate(raw, schema, path):
    """Return the config with defaults filled in, or raise :class:`ConfigError`."""
    result = {}
    for section, value in raw.items():
        if section not in schema:
            known = ", ".join(f"[{s}]" for s in sorted(schema))
            raise ConfigError(f"{path}: unknown section [{section}] (known: {known})")
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {section} must be a table [{section}], got {_describe(value)}")
    for section, keys in schema.items():
        given = raw.get(section, {})
        for key in given:
            if key not in keys:
                known = ", ".join(sorted(keys)) or "none"
                raise ConfigError(f"{path}: [{section}] unknown key '{key}' (known keys: {known})")
        values = {}
        for key, setting in keys.items():
            if key in given:
                expected = setting.check(given[key])
                if expected:
                    raise ConfigError(f"{path}: [{section}] {key}: expected {expected}, "
                                      f"got {_describe(given[key])}")
                values[key] = given[key]
            else:
                values[key] = copy.deepcopy(setting.default)
        result[section] = values
    return result


_KIND_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list",
               dict: "table"}


def _describe(value):
    return f"{_KIND_NAMES.get(type(value), type(value).__name__)} {value!r}"
