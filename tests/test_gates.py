"""extraction.gates: a pattern said not to match a text has no match in it (the pre-checks change no result)."""

from __future__ import annotations

import glob
import importlib
import os
import random
import re

import pytest

from extraction.gates import folded, may_match, quick, required_words

MODULES = ("extraction.arms", "extraction.assembly", "extraction.context", "extraction.numbers",
           "extraction.prognostic", "extraction.sentences", "extraction.study", "extraction.unlisted",
           "extraction.values", "extraction.components.abbreviations")
GOLD = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "gold")


def patterns() -> list[re.Pattern[str]]:
    from extraction.context import _count_grammar, _role_grammar
    from extraction.study import _rules
    from extraction.unlisted import _grammar

    out: list[re.Pattern[str]] = []
    for name in MODULES:
        mod = importlib.import_module(name)
        out += [v for v in vars(mod).values() if isinstance(v, re.Pattern) and isinstance(v.pattern, str)]
    out += [rx for rules in _rules().values() for _v, rx in rules]
    out += [rx for _r, rx in _role_grammar()]
    g = _count_grammar()
    out += [g["word_rx"], *(rx for k in ("total", "evaluable", "arm_size_after", "dose_arms", "dose_mention")
                            for rx in g[k])]
    out += [rx for rx in _grammar() if isinstance(rx, re.Pattern)]
    return list(dict.fromkeys(out))


def texts() -> list[str]:
    from bench.bench_extraction import corpus

    out = list(corpus(60))
    for path in sorted(glob.glob(os.path.join(GOLD, "*", "*.txt"))):
        with open(path, encoding="utf-8", errors="replace") as fh:
            out.append(fh.read())
    return out


ODD = {"i": "\u0130\u0131", "s": "\u017f", "k": "\u212a", "K": "\u212a", "I": "\u0130\u0131", "S": "\u017f"}


def oddly_cased(text: str, rng: random.Random) -> str:
    """Letters swapped for the non-ASCII ones a case-insensitive regex reads as them, and random case."""
    out = []
    for ch in text:
        r = rng.random()
        if ch in ODD and r < 0.3:
            out.append(rng.choice(ODD[ch]))
        elif r < 0.5:
            out.append(ch.swapcase())
        else:
            out.append(ch)
    return "".join(out)


def test_folded_keeps_offsets():
    s = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    assert len(folded(s)) == len(s)


def test_required_words_of_the_patterns():
    from extraction.context import _role_grammar

    assert [required_words(rx) for _r, rx in _role_grammar()][-1] == ("monotherapy", "single-agent")
    assert required_words(re.compile(r"\d+\s*%")) is None
    assert required_words(re.compile(r"(?:abc)?def|ghi")) == ("def", "ghi")
    assert required_words(re.compile(r"x(?:abc)*y")) is None  # a word of one letter is not checked


@pytest.mark.parametrize("seed", range(3))
def test_no_match_is_missed(seed):
    rng = random.Random(seed)
    pats = [rx for rx in patterns() if required_words(rx) is not None]
    assert len(pats) > 20
    docs = texts()
    pieces = []
    for t in docs:
        pieces.append(t if seed == 0 else oddly_cased(t, rng))
        for _ in range(5):
            a = rng.randrange(len(t))
            pieces.append(oddly_cased(t[a:a + rng.randint(5, 300)], rng))
    skipped = 0
    for rx in pats:
        for piece in pieces:
            if not may_match(rx, piece, remember=False):
                skipped += 1
                assert rx.search(piece) is None, (rx.pattern, piece)
    assert skipped  # the checks do skip scans


def unquick(rx: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern :func:`quick` was given, for one it made (else ``rx``)."""
    m = re.fullmatch(r"\(\?=\[(?:\\.|[^\]\\])*\]\)\(\?(i)?:(.*)\)", rx.pattern, re.S)
    if not m:
        return rx
    try:
        src = re.compile(m.group(2), rx.flags | (re.I if m.group(1) else 0))
    except re.error:
        return rx
    return src if quick(src).pattern == rx.pattern else rx


def test_quick_patterns_in_use_are_quick_of_their_source():
    from extraction.values import _THRESHOLD

    src = unquick(_THRESHOLD)
    assert src is not _THRESHOLD and quick(src).pattern == _THRESHOLD.pattern


@pytest.mark.parametrize("seed", range(2))
def test_quick_finds_the_same_matches(seed):
    rng = random.Random(seed)
    docs = texts()[::3]
    pieces = [oddly_cased(t, rng) if seed else t for t in docs]
    pieces += [oddly_cased(t[a:a + 200], rng) for t in docs for a in [rng.randrange(len(t))]]
    checked = 0
    for rx in patterns():
        src = unquick(rx)
        q = quick(src)
        if q is src:
            continue
        checked += 1
        for piece in pieces:
            assert [(m.span(), m.groups()) for m in q.finditer(piece)] == \
                [(m.span(), m.groups()) for m in src.finditer(piece)], src.pattern
            for _ in range(3):
                a = rng.randrange(len(piece) + 1)
                b = rng.randrange(a, len(piece) + 1)
                x, y = q.search(piece, a, b), src.search(piece, a, b)
                assert (x and (x.span(), x.groups())) == (y and (y.span(), y.groups())), src.pattern
                x, y = q.match(piece, a), src.match(piece, a)
                assert (x and (x.span(), x.groups())) == (y and (y.span(), y.groups())), src.pattern
    assert checked > 50
