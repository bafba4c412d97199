"""Built-in secret patterns: where a command line carries credentials.

Secrets are text patterns, so regular expressions are the right tool here.
Each pattern marks only the secret characters (the value of ``API_TOKEN=…``,
the password in ``https://user:pass@host``), so the redacted command keeps
its shape.  Whether redaction runs and which extra patterns apply is the
``[redact]`` config section this plugin declares; :func:`caro_core.redact.redact`
applies it.
"""

import re

from caro_core import hookimpl
from caro_core.config import Setting
from caro_core.redact import SecretSpan

#: ``(kind, regex)``: the secret is group ``secret`` when the regex has one,
#: else the whole match.
PATTERNS = tuple((kind, re.compile(regex)) for kind, regex in (
    ("private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"),
    ("aws-access-key", r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
    ("aws-secret-key", r"(?i)aws_?secret_?(access_?)?key[\"']?\s*[=:]\s*[\"']?"
                       r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),
    ("github-token", r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("slack-token", r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
    ("stripe-key", r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("bearer-token", r"(?i)\bauthorization:\s*(bearer|token|basic)\s+(?P<secret>[^\s\"']+)"),
    ("url-password", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@\"']+:(?P<secret>[^\s@/\"']+)@"),
    ("assignment", r"(?i)\b[A-Za-z0-9_]*(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|_KEY)"
                   r"=(?P<secret>\"[^\"]+\"|'[^']+'|[^\s\"';&|]+)"),
    ("password-option", r"(?:^|\s)--password[= ](?P<secret>\"[^\"]+\"|'[^']+'|[^\s\"';&|]+)"),
    ("password-option", r"\b(?:mysql|mysqldump|mariadb|mysqladmin)\b[^|;&\n]*?\s-p"
                        r"(?P<secret>[^\s\"';&|]+)"),
))


@hookimpl
def caro_config_schema():
    """Declare the ``[redact]`` section."""
    return {"redact": {
        "enabled": Setting(bool, True, "replace secrets in recorded and shown commands"),
        "patterns": Setting(list, [], "extra regexes whose matches are redacted "
                                      "(the first group only, when there is one)", item=str),
    }}


@hookimpl
def caro_classify_secrets(text):
    """Spans of every built-in secret pattern in ``text``."""
    spans = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            group = "secret" if "secret" in pattern.groupindex else 0
            start, end = match.span(group)
            if end > start:
                spans.append(SecretSpan(start, end, kind))
    return spans
