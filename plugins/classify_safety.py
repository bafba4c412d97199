"""Built-in safety rules: risk findings over the parsed command line.

Every rule reads :class:`caro_core.cmdparse.SimpleCommand` words — the program
that really runs, its options and operands, its redirections — never the raw
text, so ``echo "rm -rf /"`` or ``git commit -m "DROP TABLE"`` stay Safe while
``sudo /bin/rm -r -f -- /`` or ``sh -c 'rm -rf ~'`` do not.  The rules live in
the :mod:`caro_plugins.safety` package; their ids are stable and listed in
``docs/safety.md``.
"""

from caro_core import hookimpl


@hookimpl
def caro_classify_risk(command):
    """Apply every safety rule to the line and to each command it runs."""
    from caro_plugins import safety  # the rule tables load on first use, not at `caro --help`

    return safety.findings(command)
