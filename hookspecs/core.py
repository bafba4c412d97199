"""Core hooks: configuration sections and store migrations.

These are the two things the small core cannot know by itself: which config
keys exist, and which tables the features need.
"""

from . import hookspec


@hookspec
def caro_config_schema():
    """Declare the ``config.toml`` sections and keys this plugin reads.

    Called once when a node's configuration is loaded, after the plugin
    manager is built (the ``[plugins]`` section is read before, by the core).

    :returns: a mapping of section name to a mapping of key to
        :class:`caro_core.config.Setting` (type, default and one-line help).
        A key that no plugin declares is a configuration error, so a plugin
        must declare every key it reads.  Two plugins declaring the same
        ``section.key`` is reported as a plugin conflict.

    Collect-all: every plugin's sections are merged.

    Example::

        @hookimpl
        def caro_config_schema():
            return {"dashboard": {"listen": Setting(str, "127.0.0.1:9237", "address:port")}}
    """


@hookspec
def caro_store_migrations():
    """Declare the schema migrations this plugin's tables need.

    Called once when a store is opened, before any plugin reads or writes it.

    :returns: a list of :class:`caro_core.store.Migration` — a unique ``name``
        (prefix it with the plugin's name) and its SQL.  Migrations are
        append-only: once released, a migration is never edited; a change is a
        new migration.  The store applies those not yet recorded in its
        ``migrations`` table, in the order returned, each in a transaction.

    Collect-all.

    Example::

        @hookimpl
        def caro_store_migrations():
            return [Migration("notes.001-create", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")]
    """
