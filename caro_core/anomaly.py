"""Anomaly detection: a node's recent activity compared with its own history.

Detectors are plugins answering ``caro_anomaly_detect(node, window)``;
:func:`detect` asks them all about one :class:`Window` (the period examined
and the baseline before it) and returns their :class:`Anomaly` findings, most
severe first.  The personal dashboard, ``caro anomalies`` and the mesh's
Anomalies query all call :func:`detect`.

Detectors read Level-0 events on this node only; what they return is Level 1:
a description names command shapes (through :func:`shape_label`), categories
(``other:<program>`` collapsed to ``other``), counts and hours of the day —
never a command line, path, host or argument.

The aggregates several detectors need (counts per command shape, the hourly
profile, the baseline's extent) are computed once per window
(:meth:`Window.memo`), in SQL over the ``events(timestamp)`` index, so the
cost grows with the events inside the baseline and the window, not with the
whole history; whole local days are kept in :data:`DAYS` while their event
count is unchanged, so the daemon reads a month of baseline once.

Severity scale (1-10), the same for every detector:

====== ======== ====================================================================
value  level    meaning
====== ======== ====================================================================
1-3    low      unusual but usually harmless (a new tool used a lot, more commands)
4-6    medium   worth a look (failures piling up, activity at idle hours, a risky
                shape rarely seen before)
7-8    high     likely a problem (critical commands never seen before, bursts of
                risky commands)
9-10   critical act now (critical commands repeated in a burst, at unusual scale)
====== ======== ====================================================================
"""

import collections
import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from .errors import CaroError

#: the anomaly types of the mesh protocol, one per built-in detector
KINDS = ("UnusualPattern", "HighFailureRate", "UnusualTiming", "RepeatedRisky",
         "BaselineDeviation")
#: severity → level name (lower bound of each band)
LEVELS = ((9, "critical"), (7, "high"), (4, "medium"), (1, "low"))
DAY_S = 86400
#: defaults of the ``[anomaly]`` keys every detector shares (declared by ``anomaly_baseline``)
BASELINE_DAYS = 30
MIN_BASELINE_EVENTS = 100
#: a baseline shorter than this says too little about the node to compare with
MIN_BASELINE_DAYS = 3
_RANGE = "timestamp >= ? AND timestamp < ?"


class AnomalyError(CaroError):
    """The period asked for cannot be examined."""

    exit_code = 2


@dataclass(frozen=True)
class Window:
    """What detectors examine: ``[since, until)`` against ``[baseline_since, since)``.

    All three are epoch seconds; :func:`make_window` puts ``baseline_since``
    whole local calendar days before ``since``.  ``until`` is never in the future: :func:`detect`
    clamps it to the current time.
    """

    since: float
    until: float
    baseline_since: float
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def days(self):
        """The examined period's length in days (fractional)."""
        return (self.until - self.since) / DAY_S

    def memo(self, key, compute):
        """``compute()``, called once per window and ``key``: detectors share the aggregates."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@dataclass
class Anomaly:
    """One finding of a detector.

    :param kind: the anomaly type (:data:`KINDS` for the built-in detectors).
    :param severity: 1 (informational) to 10 (act now); see the module's scale.
    :param description: one sentence naming no path, host or argument.
    :param count: how many events it is about.
    :param first_seen: epoch seconds of the first of those events, or None.
    :param last_seen: epoch seconds of the last, or None.
    """

    kind: str
    severity: int
    description: str
    count: int = 1
    first_seen: float | None = None
    last_seen: float | None = None

    def __post_init__(self):
        if not isinstance(self.severity, int) or not 1 <= self.severity <= 10:
            raise ValueError(f"anomaly severity must be an integer from 1 to 10, "
                             f"got {self.severity!r}")

    @property
    def level(self):
        """``low``, ``medium``, ``high`` or ``critical`` (see the severity scale)."""
        return next(name for bound, name in LEVELS if self.severity >= bound)

    def to_json(self):
        """The JSON of ``caro anomalies --json`` and of the dashboard's ``/api/``."""
        from .events import iso

        return {"kind": self.kind, "severity": self.severity, "level": self.level,
                "description": self.description, "count": self.count,
                "first_seen": None if self.first_seen is None else iso(self.first_seen),
                "last_seen": None if self.last_seen is None else iso(self.last_seen)}


