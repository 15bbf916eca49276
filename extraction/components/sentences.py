"""Sentence boundaries as a spaCy component (the rules live in :mod:`extraction.sentences`)."""

from __future__ import annotations

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from extraction.components.tokenizer import doc_text
from extraction.sentences import split_sentences

if not Doc.has_extension("sentences"):
    Doc.set_extension("sentences", default=None)


class SentenceSplitter:
    """Set ``token.is_sent_start`` and ``doc._.sentences`` (a list of ``(start, end)`` offsets)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        spans = split_sentences(doc_text(doc))
        doc._.sentences = spans
        if len(doc):
            # one array write: setting token.is_sent_start one by one is quadratic in spaCy
            idx = doc.to_array("IDX")  # token start offsets, strictly increasing
            starts = numpy.array([s for s, _ in spans], dtype=idx.dtype)
            pos = numpy.searchsorted(idx, starts)
            pos = pos[pos < len(idx)]  # starts are sorted, so the dropped ones are the last
            flags = numpy.full((len(doc), 1), -1, dtype="int64")
            flags[pos[idx[pos] == starts[:len(pos)]]] = 1
            flags[0] = 1
            doc.from_array([SENT_START], flags.astype("uint64"))
        return doc


@Language.factory("sarcoma_sentences", assigns=["token.is_sent_start", "doc._.sentences"])
def make_sentence_splitter(nlp: Language, name: str) -> SentenceSplitter:
    """Factory of :class:`SentenceSplitter`."""
    return SentenceSplitter(name)
