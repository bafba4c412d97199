"""A parsed request: the parameters it gives and the concepts it names.

A :class:`Request` (built by :func:`.parse.parse`) holds *items* (parameters:
quoted text, URLs, hosts, ports, sizes, times, schedules, numbers, versions,
paths, globs, file types, names announced by a keyword such as ``branch main``
or ``the web container``), *words* (the rest, folded into concepts by
:mod:`.words`) and *free* words, unknown words an intent may take as names
(``install htop``).  Builders read parameters through the accessors
(:meth:`Request.size`, :meth:`Request.dir`…), which remember what was used:
the engine scores an intent by how much of the request it explains.
"""

import re
import shlex
from collections import namedtuple

from .words import GRAMMAR, STOPWORDS, concept


class Size(namedtuple("Size", "op amount unit text")):
    """A size bound: ``op`` ``+`` (larger) or ``-`` (smaller), ``amount`` in find's ``unit``
    (c, k, M, G), and the ``text`` as the person wrote it."""

    __slots__ = ()

    @property
    def find(self):
        """The ``find -size`` argument, e.g. ``+100M``."""
        return f"{self.op}{self.amount}{self.unit}"


class Age(namedtuple("Age", "kind minutes date", defaults=(0, ""))):
    """A time filter: ``within`` the last N minutes, ``older`` than N, ``today``, ``yesterday``,
    or ``since``/``before`` an ISO date."""

    __slots__ = ()

    @property
    def days(self):
        """Whole days (at least 1)."""
        return max(1, round(self.minutes / 1440))

    def find(self, gnu=True):
        """The ``find`` tests for this filter."""
        if self.kind == "today":
            return "-daystart -mtime 0" if gnu else '-newermt "$(date +%Y-%m-%d)"'
        if self.kind == "yesterday":
            return ("-daystart -mtime 1" if gnu else
                    '-newermt "$(date -v-1d +%Y-%m-%d)" ! -newermt "$(date +%Y-%m-%d)"')
        if self.kind in ("since", "before"):
            return f"-newermt {self.date}" if self.kind == "since" else f"! -newermt {self.date}"
        sign = "-" if self.kind == "within" else "+"
        if self.minutes % 1440 and self.minutes < 7 * 1440:
            return f"-mmin {sign}{self.minutes}"
        return f"-mtime {sign}{self.days}"

    @property
    def since(self):
        """A ``--since`` value git and journalctl both read: ``2 hours ago``, ``yesterday``."""
        if self.kind in ("today", "yesterday"):
            return self.kind
        if self.kind in ("since", "before"):
            return self.date
        for unit, size in (("week", 10080), ("day", 1440), ("hour", 60)):
            if self.minutes >= size and self.minutes % size == 0:
                count = self.minutes // size
                return f"{count} {unit}{'s' if count > 1 else ''} ago"
        return f"{self.minutes} minutes ago"


class Schedule(namedtuple("Schedule", "minute hour day month weekday special",
                          defaults=("0", "*", "*", "*", "*", ""))):
    """When a cron job runs: the crontab fields, or a ``special`` such as ``@reboot``."""

    __slots__ = ()

    @property
    def cron(self):
        """The crontab time fields, e.g. ``0 3 * * *`` or ``@reboot``."""
        fields = (self.minute, self.hour, self.day, self.month, self.weekday)
        return self.special or " ".join(fields)


#: A file or directory named in the request.  ``kind``: ``file``, ``dir`` (named as a
#: directory), ``in`` (the place to work: ``in /var/log``) or ``any`` (could be either).
Path = namedtuple("Path", "text kind")

#: One parameter found in the request: its kind, value, position and naming keyword.
Item = namedtuple("Item", "kind value pos key", defaults=("",))

#: One word of the request that is not a parameter, with the concept it means.
Word = namedtuple("Word", "text concept pos")


def q(text):
    """``text`` quoted for the shell when it needs it (``~/`` prefixes stay expandable)."""
    text = str(text)
    if text.startswith("~/") and shlex.quote(text[2:]) == text[2:]:
        return text
    if text == "~":
        return text
    return shlex.quote(text)


