"""Errors meant for people: each one prints as a single line and sets the exit code."""


class CaroError(Exception):
    """An error the user can act on; the CLI prints ``caro: <message>`` and exits."""

    exit_code = 1


class ConfigError(CaroError):
    """``config.toml`` is malformed, has an unknown key or a wrong type."""

    exit_code = 2


class StoreCorrupt(CaroError):
    """The node's database cannot be read; ``caro doctor`` repairs it."""

    exit_code = 3


class IdentityError(CaroError):
    """The node's key or certificate is missing, unreadable or too widely readable."""

    exit_code = 4
