"""Layer 1 of skills: knowledge pages offered as context for a request.

Each enabled skill that provides knowledge becomes a :class:`KnowledgePlugin`
answering ``caro_generate_context``.  Its topic files
(``knowledge/<topic>.md``) are read on the first request only and cut into
passages at their markdown headings.  A skill answers only requests that name
its subject (its keywords, name or id); then a passage is offered when the
request's significant words occur in it (matches in its heading, topic name
and the skill's keywords count double).  At most :data:`MAX_PASSAGES` per
skill, best first.
"""

import re

from caro_core import hookimpl
from caro_core.skills import SkillPlugin

MAX_PASSAGES = 3
#: Passages longer than this are cut (at a paragraph when possible).
MAX_CHARS = 1200

_WORD = re.compile(r"[a-z0-9][a-z0-9_+.-]*[a-z0-9]|[a-z0-9]")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
#: Words too common to make a passage relevant.
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from get how i if in into is it its me my of on "
    "or please show that the this to use using what when where which with you your all any "
    "make new run see want need".split())


def words(text):
    """The significant lowercase words of ``text``."""
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


class KnowledgePlugin(SkillPlugin):
    """One skill's knowledge pages as a ``caro_generate_context`` answer."""

    def __init__(self, skill):
        super().__init__(skill)
        self._passages = None
        meta = skill.manifest["skill"]
        #: words that show a request is about this skill's subject
        self.subject = words(" ".join([*meta.get("keywords", ()), meta.get("name", ""),
                                       skill.id.split(".", 1)[1].replace("-", " ")]))

    def passages(self):
        """``(topic, heading, text, heading_words, text_words)`` for every passage, read once."""
        if self._passages is None:
            self._passages = []
            keywords = words(" ".join(self.skill.manifest["skill"].get("keywords", ())))
            for topic in self.skill.manifest.get("knowledge", {}).get("topics", ()):
                path = self.skill.directory / "knowledge" / f"{topic}.md"
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue  # `caro skills verify` reports missing or changed files
                for heading, body in split_passages(text):
                    self._passages.append((topic, heading, body.strip(),
                                           words(f"{topic} {heading}") | keywords, words(body)))
        return self._passages

    @hookimpl
    def caro_generate_context(self, request):
        """The most relevant passages of this skill for ``request``."""
        from caro_core.generate import KnowledgeSnippet

        wanted = words(request)
        if not wanted & self.subject:
            return []
        scored = []
        for topic, heading, body, title_words, body_words in self.passages():
            title_hits, body_hits = wanted & title_words, wanted & body_words
            if len(body_hits) >= min(2, len(wanted)) or (title_hits and body_hits):
                scored.append((2 * len(title_hits) + len(body_hits), topic, heading, body))
        scored.sort(key=lambda s: -s[0])
        priority = self.skill.manifest.get("knowledge", {}).get("priority", 50)
        return [KnowledgeSnippet(source=self.skill.id, topic=topic,
                                 text=_clip(f"{heading}\n\n{body}" if heading else body),
                                 priority=priority)
                for _score, topic, heading, body in scored[:MAX_PASSAGES]]


def split_passages(text):
    """``(heading, body)`` pairs: the text before the first heading, then each section."""
    marks = list(_HEADING.finditer(text))
    if not marks:
        return [("", text)] if text.strip() else []
    out = []
    if text[:marks[0].start()].strip():
        out.append(("", text[:marks[0].start()]))
    for mark, following in zip(marks, marks[1:] + [None]):
        body = text[mark.end():following.start() if following else len(text)]
        if body.strip():
            out.append((mark.group(1).strip(), body))
    return out


def _clip(text):
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind("\n\n", 0, MAX_CHARS)
    return text[:cut if cut > MAX_CHARS // 2 else MAX_CHARS].rstrip() + "\n…"


@hookimpl
def caro_skill_plugins(skill):
    """A :class:`KnowledgePlugin` for a skill that provides knowledge."""
    if skill.manifest.get("provides", {}).get("knowledge"):
        return [KnowledgePlugin(skill)]
    return []
