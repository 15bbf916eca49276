"""Prognostic-factor statements as a spaCy component (after ``sarcoma_statistics``).

Reads each sentence with :func:`extraction.prognostic.prognostic_statistics`; a sentence it reads is claimed: the
treatment values ``sarcoma_statistics`` put in ``doc._.statistics`` from that sentence are replaced by the
prognostic ones (a factor's levels are not treatment arms).
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from extraction.components.statistics import doc_mentions
from extraction.components.tokenizer import doc_text, release_text
from extraction.numbers import normalize
from extraction.prognostic import prognostic_statistics
from extraction.sentences import split_sentences

#: Local treatments that prognostic statements name as part of a factor ("R1 resection", "after radiotherapy").
LOCAL_TREATMENTS = frozenset({"surgery", "radiotherapy"})


class PrognosticReader:
    """Add prognostic statistics to ``doc._.statistics`` and drop treatment values of claimed sentences."""

    def __init__(self, name: str, span_key: str) -> None:
        self.name = name
        self.span_key = span_key

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)  # the kept text: ``doc.text`` would rebuild it from every token
        release_text(doc)  # the last component: serialised Docs stay small
        sentences = doc._.sentences if doc._.sentences is not None else split_sentences(text)
        mentions = doc_mentions(doc, self.span_key)
        # a drug named in a sentence makes it a treatment statement; the resection in "R0 resection" does not
        agents = [(s, e) for s, e, label, ids in mentions if label == "AGENT" and not set(ids) <= LOCAL_TREATMENTS]
        trial = doc._.trial or {}
        compares = len(trial.get("arms") or []) >= 2 and not trial.get("single_arm")
        stats, claimed = prognostic_statistics(text, normalize(text), sentences, agent_spans=agents,
                                               compares_treatments=compares)
        if claimed:
            kept = [st for st in (doc._.statistics or []) if st["char_start"] not in claimed]
            doc._.statistics = kept + stats
        return doc


@Language.factory("sarcoma_prognostic", default_config={"span_key": "sarcoma"}, assigns=["doc._.statistics"])
def make_prognostic_reader(nlp: Language, name: str, span_key: str) -> PrognosticReader:
    """Factory of :class:`PrognosticReader`."""
    return PrognosticReader(name, span_key)
