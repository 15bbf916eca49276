"""Sentence boundaries for trial reports, as character offsets (pure functions).

A period ends a sentence only when whitespace and a plausible sentence start follow and the word before
it is not an abbreviation (``vs.``, ``approx.``, ``et al.``, ``Fig.``, ``e.g.``, ``i.e.``, single initials).
Decimals (``0.95``, ``P = .017``) never split because no whitespace follows the dot. Blank lines, bullet
markers and short heading lines (``RESULTS``, ``Findings``) also end a sentence.

>>> text = "HR 0.77 (95% CI 0.62–0.95; p<0·001) vs. placebo, approx. 40 pts. Next one."
>>> [text[s:e] for s, e in split_sentences(text)]
['HR 0.77 (95% CI 0.62–0.95; p<0·001) vs. placebo, approx. 40 pts.', 'Next one.']
"""

from __future__ import annotations

import itertools
import re

#: Words after which a period does not end a sentence (compared lower-case, without the dot).
ABBREVIATIONS = frozenset({
    "vs", "v", "approx", "al", "fig", "figs", "e.g", "i.e", "eg", "ie", "cf", "no", "nos", "vol", "dr",
    "mr", "mrs", "ms", "prof", "etc", "ref", "refs", "resp", "incl", "min", "max", "est", "ca", "u.s",
    "u.k", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "sec",
    "tab", "suppl", "p", "pts", "mg", "inc", "ltd", "co", "st", "univ", "dept", "ed", "eds", "ie.",
})
# "pts." ends a sentence often enough that we let a capitalised next word decide, see _is_abbrev.
_SOFT = frozenset({"pts", "etc", "mg", "min", "max", "sec"})

# A sentence end: ``[.!?]`` with closing quotes/brackets before a plausible sentence start, a blank line,
# or a line break before a bullet. One character class comes first (the branch then checks which character
# it was), so the regex engine skips to the few candidate characters.
_CANDIDATE = re.compile(r"[.!?\n](?:(?<=[.!?])[\"'’”)\]]*(?=\s+[\"'‘“(\[]?[A-Z0-9•\-–])|(?<=\n)[ \t]*\n\s*"
                        r"|(?<=\n)(?=[ \t]*[•▪●◦\-–*] ))")
# A run-on sentence end: a period glued to the next sentence's capitalised word ("limited.Patients"), as
# web copies of abstracts lose the space. Two letters (or a closing bracket) before it, so decimals,
# initials ("U.S.") and "e.g." stay whole; the abbreviation test still applies.
_RUN_ON = re.compile(r"(?<=[A-Za-z]{2}|[A-Za-z0-9%][)\]])\.(?=[A-Z][a-z]{2})")
_WORD_TAIL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.[\"'’”)\]]*$")


_HEADING_END = re.compile(r"[.,;:)\-]$")
#: the word before a one-letter arm label (``regimen B``, ``arm A``), whose period ends a sentence
_LABEL_BEFORE = re.compile(r"\b(?:arms?|groups?|regimens?|cohorts?|schedules?|treatments?|trt|parts?|stages?)\s+$",
                           re.I)
_ANY_DIGIT = re.compile(r"\d")


def _is_abbrev(text: str, dot: int) -> bool:
    """True when the period at ``dot`` belongs to an abbreviation."""
    if dot == 0 or text[dot - 1] not in _WORD_TAIL:  # _WORD_BEFORE needs a letter or "." before the dot
        return False
    m = _WORD_BEFORE.search(text, max(0, dot - 12), dot + 1)
    if not m:
        return False
    word = m.group(1).lower()
    if len(word) == 1 and m.group(1).isupper():  # an initial: "J. Smith", not a label: "regimen B. Patients"
        return not _LABEL_BEFORE.search(text, max(0, dot - 12), dot - 1)
    if word in _SOFT:
        return False
    return word in ABBREVIATIONS or word.rstrip(".") in ABBREVIATIONS


def _heading_breaks(text: str) -> list[int]:
    """Offsets just after a newline that ends a short heading line (no final punctuation).

    A heading line holds 1 to 60 characters besides its leading and trailing spaces and tabs, starts with
    an upper-case letter, has at most six words, no digit and no final ``.,;:)-``; the next line must hold
    text. (Line by line, this is ``(?m)^[ \\t]*([^\\n]{1,60}?)[ \\t]*\\n(?=[ \\t]*\\S)`` and the tests on its
    group, without trying the pattern at every position.)
    """
    out = []
    pos = 0
    lines = text.split("\n")
    for line, nxt in itertools.pairwise(lines):  # the last line has no newline after it
        end = pos + len(line) + 1
        head = line.strip(" \t")
        if 1 <= len(head) <= 60 and head[:1].isupper() and not _HEADING_END.search(head) \
                and len(head.split()) <= 6 and not _ANY_DIGIT.search(head):
            rest = nxt.lstrip(" \t")
            if rest and not rest[0].isspace():
                out.append(end)
        pos = end
    return out


_TITLE_OPEN_END = re.compile(r"(?:[,;(\-–/]|\b(?:the|of|and|or|in|with|for|to|a|an|by|on|versus|vs))$", re.I)


def _title_line_end(text: str) -> int:
    """Offset after the newline that ends a document's first line when that line is a title: 20 to 400
    characters, not ending the way a wrapped sentence breaks off (a comma, a hyphen, ``of``, ``and``), and
    the next line opening with an upper-case letter or a digit. 0 when it is not."""
    start = len(text) - len(text.lstrip())
    nl = text.find("\n", start, start + 402)
    if nl < 0:
        return 0
    head = text[start:nl].strip()
    rest = text[nl + 1:nl + 40].lstrip()
    if not 20 <= len(head) <= 400 or not rest or not (rest[0].isupper() or rest[0].isdigit()):
        return 0
    return 0 if _TITLE_OPEN_END.search(head) else nl + 1


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` covering the non-blank text, offsets into ``text``.

    Leading and trailing whitespace of each sentence is excluded; empty pieces are dropped.
    """
    cuts = {0, len(text)}
    for m in _CANDIDATE.finditer(text):
        ch = text[m.start()]
        if ch == "." and _is_abbrev(text, m.start()):
            continue
        cuts.add(m.end())
    if "." in text:
        for m in _RUN_ON.finditer(text):
            if not _is_abbrev(text, m.start()):
                cuts.add(m.end())
    cuts.update(_heading_breaks(text))
    title_end = _title_line_end(text)
    if title_end:
        cuts.add(title_end)
    bounds = sorted(cuts)
    spans = []
    for a, b in itertools.pairwise(bounds):
        piece = text[a:b]
        body = piece.strip()  # str.strip() removes exactly the characters for which isspace() holds
        if body:
            s = a + piece.index(body[0])
            spans.append((s, s + len(body)))
    return spans