def severity(value):
    """``value`` rounded and clamped into 1..10: detectors add up their reasons freely."""
    return max(1, min(10, int(round(value))))


def settings(node):
    """The ``[anomaly]`` section; the shared keys fall back to their defaults when the
    plugin declaring them (``anomaly_baseline``) is disabled."""
    section = dict(node.config.get("anomaly", {}))
    section.setdefault("baseline_days", BASELINE_DAYS)
    section.setdefault("min_baseline_events", MIN_BASELINE_EVENTS)
    return section


def make_window(node, since, until=None, baseline_days=None, now=None):
    """The :class:`Window` of ``[since, until)`` and the ``baseline_days`` before it.

    :param until: defaults to (and is clamped to) ``now``, the current time.
    :param baseline_days: default ``[anomaly] baseline_days``.
    :raises AnomalyError: when the period is empty or the baseline shorter than a day.
    """
    now = time.time() if now is None else now
    until = now if until is None else min(until, now)
    if since >= until:
        raise AnomalyError("nothing to examine: the period must start before it ends "
                           "(and before now)")
    days = settings(node)["baseline_days"] if baseline_days is None else baseline_days
    if days < 1:
        raise AnomalyError(f"the baseline must cover at least one day, not {days}")
    # calendar days in local time: a baseline ending at midnight starts at midnight
    return Window(since, until, (dt.datetime.fromtimestamp(since) - dt.timedelta(days=days))
                  .timestamp())


def run_detectors(node, window):
    """``(anomalies, failures)``: every detector's findings for ``window``, most severe
    first, and ``(plugin_name, message)`` for each detector that failed (also logged)."""
    from .lifecycle import call_each

    results, failures = call_each(node.pm.hook.caro_anomaly_detect, node=node, window=window)
    anomalies = []
    for found in results:
        if not isinstance(found, (list, tuple)) or not all(isinstance(a, Anomaly) for a in found):
            failures.append(("?", TypeError(f"an anomaly detector returned {type(found).__name__}, "
                                            "not a list of Anomaly")))
            continue
        anomalies += found
    anomalies.sort(key=lambda a: (-a.severity, a.kind, a.description))
    return anomalies, [(name, f"{type(e).__name__}: {e}") for name, e in failures]


def detect(node, since, until=None, baseline_days=None, now=None):
    """Every detector's anomalies in ``[since, until)``, most severe first; a failing
    detector is logged and skipped.  Arguments as :func:`make_window`."""
    return run_detectors(node, make_window(node, since, until, baseline_days, now))[0]


# -- shared aggregates -----------------------------------------------------------

@dataclass
class Counts:
    """Events of one command shape in a range: how many, failed, with an exit code, when."""

    events: int = 0
    failures: int = 0
    known: int = 0
    first: float | None = None
    last: float | None = None

    def add(self, other):
        """Fold ``other`` into these counts."""
        self.events += other.events
        self.failures += other.failures
        self.known += other.known
        if other.first is not None:
            self.first = other.first if self.first is None else min(self.first, other.first)
            self.last = other.last if self.last is None else max(self.last, other.last)


@dataclass
class Activity:
    """What happened in a range: :class:`Counts` per ``(category, pattern, risk)`` and
    events per local hour of day (24 counts)."""

    shapes: dict = field(default_factory=dict)
    hours: list = field(default_factory=lambda: [0] * 24)

    @property
    def events(self):
        return sum(self.hours)

    def add(self, other):
        """Fold ``other`` into this activity (``other`` is left unchanged)."""
        for key, counts in other.shapes.items():
            self.shapes.setdefault(key, Counts()).add(counts)
        self.hours = [mine + theirs for mine, theirs in zip(self.hours, other.hours)]


