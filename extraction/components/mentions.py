"""The entity spans of a span group also as plain tuples, kept beside the group (``doc._.mentions``).

``doc.spans[key]`` stores spans compactly and builds a new :class:`~spacy.tokens.Span` object, with
its token lookups, each time it is read; the components after entity recognition read every mention
of every document, so the writers of the group also keep ``doc._.mentions[key]``: a list of
``(start_char, end_char, label, kb_id)`` in the group's order. :func:`read_mentions` returns it while
it matches the group's length, and reads the group itself otherwise (a group replaced or extended by
code outside this package).

>>> import spacy
>>> nlp = spacy.blank("en")
>>> doc = nlp("Eribulin versus dacarbazine")
>>> write_spans(doc, "k", [Span(doc, 0, 1, label="AGENT", kb_id="eribulin")])
>>> read_mentions(doc, "k")
[(0, 8, 'AGENT', 'eribulin')]
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc, Span

#: ``(start_char, end_char, label, kb_id)`` of one span.
MentionTuple = tuple[int, int, str, str]

if not Doc.has_extension("mentions"):
    Doc.set_extension("mentions", default=None)


def write_spans(doc: Doc, key: str, spans: Sequence[Span]) -> None:
    """Set ``doc.spans[key]`` to ``spans`` and ``doc._.mentions[key]`` to their tuples."""
    doc.spans[key] = list(spans)
    store = dict(doc._.mentions or {})
    store[key] = [(s.start_char, s.end_char, s.label_, s.kb_id_) for s in spans]
    doc._.mentions = store


def read_mentions(doc: Doc, key: str) -> list[MentionTuple]:
    """The tuples of ``doc.spans[key]`` (empty when there is no such group), in the group's order."""
    if key not in doc.spans:
        return []
    group = doc.spans[key]
    kept = (doc._.mentions or {}).get(key)
    if kept is not None and len(kept) == len(group):
        return list(kept)
    return [(s.start_char, s.end_char, s.label_, s.kb_id_) for s in group]