class Request:
    """A parsed request; see the module docstring."""

    def __init__(self, text, items, words, free, tokens):
        self.text = text
        self.tokens = tokens
        self.items = items
        self.words = words
        self.free_words = free
        self.concepts = frozenset(w.concept for w in words) | {f"#{i.kind}" for i in items}
        self.used = set()
        self.words_taken = set()

    def begin(self):
        """Forget what a previous builder used."""
        self.used = set()
        self.words_taken = set()

    def has(self, *concepts):
        """True when the request names any of ``concepts``."""
        return any(c in self.concepts for c in concepts)

    def _take(self, kind, key=None, index=0):
        found = [i for i, item in enumerate(self.items)
                 if item.kind == kind and (key is None or item.key == key)]
        if index >= len(found):
            return None
        self.used.add(found[index])
        return self.items[found[index]].value

    def _take_all(self, kind):
        found = [i for i, item in enumerate(self.items) if item.kind == kind]
        self.used.update(found)
        return [self.items[i].value for i in found]

    def count(self, kind):
        """How many parameters of ``kind`` the request gives (does not use them)."""
        return sum(1 for item in self.items if item.kind == kind)

    def size(self):
        """The :class:`Size` bound, or None."""
        return self._take("size")

    def age(self):
        """The :class:`Age` filter, or None."""
        return self._take("age")

    def schedule(self):
        """The :class:`Schedule`, or None."""
        return self._take("schedule")

    def port(self, index=0):
        """A port number (string), or None."""
        return self._take("port", index=index)

    def ports(self):
        """Every port named, in order."""
        return self._take_all("port")

    def url(self):
        """The URL, or None."""
        return self._take("url")

    def host(self, default=None):
        """A host name or IP address."""
        return self._take("host") or default

    def userhost(self):
        """``(user, host, path)`` from ``user@host:path``, or None."""
        return self._take("userhost")

    def quoted(self, index=0):
        """The ``index``-th quoted text, or None."""
        return self._take("quoted", index=index)

    def number(self, default=None, index=0):
        """The ``index``-th plain number (string), or ``default``."""
        value = self._take("number", index=index)
        return default if value is None else value

    def sha(self):
        """A commit hash such as ``a1b2c3d``, or None."""
        return self._take("sha")

    def version(self):
        """A version such as ``v1.2.0``, or None."""
        return self._take("version")

    def ext(self):
        """The extensions of every file type named (``("jpg", "png")``), or None."""
        return tuple(e for exts in self._take_all("ext") for e in exts) or None

    def glob(self):
        """A glob pattern such as ``*.log``, or None."""
        return self._take("glob")

    def name(self, key, default=None, announced=True):
        """The name announced by keyword ``key`` (``branch main``), else (unless
        ``announced`` is false) one given by ``named``/``called``, else ``default``."""
        value = self._take("name", key)
        if value is None and announced:
            value = self._take("name", "")
        return default if value is None else value

    def free(self, limit=1):
        """Up to ``limit`` unknown words, taken as names (``install htop``)."""
        left = [w for w in self.free_words if w.pos not in self.words_taken]
        taken = left[:limit]
        self.words_taken.update(w.pos for w in taken)
        return [w.text for w in taken]

    def asks_which(self, noun):
        """True for a question about the current ``noun``: ``what branch am I on``."""
        return re.search(rf"\b(?:what|which)\s+(?:\w+\s+)?{noun}", self.text.lower()) is not None

    def words_after(self, *lows):
        """Every word after the first of ``lows`` up to a preposition, filler and grammar
        skipped (``install curl and wget`` → ``curl``, ``wget``); taken as names."""
        start = next((i for i, (low, _) in enumerate(self.tokens) if low in lows), None)
        found = []
        for low, (text, pos) in self.tokens[start + 1:] if start is not None else ():
            if low in ("with", "using", "via", "on", "from", "to", "for", "in"):
                break
            if low in STOPWORDS or concept(low) in GRAMMAR:
                continue
            if any(w.pos == pos for w in self.words + self.free_words):
                self.words_taken.add(pos)
                found.append(text)
        return found

    def word_after(self, *lows):
        """The first word after any of ``lows`` that is neither filler nor grammar
        (``search for warning`` → ``warning``, ``kill all node processes`` → ``node``), taken
        as a name even when it is a concept word; None when there is none."""
        anchors = [i for i, (low, _) in enumerate(self.tokens) if low in lows]
        for start in anchors:
            for low, (text, pos) in self.tokens[start + 1:]:
                if low in STOPWORDS or concept(low) in GRAMMAR:
                    continue
                if any(w.pos == pos for w in self.words + self.free_words):
                    self.words_taken.add(pos)
                    return text
                break
        return None

    def paths(self, kinds=("file", "any", "dir")):
        """Every path of ``kinds``, in order (places given with ``in`` are not included)."""
        found = [i for i, item in enumerate(self.items)
                 if item.kind == "path" and item.value.kind in kinds]
        self.used.update(found)
        return [self.items[i].value.text for i in found]

    def _path(self, order):
        for kind in order:
            for i, item in enumerate(self.items):
                if item.kind == "path" and item.value.kind == kind and i not in self.used:
                    self.used.add(i)
                    return item.value.text
        return None

    def file(self, default=None):
        """The next file named (a path that is not a directory)."""
        return self._path(("file", "any")) or default

    def dir(self, default="."):
        """The next directory named, else ``default``."""
        return self._path(("in", "dir", "any")) or default

    def place(self, default=None):
        """The directory given as the place to work (``in /var/log``), else ``default``."""
        return self._path(("in",)) or default

    def path(self, default=None):
        """The next path of any kind."""
        return self._path(("file", "any", "dir", "in")) or default