def read_activity(store, start, end):
    """The :class:`Activity` of ``[start, end)``: one grouped pass over the range, and the
    events per local clock hour from the roll-ups (:mod:`caro_core.rollup`)."""
    rows = store.query(
        "SELECT category, coalesce(pattern, ''), risk, count(*), sum(exit_code != 0), "
        f"count(exit_code), min(timestamp), max(timestamp) FROM events WHERE {_RANGE} "
        "GROUP BY category, pattern, risk", (start, end))
    found = Activity({(category, pattern, risk): Counts(events, failures or 0, known, first, last)
                      for category, pattern, risk, events, failures, known, first, last in rows})
    from . import rollup  # risk and cmdparse come with it: not at start-up (the config reads us)

    hours = list(local_hours(start, end))
    for (hour, _, _), sums in zip(hours, rollup.series(store, [(lo, hi) for _, lo, hi in hours])):
        found.hours[hour] += sums.events
    return found


def local_days(start, end):
    """``(low, high, whole)`` for every local calendar day overlapping ``[start, end)``, cut
    to the range; ``whole`` when the range covers the day from midnight to midnight."""
    day = dt.datetime.fromtimestamp(start).date()
    while True:
        midnight = dt.datetime.combine(day, dt.time()).timestamp()
        if midnight >= end:
            return
        day += dt.timedelta(days=1)
        following = dt.datetime.combine(day, dt.time()).timestamp()
        yield max(start, midnight), min(end, following), start <= midnight and following <= end


class DayCache:
    """Values computed over whole local days, reused while a day's event count is the same.

    Days before today rarely change (importing old shell history does, and
    changes their count), so the daemon, which answers the dashboard and mesh
    queries again and again, reads a month of baseline as one index count per
    day.  Keyed by database file, day and the name of the value; the least
    recently used go first.
    """

    def __init__(self, size=8192):
        self.size = size
        self.values = collections.OrderedDict()
        self.lock = threading.Lock()

    def per_day(self, store, start, end, name, compute):
        """``[(count, value)]`` for every local day overlapping ``[start, end)``, oldest
        first: ``value = compute(store, low, high)`` over the part of the day in the range,
        cached when that is the whole day (``count`` is then its event count, else None)."""
        found = []
        for low, high, whole in local_days(start, end):
            if not whole:
                found.append((None, compute(store, low, high)))
                continue
            from . import rollup

            count = rollup.total(store, low, high).events
            key = (str(store.path), low, name)
            with self.lock:
                cached = self.values.get(key)
                if cached:
                    self.values.move_to_end(key)
            if not cached or cached[0] != count:
                cached = (count, compute(store, low, high))
                with self.lock:
                    self.values[key] = cached
                    while len(self.values) > self.size:
                        self.values.popitem(last=False)
            found.append(cached)
        return found

    def activity(self, store, start, end):
        """``(activity, day_totals)``: the :class:`Activity` of ``[start, end)`` and the
        event count of each whole day in it, oldest first."""
        total = Activity()
        days = self.per_day(store, start, end, "activity", read_activity)
        for _, day in days:
            total.add(day)
        return total, [count for count, _ in days if count is not None]


#: the process's cache of whole days (every node's store, told apart by file)
DAYS = DayCache()


@dataclass(frozen=True)
class Baseline:
    """The history a window is compared with, as far as the node has any.

    :param start: ``window.baseline_since``, or when the node's history begins
        later, the local midnight before its first event (``window.since`` when
        there is none): a node installed a week ago has a one-week baseline
        whatever ``baseline_days`` says.
    :param days: ``since - start`` in days.
    :param events: events in ``[start, since)``.
    :param ready: enough days and events to compare with (``MIN_BASELINE_DAYS``,
        ``[anomaly] min_baseline_events``); detectors that compare stay quiet otherwise.
    """

    start: float
    days: float
    events: int
    ready: bool


def baseline(node, window):
    """The window's :class:`Baseline`."""
    return window.memo("history", lambda: _history(node, window))[0]


def activities(node, window):
    """``(recent, before)``: ``(Activity, day_totals)`` of the window and of its baseline
    (:data:`DAYS` serves the whole days)."""
    return window.memo("history", lambda: _history(node, window))[1:]


