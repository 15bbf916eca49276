"""Agents outside the vocabulary (most investigational drugs): found from the text, kept as their own label.

A word is read as an agent when it has the form of a drug name (an INN stem such as ``-mab``,
``-tinib``, ``-zole``, or a development code such as ``XYZ-123``; grammar in
``extraction/patterns/unlisted_agents.jsonl``), no vocabulary entry or other mention covers it, and it
stands where arms are named: in the title, in a randomisation sentence, or beside ``versus``, ``plus``,
``arm``, ``group`` … Every later occurrence of an accepted name is then an ``AGENT`` mention whose id is
the name in lower case (``XYZ-123`` → ``xyz-123``); records naming it carry the ``unknown_agent`` flag.

>>> ms = unlisted_agent_mentions("Zanotinib versus placebo\\n\\nMedian PFS was longer with zanotinib.", [])
>>> [(m[2], m[3]) for m in ms]
[('AGENT', ('zanotinib',)), ('AGENT', ('zanotinib',))]
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources

from evidence.vocabulary import VOCAB
from extraction.gates import may_match

Mention = tuple[int, int, str, tuple[str, ...]]
_RANDOM = re.compile(r"\brandomi[sz]|\brandomly\b|\bassigned\b|\ballocated\b", re.I)


@functools.lru_cache(maxsize=1)
def _grammar() -> tuple[re.Pattern[str], re.Pattern[str], frozenset[str], re.Pattern[str]]:
    by = _rows()
    suffixes = sorted(by["suffix"]["values"], key=len, reverse=True)
    # one pass over the text: a word of 5+ letters that ends in a stem
    suffix = re.compile(r"\b[A-Za-z]{2,}(?<![A-Za-z]{40})(?:" + "|".join(map(re.escape, suffixes)) + r")\b", re.I)
    return (suffix, re.compile(by["code"]["regex"]), frozenset(by["stop"]["values"]),
            re.compile(by["context"]["regex"], re.I))


@functools.lru_cache(maxsize=1)
def _rows() -> dict[str, dict]:
    rows = [json.loads(ln) for ln in (resources.files("extraction") / "patterns" / "unlisted_agents.jsonl")
            .read_text(encoding="utf-8").splitlines() if ln.strip()]
    return {r["kind"]: r for r in rows}


#: Whole words of ASCII letters (the only words the stem pattern can match, but for the characters below).
_WORD = re.compile(r"\b[A-Za-z]{5,}\b")
#: Characters that ``[A-Za-z]`` also matches under ``re.I`` (İ ı ſ K): texts with one take the stem pattern.
_FOLDED = re.compile("[\u0130\u0131\u017f\u212a]")


@functools.lru_cache(maxsize=1)
def _stems() -> tuple[tuple[str, ...], frozenset[str], tuple[int, ...]]:
    """The stems (lower case) as a tuple and a set, and their distinct lengths."""
    values = tuple(v.lower() for v in _rows()["suffix"]["values"])
    return values, frozenset(values), tuple(sorted({len(v) for v in values}))


def _stem_words(text: str) -> list[re.Match[str]]:
    """The matches of the stem pattern (``_grammar()[0]``), found faster: a whole word of ASCII letters
    that ends in a stem after 2 to 39 other letters (what the pattern's ``{2,}`` and look-behind allow)."""
    if _FOLDED.search(text):
        return list(_grammar()[0].finditer(text))
    stems, stem_set, lengths = _stems()
    out = []
    for m in _WORD.finditer(text):
        w = m.group().lower()
        if w.endswith(stems):
            n = len(w)
            # a stem of 8+ letters is a whole drug name too (``ixabepilone``)
            if any((2 <= n - k <= 39 or n == k >= 8) and w[n - k:] in stem_set for k in lengths):
                out.append(m)
    return out


def _known(word: str) -> bool:
    return bool(VOCAB.normalize_agent(word) or VOCAB.normalize_histotype(word) or VOCAB.normalize_endpoint(word))


def _candidates(text: str) -> list[tuple[int, int, str]]:
    _suffix, code, stop, _ctx = _grammar()
    out = []
    for m in _stem_words(text):
        w = m.group()
        if len(w) >= 5 and w.lower() not in stop and not _known(w):
            out.append((m.start(), m.end(), w.lower()))
    for m in code.finditer(text):
        prefix = re.match(r"[A-Za-z]+", m.group())
        if prefix and prefix.group().lower() in stop:
            continue
        out.append((m.start(), m.end(), m.group().lower()))
    named = _rows().get("class_name")
    if named and "(" in text and may_match(_class_name(named["regex"]), text):
        names = {m.group("name") for m in _class_name(named["regex"]).finditer(text) if not _known(m.group("name"))}
        for name in names:  # the name wherever it is written, as for a stem-shaped name
            out.extend((m.start(), m.end(), name.lower()) for m in re.finditer(rf"\b{re.escape(name)}\b", text))
    return sorted(out)


@functools.lru_cache(maxsize=1)
def _class_name(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def unlisted_agent_mentions(text: str, mentions: Sequence[Mention],
                            sentences: Sequence[tuple[int, int]] = ()) -> list[Mention]:
    """``AGENT`` mentions of drug-like names no other mention covers (see the module docstring)."""
    cands = _candidates(text)
    if not cands:
        return []
    covered = [(m[0], m[1]) for m in mentions]

    def free(a: int, b: int) -> bool:
        return not any(a < e and s < b for s, e in covered)

    title_end = sentences[0][1] if sentences else text.find("\n") if "\n" in text else len(text)
    random_spans = [(s, e) for s, e in sentences if _RANDOM.search(text, s, e)]
    ctx = _grammar()[3]
    accepted: set[str] = set()
    for a, b, name in cands:
        if not free(a, b):
            continue
        if a < title_end or any(s <= a < e for s, e in random_spans) or \
                ctx.search(text[max(0, a - 25):a]) or ctx.match(text, b) or ctx.search(text[b:b + 12]):
            accepted.add(name)
    return [(a, b, "AGENT", (name,)) for a, b, name in cands if name in accepted and free(a, b)]
