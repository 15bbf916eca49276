"""Sections of a structured abstract, found from its headings (pure functions).

A structured abstract opens with a section on what was known before the study (``Background:``,
``Purpose:``, ``Importance:``); the numbers in it are other studies' results or the reason for this one
(``X achieves objective response in 35% of patients``), never this study's records. The section runs from
its heading to the next heading of any kind: a sentence opening with a short phrase and a colon
(``Methods:``, ``Design, setting, and participants:``) or a heading on its own line (``RESULTS``).
The heading words are data: ``patterns/sections.json``.

>>> text = "Background: X gave 30% responses. Methods: We treated 20 patients. Results: 40% responded."
>>> from extraction.sentences import split_sentences
>>> sorted(background_sentences(text, split_sentences(text)))
[0]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

_DATA = Path(__file__).parent / "patterns" / "sections.json"
#: a heading that opens a sentence: up to six words (letters, commas, ``and``, ``/``, ``&``) and a colon,
#: or the whole sentence when it is a heading line of its own (no final punctuation)
_HEADING = re.compile(r"^(?P<head>[A-Za-z][A-Za-z ,/&\-]{1,60}?)\s*(?::|\s*$)")


@cache
def _background_words() -> frozenset[str]:
    return frozenset(json.loads(_DATA.read_text(encoding="utf-8"))["background"])


def heading_of(sentence: str) -> str | None:
    """The heading a sentence opens with, lower-case (``results``), or None."""
    m = _HEADING.match(sentence)
    if m is None:
        return None
    head = m.group("head").strip()
    if len(head.split()) > 6 or (m.group().rstrip()[-1:] != ":" and not head.isupper() and len(head.split()) > 3):
        return None
    return " ".join(head.lower().split())


def background_sentences(text: str, sentences: Sequence[tuple[int, int]]) -> set[int]:
    """Indices of the sentences in a background-type section (heading sentence included)."""
    out: set[int] = set()
    inside = False
    words = _background_words()
    for idx, (s, e) in enumerate(sentences):
        head = heading_of(text[s:e]) if text[s:s + 1].isalpha() and text[s:s + 1].isupper() else None
        if head is not None:
            inside = head in words
        if inside:
            out.add(idx)
    return out
