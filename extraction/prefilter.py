"""A fast sarcoma pre-filter, so only relevant abstracts pay for the full spaCy pipeline.

At PubMed scale (~36 million abstracts, ~1–2 % about sarcoma) the pipeline must not see most of the
input. :func:`is_relevant` decides from the title, the abstract and the MeSH descriptors with three
rules, in this order (cheapest first):

1. the text contains ``sarcoma`` anywhere, case-insensitively (``leiomyosarcoma``, ``carcinosarcoma``,
   ``Ewing's sarcoma`` …) — most relevant abstracts stop here;
2. the text names a histotype of the vocabulary (``evidence/vocab/histotypes.jsonl``: id, label and
   synonyms, with the normaliser's spelling folds: any case, optional hyphen or space between words,
   tumour/tumor, haem/hem, a plural ``s``), e.g. *gastro-intestinal stromal tumours*, *desmoid-type
   fibromatosis*, *solitary fibrous tumor*, *PEComa*; the terms form one compiled regular expression,
   factored as a trie (an Aho-Corasick-like alternation), so matching costs one pass over the text;
   or one of the vocabulary's unambiguous abbreviations, case-sensitively (``GIST``, ``MPNST``,
   ``DFSP``; short or ambiguous ones such as ``STS`` or ``LPS`` are left out, see
   :data:`AMBIGUOUS_ABBREVIATIONS`);
3. a MeSH descriptor is in ``prefilter_mesh.txt`` (``Soft Tissue Neoplasms``, ``Gastrointestinal
   Stromal Tumors``, ``Fibromatosis, Aggressive`` …) or matches rule 1 or 2.

The filter is built for recall: a false positive costs one pipeline call (~10 ms), a false negative
loses evidence.

>>> is_relevant("Pazopanib in advanced GIST", "", [])
True
>>> is_relevant("Statins after myocardial infarction", "Mortality fell by 12%.", ["Myocardial Infarction"])
False
>>> is_relevant("A phase 2 trial", "Patients with desmoid-type fibromatosis received sorafenib.", None)
True
>>> is_relevant("Outcomes of treatment", "Results in 40 patients.", ["Soft Tissue Neoplasms"])
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from evidence.vocabulary import VOCAB

__all__ = ["AMBIGUOUS_ABBREVIATIONS", "document_is_relevant", "is_relevant", "sarcoma_mesh", "term_pattern"]

#: Abbreviations of the vocabulary too ambiguous in general biomedical text to mark an abstract on
#: their own (the abstracts that use them also spell the term out, which rule 2 matches):
#: LPS lipopolysaccharide, STS Society of Thoracic Surgeons, UPS ubiquitin-proteasome system,
#: RMS root mean square, SFT/KS/CCS/EMC/EWS/MLS/DDL/WDL many meanings, ARMS treatment arms,
#: PNET pancreatic neuroendocrine tumour, TGCT testicular germ cell tumour, LMS learning management.
AMBIGUOUS_ABBREVIATIONS = frozenset({"LPS", "STS", "UPS", "RMS", "SFT", "KS", "CCS", "EMC", "EWS", "MLS", "DDL",
                                     "WDL", "ARMS", "PNET", "TGCT", "LMS", "SyS", "MFH", "MRCL"})
# Words are joined by an optional run of these (the separators :func:`evidence.vocabulary.fold` drops).
_SEP = r"[\s\-‐-―'’.,/()_]*"
_SEP_MARK = "\x00"
# Tokens for the gates: punctuation to spaces, then str.split (3x faster than re.findall over words).
_PUNCT = "".join(c for c in map(chr, range(128)) if not c.isalnum()) + "\u00a0«»·‐‑‒–—―‘’“”…−"
_SPLIT = str.maketrans(dict.fromkeys(_PUNCT, " "))


def _variants(term: str) -> set[str]:
    """Spellings of ``term`` to match: folded case, words joined by a separator mark, UK/US forms."""
    t = term.casefold().replace("’", "'").replace("'s ", " ").replace("tumour", "tumor").replace("haem", "hem")
    words = [w for w in re.split(r"[\s\-‐-―'.,/()_]+", t) if w]
    if not words:
        return set()
    base = _SEP_MARK.join(words)
    out = {base}
    for us, uk in (("tumor", "tumour"), ("hem", "haem")):
        out |= {v.replace(us, uk) for v in out}
    return out


def _trie_regex(strings: Iterable[str]) -> str:
    """One regular expression matching exactly ``strings``, factored by common prefixes (a trie)."""
    trie: dict[str, Any] = {}
    for s in strings:
        node = trie
        for ch in s:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = []
        for ch in sorted(k for k in node if k):
            head = _SEP if ch == _SEP_MARK else re.escape(ch)
            branches.append(head + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # the string may also end here
            body = "(?:" + body + ")?"
        return body

    return emit(trie)


class _Matcher(NamedTuple):
    """Rule 2, built once: the two expressions and the token gates that spare most texts from them."""

    terms: re.Pattern[str]
    abbreviations: re.Pattern[str]
    term_gate: frozenset[str]  # every token a term match can start with (lower case)
    abbreviation_gate: frozenset[str]  # the same for abbreviations (lower case; the regex checks the case)


def _first_tokens(variant: str) -> set[str]:
    """Tokens a match of ``variant`` can start with: its first word, or its first words run together
    when the text drops the separators (``gastrointestinal``), or the whole term plus a plural."""
    words = variant.split(_SEP_MARK)
    joined = ["".join(words[:k]) for k in range(1, len(words) + 1)]
    return {*joined, joined[-1] + "s", joined[-1] + "es"}


@cache
def _matcher() -> _Matcher:
    variants: set[str] = set()
    for entry in VOCAB.histotypes.values():
        abbreviations = {a.casefold() for a in entry.abbreviations}
        for term in (entry.id.replace("_", " "), entry.label, *entry.synonyms):
            if "sarcoma" in term.casefold():  # rule 1 finds these already
                continue
            if term.casefold() not in abbreviations:  # ``gist`` is a word; GIST is matched as written
                variants |= _variants(term)
    abbrevs = {a for e in VOCAB.histotypes.values() for a in e.abbreviations
               if a not in AMBIGUOUS_ABBREVIATIONS and len(a) >= 3}
    alternation = "|".join(sorted(map(re.escape, abbrevs), key=lambda a: (-len(a), a)))
    return _Matcher(
        terms=re.compile(r"(?<![^\W_])" + _trie_regex(variants) + r"(?:e?s)?(?![^\W_])"),
        abbreviations=re.compile(r"(?<![^\W_])(?:" + alternation + r")s?(?![^\W_])"),
        term_gate=frozenset(t for v in variants for t in _first_tokens(v)),
        abbreviation_gate=frozenset(t.lower() for a in abbrevs for t in _first_tokens(
            _SEP_MARK.join(a.lower().translate(_SPLIT).split()))))


def term_pattern() -> re.Pattern[str]:
    """The compiled histotype-term expression of rule 2 (a trie over the folded variants; it expects
    lower-cased text).

    >>> bool(term_pattern().search("imatinib in gastro-intestinal stromal tumours"))
    True
    """
    return _matcher().terms


@cache
def sarcoma_mesh() -> frozenset[str]:
    """The casefolded MeSH descriptor names of ``prefilter_mesh.txt`` (rule 3)."""
    text = (resources.files("extraction") / "prefilter_mesh.txt").read_text(encoding="utf-8")
    return frozenset(ln.strip().casefold() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))


def _text_matches(text: str) -> bool:
    low = text.lower()
    if "sarcoma" in low:
        return True
    m = _matcher()
    tokens = set(low.translate(_SPLIT).split())
    if not m.term_gate.isdisjoint(tokens) and m.terms.search(low):
        return True
    return not m.abbreviation_gate.isdisjoint(tokens) and m.abbreviations.search(text) is not None


def is_relevant(title: str | None, text: str | None, mesh: Iterable[str] | None = None) -> bool:
    """Whether an article may report sarcoma evidence and should go through the pipeline.

    Parameters
    ----------
    title : str or None
        The article title.
    text : str or None
        The abstract (or the whole document text; a PubMed ``Document.text`` starts with the title).
    mesh : iterable of str, optional
        MeSH descriptor names (``Document.meta["mesh"]``), when the source has them.

    Returns
    -------
    bool
        True when the title, the text or a MeSH descriptor names a sarcoma (see the module docstring).

    Examples
    --------
    >>> is_relevant("Trabectedin versus dacarbazine in L-sarcomas", None)
    True
    >>> is_relevant("Logistic regression of gist-like features", "A statistics paper.", ())
    False
    """
    if _text_matches(title or "") or _text_matches(text or ""):
        return True
    for heading in mesh or ():
        if heading.strip().casefold() in sarcoma_mesh() or _text_matches(heading):
            return True
    return False


def document_is_relevant(document: Any) -> bool:
    """:func:`is_relevant` on a :class:`~extraction.ingest.Document` (title, text, ``meta["mesh"]``).

    >>> from extraction.extract import SimpleDocument
    >>> document_is_relevant(SimpleDocument(text="Eribulin in liposarcoma", source_id="file:0"))
    True
    """
    meta = getattr(document, "meta", None) or {}
    return is_relevant(getattr(document, "title", ""), getattr(document, "text", ""), meta.get("mesh"))
