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

Mention = tuple[int, int, str, tuple[str, ...]]
_RANDOM = re.compile(r"\brandomi[sz]|\brandomly\b|\bassigned\b|\ballocated\b", re.I)


@functools.lru_cache(maxsize=1)
def _grammar() -> tuple[re.Pattern[str], re.Pattern[str], frozenset[str], re.Pattern[str]]:
    rows = [json.loads(ln) for ln in (resources.files("extraction") / "patterns" / "unlisted_agents.jsonl")
            .read_text(encoding="utf-8").splitlines() if ln.strip()]
    by = {r["kind"]: r for r in rows}
    suffixes = sorted(by["suffix"]["values"], key=len, reverse=True)
    # one pass over the text: a word of 5+ letters that ends in a stem
    suffix = re.compile(r"\b[A-Za-z]{2,}(?<![A-Za-z]{40})(?:" + "|".join(map(re.escape, suffixes)) + r")\b", re.I)
    return (suffix, re.compile(by["code"]["regex"]), frozenset(by["stop"]["values"]),
            re.compile(by["context"]["regex"], re.I))


def _known(word: str) -> bool:
    return bool(VOCAB.normalize_agent(word) or VOCAB.normalize_histotype(word) or VOCAB.normalize_endpoint(word))


def _candidates(text: str) -> list[tuple[int, int, str]]:
    suffix, code, stop, _ctx = _grammar()
    out = []
    for m in suffix.finditer(text):
        w = m.group()
        if len(w) >= 5 and w.lower() not in stop and not _known(w):
            out.append((m.start(), m.end(), w.lower()))
    for m in code.finditer(text):
        prefix = re.match(r"[A-Za-z]+", m.group())
        if prefix and prefix.group().lower() in stop:
            continue
        out.append((m.start(), m.end(), m.group().lower()))
    return sorted(out)


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
