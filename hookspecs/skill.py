"""Skill hooks: where skills come from and how their layers become plugins (ADR-004)."""

from . import hookspec


@hookspec(firstresult=True)
def caro_skill_fetch(source, dest):
    """Fetch a skill from ``source`` into the empty directory ``dest``.

    Called by ``caro skills install SOURCE``.  Sources are a local path, a git
    repository, a tarball or zip, an OCI image layout or an internal OCI
    registry; nothing is fetched from outside the configured network.

    :param source: the source string the user gave.
    :param dest: a :class:`pathlib.Path` to an empty directory to fill.
    :returns: a :class:`caro_core.skills.FetchResult` (kind, resolved ref),
        or None when this plugin does not handle ``source``.

    firstresult.

    Example::

        @hookimpl
        def caro_skill_fetch(source, dest):
            if source.startswith("svn+"):
                svn_export(source[4:], dest)
                return FetchResult("svn", source)
    """


@hookspec
def caro_skill_plugins(skill):
    """Turn an enabled skill's layers into plugin objects.

    Called when a node loads its enabled skills, once per skill.  The returned
    objects are registered on the same plugin manager as every other plugin,
    so a skill's knowledge answers ``caro_generate_context``, its recipes
    ``caro_generate_commands``, its categories and guardrails the classify hooks.

    :param skill: a loaded :class:`caro_core.skills.Skill` (manifest, directory,
        granted capabilities).
    :returns: a list of plugin objects (instances with ``@hookimpl`` methods).

    Collect-all.

    Example::

        @hookimpl
        def caro_skill_plugins(skill):
            if skill.manifest.get("provides", {}).get("knowledge"):
                return [KnowledgePlugin(skill)]
            return []
    """
