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


# -- first characters ------------------------------------------------------------------------------
# The regex engine scans fast for where a match can start when the pattern opens with a character
# class it can test, and slowly (trying every alternative at every position) when it opens with ``\b``
# and words, or ignores case. :func:`quick` puts the class of characters every match starts with in
# front, as a look-ahead: the same matches, found faster.

_ODD_CASES = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}
_MAX_RANGE = 512


def _cased_variants(ch: str) -> str | None:
    """The characters a case-insensitive literal ``ch`` matches (None: not known, non-ASCII letter)."""
    if not ch.isascii():
        return None if ch.lower() != ch or ch.upper() != ch else ch
    low = ch.lower()
    return "".join(dict.fromkeys(ch + low + ch.upper() + _ODD_CASES.get(low, "")))


def _class_items(items: list, icase: bool) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            v = _cased_variants(chr(av)) if icase else chr(av)
            if v is None:
                return None
            out.update(re.escape(c) for c in v)
        elif op is C.RANGE:
            lo, hi = av
            if hi - lo > _MAX_RANGE:
                return None
            chars = [chr(c) for c in range(lo, hi + 1)]
            if icase:
                vs = [_cased_variants(c) for c in chars]
                if any(v is None for v in vs):
                    return None
                chars = [c for v in vs for c in v]  # type: ignore[union-attr]
            out.update(re.escape(c) for c in chars)
        elif op is C.CATEGORY and av in _CATEGORIES:
            out.add(_CATEGORIES[av])
        else:  # NEGATE, other categories
            return None
    return out


_CATEGORIES = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_WORD: r"\w", C.CATEGORY_SPACE: r"\s"}


def _first(items: list, icase: bool) -> tuple[set[str] | None, bool]:
    """(class items one of which starts every non-empty match of the sequence, whether it can be empty);
    None for the items when not known."""
    out: set[str] = set()
    for op, av in items:
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):  # zero-width: the next item starts the match
            continue
        if op is C.LITERAL:
            v = _cased_variants(chr(av)) if icase else chr(av)
            if v is None:
                return None, False
            return out | {re.escape(c) for c in v}, False
        if op is C.IN:
            cls = _class_items(av, icase)
            return (None if cls is None else out | cls), False
        if op is C.SUBPATTERN:
            _group, add, dele, sub = av
            sub_icase = (icase or bool(add & re.I)) and not dele & re.I
            first, empty = _first(sub, sub_icase)
        elif op is C.BRANCH:
            first, empty = set(), False
            for alt in av[1]:
                f, e = _first(alt, icase)
                if f is None:
                    return None, False
                first |= f
                empty = empty or e
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            first, empty = _first(av[2], icase)
            empty = empty or av[0] == 0
        elif op is getattr(C, "ATOMIC_GROUP", None):
            first, empty = _first(av, icase)
        else:  # ANY, NOT_LITERAL, group references …
            return None, False
        if first is None:
            return None, False
        out |= first
        if not empty:
            return out, False
    return out, True


@functools.lru_cache(maxsize=256)
def first_chars(rx: re.Pattern[str]) -> str | None:
    """A character class (``[...]``, case-sensitive) holding the first character of every match of
    ``rx``, or None when the pattern does not say (it can match the empty string, starts with ``.`` …).

    >>> first_chars(re.compile(r"\\b(?:at\\s+least|below)\\s*\\d", re.I))
    '[ABab]'
    """
    if rx.flags & re.VERBOSE or not isinstance(rx.pattern, str):
        return None
    try:
        tree = P.parse(rx.pattern, rx.flags)
    except Exception:  # the parser is internal to ``re``
        return None
    items, empty = _first(list(tree), bool(rx.flags & re.I))
    if items is None or empty or not items:
        return None
    return "[" + "".join(sorted(items)) + "]"


@functools.lru_cache(maxsize=256)
def quick(rx: re.Pattern[str]) -> re.Pattern[str]:
    """``rx`` with its first characters checked first (:func:`first_chars`): the same matches, the same
    groups, found faster; ``rx`` itself when its first characters are not known or it starts with
    inline flags.

    >>> rx = re.compile(r"\\b(?:at\\s+least|below)\\s*(?P<n>\\d+)", re.I)
    >>> quick(rx).pattern
    '(?=[ABab])(?i:\\\\b(?:at\\\\s+least|below)\\\\s*(?P<n>\\\\d+))'
    >>> [m.group("n") for m in quick(rx).finditer("AT LEAST 3, below 12")]
    ['3', '12']
    """
    cls = first_chars(rx)
    if cls is None or re.match(r"\(\?[aiLmsux]+\)", rx.pattern):  # global inline flags stay first
        return rx
    flags = rx.flags & ~re.I & ~re.UNICODE
    body = f"(?i:{rx.pattern})" if rx.flags & re.I else f"(?:{rx.pattern})"
    return re.compile(f"(?={cls}){body}", flags)
