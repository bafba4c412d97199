"""Redacting secrets from a command line before it is stored or shown.

Plugins locate secrets through ``caro_classify_secrets``; :func:`redact` merges
their spans, adds matches of the configured extra patterns and replaces each
secret with ``<redacted:KIND>``, keeping the rest of the command intact.
"""

import re
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class SecretSpan:
    """Characters ``text[start:end]`` are a secret of kind ``kind`` (``aws-key``…)."""

    start: int
    end: int
    kind: str


def redact(pm, text, extra_patterns=(), enabled=True):
    """Return ``(redacted_text, kinds)``; ``kinds`` lists each kind found once, in order.

    :param extra_patterns: regexes from ``[redact] patterns``; a match (or its
        first group, when it has one) is redacted as kind ``custom``.
    :param enabled: ``[redact] enabled``; False returns ``text`` unchanged.
    """
    if not enabled or not text:
        return text, []
    spans = [s for found in pm.hook.caro_classify_secrets(text=text) for s in found or ()]
    for pattern in extra_patterns:
        for match in _compile(pattern).finditer(text):
            group = 1 if match.re.groups else 0
            if match.end(group) > match.start(group):
                spans.append(SecretSpan(match.start(group), match.end(group), "custom"))
    merged = _merge(spans, len(text))
    out, kinds, pos = [], [], 0
    for span in merged:
        out.append(text[pos:span.start])
        out.append(f"<redacted:{span.kind}>")
        if span.kind not in kinds:
            kinds.append(span.kind)
        pos = span.end
    out.append(text[pos:])
    return "".join(out), kinds


def _compile(pattern):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ConfigError(f"[redact] patterns: {pattern!r} is not a valid regular expression "
                          f"({e}); fix or remove it") from None


def _merge(spans, length):
    """Sort spans, clip them to the text and join overlaps (the first kind wins)."""
    merged = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        start, end = max(0, span.start), min(length, span.end)
        if end <= start:
            continue
        if merged and start < merged[-1].end:
            last = merged[-1]
            merged[-1] = SecretSpan(last.start, max(last.end, end), last.kind)
        else:
            merged.append(SecretSpan(start, end, span.kind))
    return merged
