"""Cheap pre-checks before a regular expression scans a whole text.

Most patterns of the extractor can match only where the text holds one of a few words (``control`` or
``standard`` … for a control arm, ``nct`` for a registry id). :func:`required_words` reads those words
from the compiled pattern itself (its parse tree: literal runs that every match contains), so a check
never goes stale when a pattern file changes; :func:`may_match` then looks for them with ``in`` on the
text in lower case (:func:`folded`), which is many times faster than the regex engine trying every
position. The check is sound: when it says no, the pattern has no match in the text (whatever the case
flags), so skipping the scan changes no result.

>>> rx = re.compile(r"\\b(?:the\\s+)?(?:control|standard)\\s+(?:group|arm)s?\\b|\\bcontrols\\b", re.I)
>>> required_words(rx)
('control', 'standard')
>>> may_match(rx, "Patients in the CONTROL group"), may_match(rx, "Patients in the test group")
(True, False)
"""

from __future__ import annotations

import functools
import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

__all__ = ["folded", "may_match", "required_words"]

#: Letters that a case-insensitive regex reads as an ASCII letter although ``str.lower`` does not make
#: them one (İ ı → i, ſ → s, K → k). Mapped first, so the lower-cased text keeps every offset (İ is the
#: only character whose ``lower()`` is longer).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


_ODD = re.compile("[\u0130\u0131\u017f\u212a]")


def _fold(text: str) -> str:
    return text.translate(_FOLD).lower() if not text.isascii() and _ODD.search(text) else text.lower()


@functools.lru_cache(maxsize=16)
def folded(text: str) -> str:
    """``text`` in lower case, with the letters above made ASCII (same length, same offsets); the last
    few texts are remembered, as several patterns check one document.

    >>> folded("Stage \u0130V, K\u212aX")
    'stage iv, kkx'
    """
    return _fold(text)


Words = tuple[str, ...]


def _best(cands: list[Words]) -> Words | None:
    """The most selective of several requirements (each sound alone): longest shortest word, fewest words."""
    if not cands:
        return None
    return max(cands, key=lambda ws: (min(map(len, ws)), -len(ws)))


def _seq(items: P.SubPattern | list) -> Words | None:
    """Words one of which every match of the sequence ``items`` contains (None: none known)."""
    cands: list[Words] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            cands.append(("".join(run),))
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            ch = chr(av)
            if not ch.isascii():  # a non-ASCII literal may fold to other characters: no word through it
                flush()
                continue
            run.append(ch.lower())
            continue
        if op is C.AT:  # \b, ^, $: zero-width, the characters on both sides stay adjacent
            continue
        flush()
        sub: Words | None = None
        if op is C.SUBPATTERN:
            sub = _seq(av[-1])
        elif op is C.BRANCH:
            alts = [_seq(a) for a in av[1]]
            if all(a is not None for a in alts):
                ws = list(dict.fromkeys(w for a in alts for w in a))  # type: ignore[union-attr]
                # a word that holds another is found when the other is
                sub = tuple(w for w in ws if not any(v != w and v in w for v in ws))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            sub = _seq(av[2])
        elif op is getattr(C, "ATOMIC_GROUP", None):
            sub = _seq(av)
        # IN, ANY, CATEGORY, NOT_LITERAL, look-arounds, group references …: no word required
        if sub:
            cands.append(sub)
    flush()
    return _best(cands)


@functools.lru_cache(maxsize=1024)
def required_words(rx: re.Pattern[str]) -> Words | None:
    """Lower-case words one of which every match of ``rx`` contains, or None when the pattern does not
    say (a word shorter than 3 letters is not worth checking: None too)."""
    try:
        tree = P.parse(rx.pattern, rx.flags)
    except Exception:  # the parser is internal to ``re``: when it changes, scan as before
        return None
    words = _seq(tree)
    if not words or min(map(len, words)) < 3:
        return None
    return words


def may_match(rx: re.Pattern[str], text: str, *, remember: bool = True) -> bool:
    """False only when ``rx`` cannot match anywhere in ``text`` (nor in any part of it).

    ``remember=False`` for a short piece checked once (a sentence): its lower case is not kept.
    """
    words = required_words(rx)
    if words is None:
        return True
    low = folded(text) if remember else _fold(text)
    return any(w in low for w in words)
