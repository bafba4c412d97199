"""Ingest: turn the shell hooks' spool records into stored, classified, redacted events.

Called by the daemon continuously and by every command that reads history, so
history is complete whether or not the daemon runs.  The spool files are
deleted only after their events are committed, and secrets are redacted
before anything reaches the database: afterwards no secret is left on disk.
"""

import re

from . import spool
from .errors import ConfigError
from .events import Event, insert_events
from .cmdparse import parse
from .pattern import pattern_of
from .redact import redact
from .risk import assess


def _patterns(node, key):
    compiled = []
    for pattern in node.config["observe"][key]:
        try:
            compiled.append(re.compile(pattern))
        except re.error as e:
            raise ConfigError(f"{node.config_path}: [observe] {key}: invalid regular expression "
                              f"{pattern!r}: {e}") from None
    return compiled


def printable(text):
    """Text safe to store and print: bytes that were not UTF-8 (kept by the spool as lone
    surrogates) become visible ``\\xNN`` escapes instead of being dropped."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def classify(node, command, **fields):
    """Build an :class:`Event` from one command: category and risk from the command as typed
    (a redaction marker would parse as a redirection), then secrets redacted from the text and
    from the reasons, which may quote an argument."""
    command = printable(command)
    settings = node.config.get("redact", {"enabled": True, "patterns": []})

    def clean(text):
        return redact(node.pm, text, settings["patterns"], settings["enabled"])

    assessment = assess(node.pm, command)
    # root shells are flagged by the hook; sudo/doas/su inside the line by the (cached) parse
    fields["elevated"] = fields["elevated"] or any(c.elevated for c in parse(command).simple_commands)
    text, kinds = clean(command)
    return Event(command=text, category=assessment.category, risk=assessment.risk,
                 reasons=[clean(reason)[0] for reason in assessment.reasons], redacted=kinds,
                 pattern=pattern_of(text), **fields)


def ingest(node):
    """Move every pending spool record into the store; return the stored events."""
    if not spool.spool_dir(node.home).exists():
        return []
    history_filter = _patterns(node, "history_filter")
    cwd_filter = _patterns(node, "cwd_filter")
    claim = spool.drain(node.home)
    events = []
    for record in claim.records:
        if not record.command.strip() or any(p.search(record.command) for p in history_filter):
            continue
        if record.cwd and any(p.search(record.cwd) for p in cwd_filter):
            continue
        events.append(classify(
            node, record.command, timestamp=record.timestamp, exit_code=record.exit_code,
            duration_ms=record.duration_ms, cwd=printable(record.cwd), shell=record.shell,
            session=record.session, user=record.user, elevated=record.elevated,
            caro_generated=record.caro_generated))
    stored = insert_events(node.store, events)
    claim.commit()
    for event in stored:
        node.pm.hook.caro_observe_event(event=event, node=node)
    return stored
