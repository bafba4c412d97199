"""Read a request: find its parameters, then fold the remaining words into concepts.

:func:`parse` turns ``find files larger than 100MB modified in the last 2 hours in /var/log``
into a :class:`~.request.Request`.  Parameters are found in a fixed order
(possessives, quotes, URLs, schedules, times, sizes, ports, addresses,
versions), each found span is blanked so later patterns skip it, and what is
left is split into tokens: paths, globs, file types, numbers, names announced
by a keyword, and words.  The patterns are compiled on first use, and only
when a cheap pre-check says they can match, so importing this module costs
nothing.
"""

import functools
import re

from .request import Age, Item, Path, Request, Schedule, Size, Word
from .words import (DIR_NAMES, FILE_SUFFIXES, FILE_TYPES, GRAMMAR, HOST_SUFFIXES, NUMBERS,
                    ORDINALS, PHRASES, SOFT, STOPWORDS, TOOLS, concept, synonyms)

_UNIT = (r"(?P<n>\d+|an?)\s*(?P<u>minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|wks?|w|"
         r"months?|mo|years?|yrs?|y)\b")
_SIZE_UNITS = {"b": ("c", 1), "byte": ("c", 1), "bytes": ("c", 1), "k": ("k", 1), "kb": ("k", 1),
               "kib": ("k", 1), "kilobyte": ("k", 1), "kilobytes": ("k", 1), "m": ("M", 1),
               "mb": ("M", 1), "mib": ("M", 1), "meg": ("M", 1), "megs": ("M", 1),
               "megabyte": ("M", 1), "megabytes": ("M", 1), "g": ("G", 1), "gb": ("G", 1),
               "gib": ("G", 1), "gig": ("G", 1), "gigs": ("G", 1), "gigabyte": ("G", 1),
               "gigabytes": ("G", 1), "t": ("G", 1024), "tb": ("G", 1024)}
_SMALLER = ("smaller", "less", "under", "below", "lighter", "at most", "<")
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080, "mo": 43200, "y": 525600}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_NAME_KEYS = frozenset("branch container pod deployment image namespace service package group "
                       "remote tag volume context user secret dir file author commit node network "
                       "job".split())
_SKIP_BEFORE_NAME = frozenset("named called name the a an : = my our".split())
_PATHLIKE_KEYS = frozenset("branch image tag dir file remote commit package ".split() + [""])
_THING_KEYS = frozenset("container pod deployment branch service image".split())
_AREA_NOUNS = frozenset("""history stat size ip memory cpu resource error shell volume network usage
describe run port file dir process tree commit stage modify all last containing
""".split())
_PLAIN_NAME_KEYS = frozenset("user group dir namespace context package".split())
_PLAIN_BEFORE_KEYS = frozenset("dir namespace context user".split())
_TOOL_KEYS = frozenset({"service", "group"})
_SERVICE_TOOLS = frozenset("docker cron ssh systemd".split())
_DIR_PREPOSITIONS = frozenset("in under inside within into from".split())
_WORD_PREPOSITIONS = frozenset("in under inside within into".split())
_PLACES = {"home": "~", "root": "/", "parent": "..", "desktop": "~/Desktop",
           "downloads": "~/Downloads", "documents": "~/Documents", "tmp": "/tmp", "temp": "/tmp"}
_EVERYWHERE = frozenset("anywhere everywhere system-wide".split())
_KNOWN_FILES = frozenset("""dockerfile makefile readme license vagrantfile jenkinsfile procfile
gemfile rakefile containerfile justfile""".split())
_DOTFILES = frozenset(".env .bashrc .zshrc .profile .gitignore .vimrc .bash_profile .npmrc "
                      ".ssh .gitconfig .dockerignore .editorconfig .git .github .venv .cache "
                      ".config .local .vscode .idea .kube .docker .npm".split())
_CODE_NOUNS = frozenset("file script source code program document module image photo picture "
                        "video".split())