def _history(node, window):
    store = node.store
    older = store.query_one("SELECT 1 FROM events WHERE timestamp < ? LIMIT 1",
                            (window.baseline_since,))
    (first,) = store.query_one(f"SELECT min(timestamp) FROM events WHERE {_RANGE}",
                               (window.baseline_since, window.since))
    if older or first is None:
        start = window.baseline_since if older else window.since
    else:  # the node's history starts inside the baseline: from that day's midnight
        midnight = dt.datetime.combine(dt.date.fromtimestamp(first), dt.time()).timestamp()
        start = max(window.baseline_since, midnight)
    recent = DAYS.activity(store, window.since, window.until)
    before = DAYS.activity(store, start, window.since)
    days = (window.since - start) / DAY_S
    ready = days >= MIN_BASELINE_DAYS and before[0].events >= settings(node)["min_baseline_events"]
    return Baseline(start, days, before[0].events, ready), recent, before


def shapes(node, window):
    """``(recent, before)``: :class:`Counts` per ``(category, pattern, risk)`` in the window
    and in its baseline."""
    recent, before = activities(node, window)
    return recent[0].shapes, before[0].shapes


def local_hours(start, end):
    """``(hour_of_day, low, high)`` for every local clock hour overlapping ``[start, end)``,
    cut to the range; right across daylight-saving changes and half-hour zones."""
    from .aggregates import offset_segments

    for seg_start, seg_end, offset in offset_segments(start, end, "local"):
        hour = int((seg_start + offset) // 3600)
        low = seg_start
        while low < seg_end:
            high = min((hour + 1) * 3600 - offset, seg_end)
            yield hour % 24, low, high
            hour, low = hour + 1, high


def hourly_profile(node, window):
    """``(recent, per_day)``: the window's events per local hour of day (24 counts) and the
    baseline's average events per day in each hour of day (24 floats)."""
    base = baseline(node, window)
    recent, before = activities(node, window)
    return recent[0].hours, [count / base.days if base.days else 0.0 for count in before[0].hours]


def expected_by_hour(node, window):
    """24 floats: how many events the baseline predicts for each hour of day of the window
    (its per-day average in that hour times how much of the window that hour covers)."""
    def compute():
        _, per_day = hourly_profile(node, window)
        expected = [0.0] * 24
        for hour, low, high in local_hours(window.since, window.until):
            expected[hour] += per_day[hour] * (high - low) / 3600
        return expected
    return window.memo("expected", compute)


def daily_totals(node, window):
    """Events per whole local day of the baseline, oldest first."""
    return activities(node, window)[1][1]


# -- what a description may name -------------------------------------------------

def category_label(category):
    """A category as it may be shown: ``other:<program>`` (maybe a private script) is ``other``."""
    return "other" if category.startswith("other:") else category


def shape_label(node, pattern):
    """A command shape (``git push | grep``) as it may be shown.

    A program keeps its name when Caro recognises it (its category is not
    ``other:…``), keeping its subcommand word (``git push``), or when it is a
    well-known shell or subcommand tool (``sh``, ``make``), without the
    subcommand (a make target may name a project).  Any other program may be a
    private script whose name says too much: it becomes ``other``.
    """
    from .cmdparse import SHELLS, parse
    from .pattern import SUBCOMMAND_TOOLS

    parts = []
    for part in pattern.split(" | "):
        program = part.split(" ", 1)[0]
        category = node.pm.hook.caro_classify_category(command=parse(program)) or "other:"
        if not category.startswith("other:"):
            parts.append(part)
        elif program in SHELLS or program in SUBCOMMAND_TOOLS:
            parts.append(program)
        else:
            parts.append("other")
    return " | ".join(parts)


def shape_labels(node, window):
    """:func:`shape_label` of every pattern in the window and its baseline (computed once)."""
    def compute():
        recent, before = shapes(node, window)
        patterns = {pattern for _, pattern, _ in (*recent, *before) if pattern}
        return {pattern: shape_label(node, pattern) for pattern in patterns}
    return window.memo("labels", compute)


def plural(count, word):
    """``1 command``, ``3 commands``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def days_text(days):
    """``the last 30 days``, ``the last 4.5 days``: the baseline as a description says it."""
    return f"the last {days:.0f} days" if abs(days - round(days)) < 0.05 else \
        f"the last {days:.1f} days"
