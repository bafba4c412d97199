"""Generate hooks: natural language to command, explanations, context."""

from . import hookspec


@hookspec
def caro_generate_commands(request, context):
    """Propose commands for a natural-language request.

    Called by ``caro "REQUEST"`` / ``caro ask``.  Every candidate is then
    assessed by the safety engine; a backend never decides safety.

    :param request: the user's request text.
    :param context: a :class:`caro_core.generate.GenerateContext` (platform,
        available programs, the backend chosen, knowledge snippets).
    :returns: a list of :class:`caro_core.generate.Candidate` (command,
        explanation, confidence, backend name); empty when this backend has
        no suggestion or is not the chosen one.

    Collect-all: candidates are ranked by confidence.

    Example::

        @hookimpl
        def caro_generate_commands(request, context):
            if "disk usage" in request:
                return [Candidate("du -sh .", "size of this directory", 0.8, "example")]
            return []
    """


@hookspec
def caro_generate_explain(command):
    """Explain parts of a parsed command.

    Called by ``caro explain`` and ``--explain``.

    :param command: a :class:`caro_core.cmdparse.ParsedCommand`.
    :returns: a list of ``(part, explanation)`` pairs for the programs, flags,
        arguments, pipes and redirections this plugin knows about.

    Collect-all: later plugins fill what earlier ones left unexplained.

    Example::

        @hookimpl
        def caro_generate_explain(command):
            return [("-h", "human-readable sizes")
                    for c in command.simple_commands if c.program == "du" and "-h" in c.argv]
    """


@hookspec
def caro_generate_context(request):
    """Offer knowledge passages relevant to a request.

    Called before ``caro_generate_commands``; the passages are given to the
    backends (the local-model backend injects them into its prompt).

    :param request: the user's request text.
    :returns: a list of :class:`caro_core.generate.KnowledgeSnippet` (source,
        topic, text, priority).

    Collect-all.

    Example::

        @hookimpl
        def caro_generate_context(request):
            if "terraform" in request:
                return [KnowledgeSnippet("tf-skill", "terraform", "Use plan before apply.", 50)]
            return []
    """