#: The request grammar, by name; each is compiled on first use (:func:`_rx`).
_PATTERNS = {
    "quoted": r"""(?:(?<=^)|(?<=[\s(=:,]))(?:"([^"]*)"|'([^']*)'|`([^`]*)`)(?=$|[\s),.;:?!])""",
    "url": r"\b(?:(?:https?|ftp|ssh|git)://\S+|[\w.-]+@[\w.-]+:[\w./~-]+\.git\b)",
    "older": (r"\b(?:older\s+than|more\s+than|over|at\s+least|not\s+(?:been\s+)?"
              r"(?:modified|changed|touched|accessed|used|edited|updated|opened)\s+"
              r"(?:in|for|since|within)(?:\s+the)?(?:\s+(?:last|past))?)\s+" + _UNIT
              + r"(?:\s+(?:old|ago))?"),
    "ago": r"\b(?:since\s+)?" + _UNIT + r"\s+ago\b",
    "within": (r"\b(?:(?:in|within|during|over|for|from|since)\s+)?(?:the\s+)?"
               r"(?:last|past|previous|recent)\s+(?:(?P<n>\d+)\s*)?(?P<u>minutes?|mins?|m|"
               r"hours?|hrs?|h|days?|d|weeks?|w|months?|years?)\b"),
    "named_day": (r"\b(?:(?:since|from)\s+)?(today|yesterday|this\s+(?:morning|week|month))"
                  r"(?![\w/.-])"),
    "date": r"\b(since|after|before|until)\s+(\d{4}-\d{2}-\d{2})\b",
    "every": (r"(?<![\w/.-])every\s+(?:(\d+)\s*)?(minutes?|mins?|hours?|hrs?|days?|nights?|"
              r"weeks?|months?|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|weekdays?|"
              r"weekends?)\b"),
    "period": (r"(?<![\w/.-])(hourly|daily|nightly|weekly|monthly|on\s+weekdays|on\s+weekends|"
               r"(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)days)(?![\w/.-])"),
    "at_time": (r"\bat\s+(?:(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?!\w)|"
                r"(noon|midnight))"),
    "at_boot": r"\b(?:at|on|after)\s+(?:boot|reboot|startup|start-up|restart)\b",
    "size": (r"(?:(?P<cmp>larger|bigger|greater|more|over|above|exceeding|heavier|at\s+least|"
             r">=?|smaller|less|under|below|lighter|at\s+most|<=?)\s*(?:than|then)?\s*)?"
             r"(?<![\w.])(?P<n>\d+(?:\.\d+)?)\s*(?P<u>bytes?|b|kb|kib|k|kilobytes?|mb|mib|m|"
             r"megs?|megabytes?|gb|gib|g|gigs?|gigabytes?|tb|t)\b"),
    "portmap": r"(?<![\w.:])(\d{1,5}):(\d{1,5})(?![\w.:])",
    "port": (r"\bports?\s*(?:number\s*)?[:#]?\s*(\d{1,5})\b|(?<![\w.])(\d{1,5})\s*"
             r"(?:/(?:tcp|udp))?\s+ports?\b|(?<![\d:]):(\d{2,5})\b"),
    "ip": r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b",
    "userhost": r"\b([a-z_][\w.-]*)@([\w-]+(?:\.[\w-]+)*)(?::(\S*))?",
    "version": r"(?<![\w./:@-])v?\d+(?:\.\d+)+(?![\w/])",
    "possessive": r"\b([a-z_][\w.-]*)'s\b",
    "token": r"[\w~./*?@:+=%\-\[\]{}^$,]+",
}
_IGNORE_CASE = frozenset({"size", "possessive"})
#: Words without which the schedule and time patterns cannot match (a cheap pre-check).
_SCHEDULE_HINTS = ("every", "hourly", "daily", "nightly", "weekly", "monthly", "days", "boot",
                   "startup", "start-up", "restart")
