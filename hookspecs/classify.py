"""Classify hooks: the category of a command, its risk findings, its secrets.

All three receive the command already parsed once by :mod:`caro_core.cmdparse`
(a bash grammar, not regular expressions over raw text), so quoted text and the
arguments of harmless programs are data, never a threat.
"""

from . import hookspec


@hookspec(firstresult=True)
def caro_classify_category(command):
    """Name the category of a parsed command line.

    Called for every command Caro records, checks or suggests.  The built-in
    categories plugin is ``trylast`` so skills and third-party plugins that
    teach new tools answer first.

    :param command: a :class:`caro_core.cmdparse.ParsedCommand`; its
        ``simple_commands`` have wrappers (``sudo``, ``env``, ``time``…) and
        nested ``sh -c`` payloads already looked through.
    :returns: a category name (``git``, ``docker``, ``kubernetes``, ``npm``,
        ``cargo``, ``file-ops``, ``network``, ``system``, ``editor`` or
        ``other:<program>``), or None to let the next plugin decide.

    firstresult.

    Example::

        @hookimpl
        def caro_classify_category(command):
            if any(c.program == "terraform" for c in command.simple_commands):
                return "terraform"
    """


@hookspec
def caro_classify_risk(command):
    """Find what makes a parsed command line risky.

    Called for every command Caro records, checks or suggests.  Every plugin
    contributes; the overall risk is the highest finding (Safe when none).

    :param command: a :class:`caro_core.cmdparse.ParsedCommand`.
    :returns: a list of :class:`caro_core.risk.Finding` (level, rule id and a
        human-readable reason), empty when this plugin sees nothing risky.

    Collect-all.

    Example::

        @hookimpl
        def caro_classify_risk(command):
            return [Finding(RiskLevel.HIGH, "tf.destroy", "terraform destroy deletes infrastructure")
                    for c in command.simple_commands if c.argv[:2] == ["terraform", "destroy"]]
    """


@hookspec
def caro_classify_secrets(text):
    """Locate secrets in a command line so they can be redacted before storage.

    Called on every observed command before it is written anywhere but the
    spool, and on every command shown by ``caro check``.

    :param text: the raw command line.
    :returns: a list of :class:`caro_core.redact.SecretSpan` (start, end, kind)
        marking the secret characters only; the rest of the command is kept.

    Collect-all: spans from all plugins are merged.

    Example::

        @hookimpl
        def caro_classify_secrets(text):
            return [SecretSpan(m.start(), m.end(), "acme-token") for m in ACME_TOKEN.finditer(text)]
    """
