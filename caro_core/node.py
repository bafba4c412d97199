"""The Node: one Caro installation's home, configuration, plugins, identity, store and audit log.

Everything but the configuration and the plugin manager is opened lazily, so a
command pays only for what it uses (``caro --help`` opens nothing).
"""

import os
from functools import cached_property

from . import config as config_mod
from .audit import AuditLog
from .home import ensure_home, resolve_home
from .plugins import make_plugin_manager
from .skills import register_skills
from .store import DB_FILE, Store

CONFIG_FILE = "config.toml"


class Node:
    """A node built from its home.  Use :meth:`load`; tests pass ``extra_plugins``."""

    def __init__(self, home, pm, config):
        self.home = home
        self.pm = pm
        self.config = config
        #: the daemon's :class:`caro_core.runtime.RuntimeState` while it runs, else None
        self.runtime = None
        #: the running :class:`caro_core.mesh.Mesh` inside the daemon, else None
        self.mesh = None
        #: every :class:`caro_core.skills.Skill` found, enabled or not (see :meth:`load`)
        self.skills = []

    @classmethod
    def load(cls, home=None, environ=os.environ, extra_plugins=()):
        """Read and validate the configuration, build the plugin manager; raises ConfigError."""
        home = resolve_home(environ) if home is None else home
        path = home / CONFIG_FILE
        raw = config_mod.read_raw(path)
        pm = make_plugin_manager(config_mod.plugin_settings(raw, path), environ, extra_plugins)
        # pluggy answers in reverse registration order; the names let a clash name both plugins
        schemas = pm.hook.caro_config_schema()[::-1]
        owners = [impl.plugin_name for impl in pm.hook.caro_config_schema.get_hookimpls()]
        if len(owners) != len(schemas):
            owners = ["a plugin"] * len(schemas)
        schema = config_mod.merge_schemas(zip(owners, schemas))
        node = cls(home, pm, config_mod.validate(raw, schema, path))
        node.skills = register_skills(node)
        return node

    @property
    def config_path(self):
        return self.home / CONFIG_FILE

    def ensure_home(self):
        return ensure_home(self.home)

    @cached_property
    def audit(self):
        self.ensure_home()
        return AuditLog(self.home)

    @cached_property
    def identity(self):
        from .identity import load_or_create  # cryptography costs start-up time; load on use

        self.ensure_home()
        return load_or_create(self.home, on_created=lambda identity: self.audit.append(
            "IdentityCreated", details=f"fingerprint {identity.fingerprint}"))

    def migrations(self):
        """The core's migrations (events, summaries, peers, deliveries, rotations), then plugins'."""
        from .events import MIGRATIONS
        from .exchange import MIGRATIONS as EXCHANGE_MIGRATIONS
        from .peers import MIGRATIONS as PEER_MIGRATIONS
        from .rotation import MIGRATIONS as ROTATION_MIGRATIONS
        from .summary import MIGRATIONS as SUMMARY_MIGRATIONS

        plugins = [m for batch in reversed(self.pm.hook.caro_store_migrations()) for m in batch]
        return (MIGRATIONS + SUMMARY_MIGRATIONS + PEER_MIGRATIONS + EXCHANGE_MIGRATIONS
                + ROTATION_MIGRATIONS + plugins)

    @cached_property
    def store(self):
        self.ensure_home()
        return Store(self.db_path, self.migrations())

    @property
    def db_path(self):
        return self.home / DB_FILE

    def close(self):
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]