_AGE_HINTS = ("than", "ago", "last", "past", "previous", "recent", "not ", "over", "least")


@functools.cache
def _rx(name):
    """The pattern ``name`` of the request grammar, compiled."""
    return re.compile(_PATTERNS[name], re.I if name in _IGNORE_CASE else 0)


def parse(text, vocabulary=frozenset()):
    """Parse ``text`` into a :class:`Request`; ``vocabulary`` holds the concepts intents know."""
    return _Parser(text, vocabulary).request()


class _Parser:
    """One pass over a request; consumed spans are blanked so later patterns skip them."""

    def __init__(self, text, vocabulary):
        self.text = text
        self.work = text
        self.vocabulary = vocabulary
        self.items = []

    def add(self, kind, value, match, group=0, key=""):
        start, end = match.span(group)
        self.items.append(Item(kind, value, start, key))
        self.work = self.work[:start] + " " * (end - start) + self.work[end:]

    def request(self):
        if "'s" in self.work:
            for m in _rx("possessive").finditer(self.work):
                if m.group(1).lower() not in synonyms() and m.group(1).lower() not in STOPWORDS:
                    self.add("name", m.group(1), m, 1, key="user")
        self.work = _normalise(self.work)
        if any(mark in self.work for mark in "\"'`"):
            for m in _rx("quoted").finditer(self.work):
                self.add("quoted", next(g for g in m.groups() if g is not None), m)
        if "://" in self.work or ".git" in self.work:
            for m in _rx("url").finditer(self.work):
                self.add("url", m.group(0).rstrip(".,;)"), m)
        self.work = _spell_numbers(self.work)
        self._schedule()
        self._ages()
        if "@" in self.work:
            for m in _rx("userhost").finditer(self.work):
                self.add("userhost", (m.group(1), m.group(2), m.group(3)), m)
        if any(ch.isdigit() for ch in self.work):
            self._numbers()
        words, free, tokens = self._tokens()
        self.items.sort(key=lambda item: item.pos)
        return Request(self.text, self.items, words, free, tokens)

    def _numbers(self):
        for m in _rx("size").finditer(self.work):
            size = _size(m)
            if size:
                self.add("size", size, m)
        for m in _rx("portmap").finditer(self.work):
            self.add("port", m.group(1), m, 1)
            self.add("port", m.group(2), m, 2)
        for m in _rx("port").finditer(self.work):
            group = next(i for i in (1, 2, 3) if m.group(i))
            self.add("port", m.group(group), m)
        for m in _rx("ip").finditer(self.work):
            self.add("host", m.group(0), m)
        for m in _rx("version").finditer(self.work):
            self.add("version", m.group(0), m)

    def _schedule(self):
        low = self.work.lower()
        scheduled = "cron" in low or "schedul" in low
        if not scheduled and not any(hint in low for hint in _SCHEDULE_HINTS):
            return
        fields = {}
        spans = []
        for name in ("every", "period", "at_boot"):
            for m in _rx(name).finditer(self.work.lower()):
                if name == "every":
                    fields.update(_every(m.group(1), m.group(2)))
                elif name == "period":
                    fields.update(_every(None, m.group(1).replace("on ", "")))
                else:
                    fields["special"] = "@reboot"
                spans.append(m)
        if spans or scheduled:
            for m in _rx("at_time").finditer(self.work.lower()):
                hour = _hour(m)
                if hour is not None:
                    fields["hour"], fields["minute"] = hour
                    spans.append(m)
        if not spans:
            return
        if fields.get("hour", "*") != "*" and fields.get("minute", "0").startswith("*"):
            fields["minute"] = "0"
        for m in spans:
            start, end = m.span()
            self.work = self.work[:start] + " " * (end - start) + self.work[end:]
        self.items.append(Item("schedule", Schedule(**fields), min(m.start() for m in spans)))

    def _ages(self):
        low = self.work.lower()
        if any(hint in low for hint in _AGE_HINTS):
            for name in ("older", "ago", "within"):
                for m in _rx(name).finditer(self.work.lower()):
                    minutes = _minutes(m.group("n"), m.group("u"))
                    self.add("age", Age("older" if name == "older" else "within", minutes), m)
        if "today" in low or "yesterday" in low or "this " in low:
            for m in _rx("named_day").finditer(self.work.lower()):
                day = m.group(1).split()[-1]
                age = {"week": Age("within", 10080), "month": Age("within", 43200),
                       "morning": Age("today")}.get(day, Age(day))
                self.add("age", age, m)
        if any(ch.isdigit() for ch in low):
            for m in _rx("date").finditer(low):
                kind = "since" if m.group(1) in ("since", "after") else "before"
                self.add("age", Age(kind, date=m.group(2)), m)

    def _tokens(self):
        tokens = []
        for m in _rx("token").finditer(self.work):
            raw = m.group(0)
            text = raw if raw in (".", "..") else raw.rstrip(".,:;!?")
            if text:
                tokens.append((text, m.start()))
        kinds = [self._classify(text) for text, _ in tokens]
        lows = [text.lower() for text, _ in tokens]
        taken = set()
        self._names(tokens, kinds, lows, taken)
        words, free = [], []
        for i, (text, pos) in enumerate(tokens):
            if i in taken:
                continue
            kind, value = kinds[i]
            low = lows[i]
            before = lows[i - 1] if i else ""
            after = lows[i + 1] if i + 1 < len(lows) else ""
            if kind == "word" and low in _EVERYWHERE:
                self.items.append(Item("path", Path("/", "in"), pos))
            elif kind == "word" and low in _PLACES and (concept(after) == "dir"
                                                        or before in _DIR_PREPOSITIONS):
                where = "in" if before in _DIR_PREPOSITIONS else "dir"
                self.items.append(Item("path", Path(_PLACES[low], where), pos))
            elif kind == "word" and _file_type(low, after, lows[i + 2: i + 4]):
                self.items.append(Item("ext", _file_type(low, after, lows[i + 2: i + 4]), pos))
            elif kind == "word":
                self._word(text, low, pos, before, words, free)
            elif kind == "path":
                path = value
                if path.kind in ("any", "dir") and before in _DIR_PREPOSITIONS:
                    path = Path(path.text, "in")
                elif path.kind == "any" and "dir" in (concept(after), concept(before)):
                    path = Path(path.text, "dir")
                self.items.append(Item("path", path, pos))
            elif kind == "ext" and concept(after) == "dir":
                self.items.append(Item("path", Path(text, "dir"), pos))
            elif kind != "flag":
                self.items.append(Item(kind, value, pos))
        return words, free, [(low, tok) for low, tok in zip(lows, tokens)]

    def _word(self, text, low, pos, before, words, free):
        if low in STOPWORDS:
            return
        meaning = concept(low)
        if before in _WORD_PREPOSITIONS and low in DIR_NAMES:
            self.items.append(Item("path", Path(text, "in"), pos))
        elif meaning in synonyms() or meaning in self.vocabulary:
            words.append(Word(text, meaning, pos))
        elif before in _WORD_PREPOSITIONS and re.fullmatch(r"[\w.-]+", text):
            self.items.append(Item("path", Path(text, "in"), pos))
        else:
            free.append(Word(text, meaning, pos))

    def _classify(self, text):
        low = text.lower()
        if low.startswith("-") and low not in synonyms():
            return "flag", text
        if low.isdigit():
            return "number", text
        if re.fullmatch(r"[0-9a-f]{7,40}", low) and not low.isalpha():
            return "sha", low
        if low in NUMBERS:
            return "number", NUMBERS[low]
        if "*" in text or "?" in text:
            ext = re.fullmatch(r"\*\.(\w+)", text)
            return ("ext", (ext.group(1),)) if ext else ("glob", text)
        if re.fullmatch(r"\.[a-z0-9]{1,8}", low) and low not in _DOTFILES:
            return "ext", (low[1:],)
        if text in ("/", "~", ".", "..") or text.endswith("/"):
            return "path", Path(text, "dir")
        if text.startswith(("/", "~/", "./", "../")) or ("/" in text and ":" not in text):
            last = low.rsplit("/", 1)[-1]
            kind = "file" if "." in last and last.rsplit(".", 1)[-1] in FILE_SUFFIXES else "any"
            return "path", Path(text, kind)
        if low == "localhost":
            return "host", text
        suffix = re.fullmatch(r"[\w.-]*\w\.([a-z0-9]{1,8})", low)
        if low in _KNOWN_FILES or re.fullmatch(r"\.[\w-]+", low):
            return "path", Path(text, "file")
        if suffix or low in _DOTFILES:
            if suffix and suffix.group(1) in HOST_SUFFIXES and suffix.group(1) not in FILE_SUFFIXES:
                return "host", text
            return "path", Path(text, "file")
        return "word", text

    def _names(self, tokens, kinds, lows, taken):
        """Names announced by a keyword: ``branch main``, ``the web container``, ``named x``."""
        table = synonyms()

        def nameable(i, key, tools=(), plain=False, after=False, explicit=False):
            if i in taken or i < 0 or i >= len(tokens):
                return False
            if lows[i] in _PLACES and key != "user" or lows[i] in _EVERYWHERE:
                return False
            kind = kinds[i][0]
            if kind == "version" or (kind == "path" and kinds[i][1].kind != "dir"):
                return key in _PATHLIKE_KEYS
            if kind != "word" or lows[i] in STOPWORDS:
                return False
            if explicit:
                return True
            if _file_type(lows[i], lows[i + 1] if i + 1 < len(lows) else "", lows[i + 2:i + 4]):
                return False
            meaning = concept(lows[i])
            if plain and key == "dir" and lows[i] in DIR_NAMES:
                return True
            if meaning in _NAME_KEYS:
                return False
            if plain and key == "dir":
                return meaning not in table
            if after and key in _THING_KEYS and meaning not in GRAMMAR | SOFT | _AREA_NOUNS:
                return True
            if not after and meaning in self.vocabulary and not plain and meaning not in tools:
                return False
            package = key == "package" and meaning not in GRAMMAR
            return (meaning not in table or (after and (lows[i] not in table or package))
                    or (tools and meaning in tools)
                    or (plain and (lows[i] not in table
                                   or meaning not in GRAMMAR | _AREA_NOUNS | TOOLS)))

        for i, low in enumerate(lows):
            if kinds[i][0] != "word" or i in taken:
                continue
            if low in ("named", "called", "as"):
                if low == "as" and (i + 1 >= len(tokens) or kinds[i + 1][0] != "word"):
                    continue
                if nameable(i + 1, "", TOOLS, after=True, explicit=low != "as"):
                    self._name(tokens, kinds, i + 1, "user" if low == "as" else "", taken)
                continue
            key = "user" if concept(low) == "owner" else concept(low)
            if key not in _NAME_KEYS or low in STOPWORDS or low == "who":
                continue
            j = i + 1
            while j < len(tokens) and (lows[j] in _SKIP_BEFORE_NAME
                                       or lows[j] == "by" and key in ("user", "author")):
                j += 1
            explicit = any(low in ("named", "called") for low in lows[i + 1:j])
            if nameable(j, key, TOOLS, key in _PLAIN_NAME_KEYS, after=True, explicit=explicit):
                self._name(tokens, kinds, j, key, taken)
            elif key != "file" and nameable(i - 1, key, _SERVICE_TOOLS if key in _TOOL_KEYS else (),
                                            key in _PLAIN_BEFORE_KEYS):
                self._name(tokens, kinds, i - 1, key, taken)

    def _name(self, tokens, kinds, i, key, taken):
        text, pos = tokens[i]
        taken.add(i)
        if key in ("dir", "file"):
            self.items.append(Item("path", Path(text, key), pos))
        else:
            self.items.append(Item("name", text, pos, key))


