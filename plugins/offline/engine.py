"""Match a request to the intents of every area and turn the best into candidates.

Each intent whose required concepts the request names is tried: its builder
fills the command from the request's parameters.  An intent is scored by how
much of the request it *explains* (concept words it knows, parameters and
free words it used) against what it leaves unexplained; below
:data:`MIN_COVERAGE` the engine does not guess and returns nothing.  The best
intent gives the command and its own alternatives; a close runner-up from
another intent is offered as a further alternative.

The confidence a candidate carries (what the copilot ranks every backend's
candidates by) counts only what the engine *understood*: unknown words it
merely took as names (``run clippy`` read as "is a process named clippy
running") are guesses, so a skill recipe written for that phrase outranks it.
"""

import functools
import importlib

from caro_core.generate import Candidate

from .intent import Platform
from .parse import parse
from .words import SOFT

#: The area modules, in the order their intents win ties.
AREAS = ("files", "archives", "text", "processes", "disk", "network", "git",
         "docker", "kubectl", "packages", "permissions", "cron", "logs")

#: Share of the request an intent must explain to be suggested at all.
MIN_COVERAGE = 0.6
#: How many candidates (the command and its alternatives) a request gets at most.
MAX_CANDIDATES = 4
BACKEND = "offline"


@functools.cache
def intents():
    """Every intent of every area (the area modules are imported on first use)."""
    found = []
    for area in AREAS:
        found.extend(importlib.import_module(f"{__package__}.{area}").rules.intents)
    return tuple(found)


@functools.cache
def vocabulary():
    """Every concept some intent knows."""
    return frozenset().union(*(intent.vocabulary for intent in intents()))


def rank(text, context):
    """``(score, coverage, understood, intent, pairs)`` for every intent that fits ``text``,
    best first; ``understood`` is the share of the request explained without guessing
    names from unknown words."""
    request = parse(text, vocabulary())
    platform = Platform(context)
    words = [w for w in request.words if w.concept not in SOFT]
    content = len(words) + len(request.items) + len(request.free_words)
    ranked = []
    for order, intent in enumerate(intents()):
        if intent.avoid & request.concepts:
            continue
        if not all(group & request.concepts for group in intent.need):
            continue
        request.begin()
        pairs = intent.build(request, platform)
        if not pairs:
            continue
        known = intent.vocabulary
        guessed = sum(1 for w in request.free_words if w.pos in request.words_taken)
        explained = (sum(1 for w in words if w.concept in known or w.pos in request.words_taken)
                     + len(request.used) + guessed)
        soft = sum(1 for w in request.words if w.concept in SOFT and w.concept in known)
        coverage = explained / content if content else 0.0
        understood = (explained - guessed) / content if content else 0.0
        score = explained - (content - explained) + 0.25 * soft
        ranked.append((score, coverage, -order, understood, intent, pairs))
    ranked.sort(key=lambda entry: entry[:3], reverse=True)
    return [(score, coverage, understood, intent, pairs)
            for score, coverage, _, understood, intent, pairs in ranked]


def suggest(text, context):
    """Candidates for ``text`` on the platform of ``context``; ``[]`` when not understood."""
    ranked = [entry for entry in rank(text, context) if entry[1] >= MIN_COVERAGE]
    if not ranked:
        return []
    best_score, _, understood, _, pairs = ranked[0]
    confidence = round(min(0.95, 0.3 + 0.65 * understood), 2)
    candidates = []
    seen = set()

    def offer(command, explanation, level):
        if command not in seen and len(candidates) < MAX_CANDIDATES:
            seen.add(command)
            candidates.append(Candidate(command, explanation, round(max(0.05, level), 2),
                                        BACKEND, "caro"))

    for number, (command, explanation) in enumerate(pairs):
        offer(command, explanation, confidence - 0.1 * number)
    for score, _, other_understood, _, other_pairs in ranked[1:3]:
        if score >= best_score - 1:
            command, explanation = other_pairs[0]
            offer(command, explanation, min(confidence, 0.3 + 0.65 * other_understood) - 0.15)
    return candidates
