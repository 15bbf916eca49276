"""Token-pattern rules (spaCy ``Matcher`` syntax) matched with predicates cached per token text.

spaCy's :class:`~spacy.matcher.Matcher` evaluates ``REGEX`` predicates in Python on every token of
every document. Here every token spec of every rule is a predicate on the token's text, evaluated once
per distinct text (a bit mask per text, cached by the token's ``ORTH`` id); a document is scanned with
its ``ORTH`` array, and only where a rule's first spec holds is the rule expanded. The matches are
spaCy's: every ``(rule, start, end)`` the Matcher returns, the quantifiers ``+ ? *`` included (the test
suite compares both on the gold texts, the seeds and generated abstracts).

Supported token keys: ``ORTH``/``TEXT``/``LOWER`` with a string, ``{"IN": [...]}`` or ``{"REGEX": r}``
(``re.search``, as spaCy), and ``OP`` in ``+ ? * 1``. Anything else raises ``ValueError``.

>>> rules = TokenRules([("R", [{"TEXT": {"REGEX": "^[A-Z]{3,}$"}, "OP": "+"}, {"LOWER": "trial"}])])
>>> from spacy.lang.en import English
>>> nlp = English()
>>> rules(nlp("the ABC DEF Trial"))
[('R', 1, 4), ('R', 2, 4)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from spacy.attrs import ORTH
from spacy.tokens import Doc

_OPS = ("1", "+", "?", "*")
#: Distinct token texts remembered before the cache is emptied (memory stays flat on a long stream).
CACHE_LIMIT = 200_000


def _predicate(spec: dict[str, Any]) -> Callable[[str], bool]:
    tests: list[Callable[[str], bool]] = []
    for key, val in spec.items():
        if key == "OP":
            continue
        if key not in ("ORTH", "TEXT", "LOWER"):
            raise ValueError(f"unsupported token attribute {key!r}")
        lower = key == "LOWER"
        if isinstance(val, str):
            tests.append((lambda t, v=val: t.lower() == v) if lower else (lambda t, v=val: t == v))
        elif isinstance(val, dict) and set(val) == {"IN"}:
            vals = frozenset(val["IN"])
            tests.append((lambda t, v=vals: t.lower() in v) if lower else (lambda t, v=vals: t in v))
        elif isinstance(val, dict) and set(val) == {"REGEX"}:
            rx = re.compile(val["REGEX"])
            tests.append((lambda t, r=rx: r.search(t.lower()) is not None) if lower
                         else (lambda t, r=rx: r.search(t) is not None))
        else:
            raise ValueError(f"unsupported token test {key}: {val!r}")
    return lambda t: all(f(t) for f in tests)


class TokenRules:
    """Match ``(key, token pattern)`` rules; ``rules(doc)`` gives ``[(key, start, end), ...]``."""

    def __init__(self, rules: Iterable[tuple[Any, list[dict[str, Any]]]]) -> None:
        rules = [(key, list(pattern)) for key, pattern in rules]
        self._source = rules
        self._preds: list[Callable[[str], bool]] = []
        self._rules: list[tuple[Any, tuple[tuple[int, str], ...]]] = []
        index: dict[str, int] = {}
        for key, pattern in rules:
            steps = []
            for spec in pattern:
                op = str(spec.get("OP", "1"))
                if op not in _OPS:
                    raise ValueError(f"unsupported OP {op!r} (supported: {', '.join(_OPS)})")
                sig = repr(sorted((k, v) for k, v in spec.items() if k != "OP"))
                if sig not in index:
                    index[sig] = len(self._preds)
                    self._preds.append(_predicate(spec))
                steps.append((1 << index[sig], op))
            if not steps:
                raise ValueError("empty token pattern")
            self._rules.append((key, tuple(steps)))
        self._cache: dict[int, int] = {}
        #: mask of a token → the rules that may start there (:meth:`_rules_from`)
        self._starting: dict[int, list[tuple[Any, tuple[tuple[int, str], ...]]]] = {}
        self._any = 0
        for _key, steps in self._rules:
            self._any |= steps[0][0]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its rules (the predicates are closures), e.g. for spawned worker processes."""
        return (TokenRules, (self._source,))

    def _mask(self, orth: int, doc: Doc) -> int:
        text = doc.vocab.strings[orth]
        m = 0
        for i, p in enumerate(self._preds):
            if p(text):
                m |= 1 << i
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[orth] = m
        return m

    def __call__(self, doc: Doc) -> list[tuple[Any, int, int]]:
        if not len(doc):
            return []
        orths = doc.to_array(ORTH).tolist()
        masks = list(map(self._cache.get, orths))
        if None in masks:  # texts not seen before
            masks = [self._mask(o, doc) if m is None else m for o, m in zip(orths, masks, strict=True)]
        out: list[tuple[Any, int, int]] = []
        anyfirst = self._any
        starting = self._starting
        for start in [i for i, m in enumerate(masks) if m & anyfirst]:
            m = masks[start]
            rules = starting.get(m)
            if rules is None:
                rules = self._rules_from(m)
            for key, steps in rules:
                for end in sorted(_ends(masks, steps, 0, start)):
                    if end > start:
                        out.append((key, start, end))
        return out

    def _rules_from(self, m: int) -> list[tuple[Any, tuple[tuple[int, str], ...]]]:
        """The rules, in order, that may start at a token of mask ``m`` (a ``1``/``+`` first spec must
        hold there: elsewhere nothing starts), remembered per mask."""
        rules = [(key, steps) for key, steps in self._rules if not (steps[0][1] in ("1", "+") and not m & steps[0][0])]
        if len(self._starting) >= CACHE_LIMIT:
            self._starting.clear()
        self._starting[m] = rules
        return rules


def _ends(masks: list[int], steps: tuple[tuple[int, str], ...], k: int, i: int) -> set[int]:
    """Token positions where ``steps[k:]`` can end when matched from token ``i``."""
    if k == len(steps):
        return {i}
    bit, op = steps[k]
    out: set[int] = set()
    if op in ("?", "*"):
        out |= _ends(masks, steps, k + 1, i)
    j = i
    n = len(masks)
    while j < n and masks[j] & bit:
        j += 1
        out |= _ends(masks, steps, k + 1, j)
        if op in ("1", "?"):
            break
    return out