def _normalise(text):
    """Contractions and phrases folded, keeping every position: ``today's`` → ``today``."""
    text = re.sub(r"(?<=\w)n't\b", "nt ", re.sub(r"(?<=\w)'s\b", "  ", text))
    for phrase, word in PHRASES:
        text = re.sub(rf"\b{phrase}\b", word.ljust(len(phrase)), text, flags=re.I)
    return text


def _file_type(low, after, further):
    """The extensions ``low`` names when it is a file type (``python files``, ``photos``,
    ``jpg and png images``); ``further`` are the two words after ``after``."""
    base = low[:-1] if low.endswith("s") and low[:-1] in FILE_TYPES else low
    if base not in FILE_TYPES or concept(after) == "dir":
        return None
    if (concept(after) == "file" or after.rstrip("s") in _CODE_NOUNS
            or base in ("photo", "picture", "video", "audio")
            or after in ("and", "or") and further and _file_type(further[0], *further[1:2], ())):
        return FILE_TYPES[base]
    return None


def _spell_numbers(text):
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: m.group(1).ljust(len(m.group(0))), text)
    text = re.sub(r"\b(" + "|".join(ORDINALS) + r")(?=\s+(?:column|field|col|line|row)s?\b)",
                  lambda m: ORDINALS[m.group(1).lower()].ljust(len(m.group(1))), text, flags=re.I)
    return re.sub(r"\b(" + "|".join(NUMBERS) + r")\b",
                  lambda m: NUMBERS[m.group(1).lower()].ljust(len(m.group(1))), text, flags=re.I)


