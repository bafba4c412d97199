"""Parsing the times people type: ``--since 2h``, ``--since yesterday``, ``--until 2026-11-01``."""

import datetime as dt
import re

from .errors import CaroError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")


class TimeSpecError(CaroError):
    exit_code = 2


def parse_time(text, now=None):
    """Epoch seconds for a relative (``90m``, ``2d``, ``1w``), named (``today``,
    ``yesterday``, ``now``) or ISO-8601 (``2026-11-01``, ``2026-11-01T08:00``) time."""
    now = now or dt.datetime.now().astimezone()
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        return now.timestamp() - int(match.group(1)) * _UNITS[match.group(2)]
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": now, "today": midnight, "yesterday": midnight - dt.timedelta(days=1)}
    if value in named:
        return named[value].timestamp()
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeSpecError(f"cannot read time {text!r}: use e.g. 90m, 2h, 3d, 1w, today, "
                            "yesterday or 2026-11-01T08:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return parsed.timestamp()


PERIODS = {"day": 1, "week": 7, "month": 30}


def period_start(period, now=None):
    """Start of the last ``day``/``week``/``month`` (local midnight, that many days back)."""
    now = now or dt.datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - dt.timedelta(days=PERIODS[period] - 1)).timestamp()
