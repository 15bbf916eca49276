"""Entity recognition from the evidence vocabularies and the JSONL pattern files.

Vocabulary terms (labels, synonyms, brands, codes, each with a plural) are matched case-insensitively
with a :class:`~spacy.matcher.PhraseMatcher` on ``LOWER``; abbreviations only as written (``ORTH``),
because in lower case they are ordinary words. Pattern-file rules that are plain phrases go through
PhraseMatchers, the others (regular expressions, quantifiers) through
:class:`~extraction.token_rules.TokenRules` (spaCy ``Matcher`` semantics, predicates cached per token
text). Overlaps are resolved longest-first, so ``duration of response``
(a distractor) wins over ``response``. Results go to ``doc.spans["sarcoma"]``; each span's ``kb_id_``
holds the canonical id (``|``-joined when one phrase names several), and ``doc._.mentions`` the same
spans as tuples (:mod:`.mentions`).
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from evidence.vocabulary import VOCAB
from extraction.components.mentions import write_spans
from extraction.patterns import DEFAULT_FILES, Rule, load_rules
from extraction.token_rules import TokenRules

SPAN_KEY = "sarcoma"
_KINDS = (("HISTOTYPE", "histotypes"), ("AGENT", "agents"), ("ENDPOINT", "endpoints"))


def vocabulary_terms(kind: str) -> Iterable[tuple[str, str, bool]]:
    """(term, canonical id, case_sensitive) for every spelling of every entry of a vocabulary.

    >>> ("Yondelis", "trabectedin", False) in set(vocabulary_terms("agents"))
    True
    """
    table = getattr(VOCAB, kind)
    for e in table.values():
        seen: set[str] = set()
        for term in (e.id.replace("_", " "), e.label, *e.synonyms, *e.brands, *e.codes):
            for t in (term, term + "s") if not term.endswith("s") and len(term) > 4 else (term,):
                if t.lower() not in seen:
                    seen.add(t.lower())
                    yield t, e.id, False
        for a in e.abbreviations:
            yield a, e.id, True


class EntityRecognizer:
    """Match vocabulary terms and pattern rules into ``doc.spans[span_key]``."""

    def __init__(self, nlp: Language, name: str, pattern_files: list[str], span_key: str) -> None:
        self.name = name
        self.span_key = span_key
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._token_rules: list[tuple[int, list[dict]]] = []
        self.rule_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.rule_orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._ids: dict[int, tuple[str, str]] = {}
        for label, kind in _KINDS:
            by_key: dict[tuple[str, bool], list[str]] = {}
            for term, cid, cs in vocabulary_terms(kind):
                by_key.setdefault((cid, cs), []).append(term)
            for (cid, cs), terms in by_key.items():
                key = f"{label}|{cid}|{int(cs)}"
                self._ids[nlp.vocab.strings.add(key)] = (label, cid)
                docs = [nlp.make_doc(t) for t in terms]
                (self.orth if cs else self.lower).add(key, docs)
        for i, rule in enumerate(load_rules(pattern_files)):
            self._add_rule(nlp, i, rule)
        self.matcher = TokenRules(self._token_rules)

    def _add_rule(self, nlp: Language, i: int, rule: Rule) -> None:
        key = f"RULE{i}|{rule.label}|{rule.id}"
        match_id = nlp.vocab.strings.add(key)
        self._ids[match_id] = (rule.label, rule.id)
        words = phrase_words(rule.pattern)
        if words is None:
            self._token_rules.append((match_id, list(rule.pattern)))
            return
        attr, toks = words
        doc = Doc(nlp.vocab, words=toks)
        (self.rule_lower if attr == "LOWER" else self.rule_orth).add(key, [doc])

    def __call__(self, doc: Doc) -> Doc:
        write_spans(doc, self.span_key, find_entities(
            doc, (self.matcher, self.rule_orth, self.rule_lower, self.orth, self.lower), self._ids))
        return doc


def phrase_words(pattern: tuple[dict, ...]) -> tuple[str, list[str]] | None:
    """``("LOWER", words)`` when a token pattern is a plain phrase (compiled to a fast PhraseMatcher).

    >>> phrase_words(({"LOWER": "free"}, {"LOWER": "of"}))
    ('LOWER', ['free', 'of'])
    """
    attrs = {next(iter(t)) for t in pattern if len(t) == 1}
    if len(attrs) != 1 or any(len(t) != 1 for t in pattern):
        return None
    attr = attrs.pop()
    if attr not in ("LOWER", "ORTH") or not all(isinstance(t[attr], str) for t in pattern):
        return None
    return attr, [t[attr] for t in pattern]


def find_entities(doc: Doc, matchers: tuple, ids: dict[int, tuple[str, str]]) -> list[Span]:
    """All matches as labelled spans, overlaps resolved longest-first (then earliest; rules win ties).

    The selection is :func:`spacy.util.filter_spans`'s, done on ``(start, end, match_id)`` tuples so
    that only the kept matches become :class:`~spacy.tokens.Span` objects.
    """
    # longest first, then earliest, then in matcher order (-i: a stable sort on an explicit key)
    found = [(end - start, -start, -i, start, end, match_id)
             for i, (match_id, start, end) in enumerate(t for m in matchers for t in m(doc))]
    found.sort(reverse=True)
    kept = []
    seen: set[int] = set()
    for _n, _s, _i, start, end, match_id in found:
        if start not in seen and end - 1 not in seen:
            kept.append((start, end, match_id))
            seen.update(range(start, end))
    kept.sort()  # kept spans do not overlap: their starts differ
    strings = doc.vocab.strings
    spans = []
    for start, end, match_id in kept:
        label, cid = ids[match_id]
        spans.append(Span(doc, start, end, label=strings.add(label), kb_id=strings.add(cid)))
    return spans


@Language.factory("sarcoma_entities", default_config={"pattern_files": list(DEFAULT_FILES),
                                                      "span_key": SPAN_KEY},
                  assigns=["doc.spans", "doc._.mentions"])
def make_entity_recognizer(nlp: Language, name: str, pattern_files: list[str],
                           span_key: str) -> EntityRecognizer:
    """Factory of :class:`EntityRecognizer` (defaults live here only)."""
    return EntityRecognizer(nlp, name, pattern_files, span_key)