def _minutes(number, unit):
    count = 1 if number in (None, "a", "an") else int(number)
    unit = unit.lower()
    if unit.startswith("mo"):
        key = "mo"
    else:
        key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
    return count * _MINUTES[key]


def _size(m):
    unit = m.group("u").lower()
    if not m.group("cmp") and unit in ("b", "k", "m", "g", "t") and m.group("u").islower():
        return None
    find_unit, factor = _SIZE_UNITS[unit]
    amount = float(m.group("n")) * factor
    if amount != int(amount):
        amount, find_unit = amount * 1024, {"G": "M", "M": "k", "k": "c"}.get(find_unit, "c")
    cmp = (m.group("cmp") or "").lower()
    op = "-" if any(cmp.startswith(s) for s in _SMALLER) else "+"
    return Size(op, int(amount), find_unit, m.group(0).strip())


def _every(number, unit):
    unit = unit.lower()
    count = int(number) if number else 1
    if unit.startswith("min"):
        return {"minute": f"*/{count}" if count > 1 else "*"}
    if unit.startswith(("hour", "hr")):
        return {"minute": "0", "hour": f"*/{count}" if count > 1 else "*"}
    if unit.startswith(("day", "dai", "night")):
        return {"minute": "0", "hour": "0", "day": f"*/{count}" if count > 1 else "*"}
    if unit.startswith("weekday"):
        return {"minute": "0", "hour": "0", "weekday": "1-5"}
    if unit.startswith("weekend"):
        return {"minute": "0", "hour": "0", "weekday": "0,6"}
    if unit.startswith("week"):
        return {"minute": "0", "hour": "0", "weekday": "0"}
    if unit.startswith("month"):
        return {"minute": "0", "hour": "0", "day": "1"}
    return {"minute": "0", "hour": "0", "weekday": str(_WEEKDAYS[unit[:3]])}


def _hour(m):
    if m.group(4):
        return ("12" if m.group(4) == "noon" else "0"), "0"
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "")[:1]
    if half == "p" and hour < 12:
        hour += 12
    if half == "a" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return str(hour), str(minute)
