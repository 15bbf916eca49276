"""doc._.mentions: the entity span group as tuples, and its fallback to the group itself."""

from spacy.tokens import Span

from extraction.components.mentions import read_mentions, write_spans
from extraction.pipeline import build_pipeline


def _group_tuples(doc, key):
    return [(s.start_char, s.end_char, s.label_, s.kb_id_) for s in doc.spans[key]]


def test_pipeline_mentions_equal_the_span_group():
    nlp = build_pipeline()
    text = ("Gemcitabine plus docetaxel (GD) versus gemcitabine alone in leiomyosarcoma (SARC002). "
            "Median PFS was 6.2 months with GD and 3.0 months with gemcitabine (HR 0.65; p=0.02).")
    doc = nlp.make_doc(text)
    for name, proc in nlp.pipeline[:-1]:
        doc = proc(doc)
        if name != "sarcoma_sentences":
            assert doc._.mentions["sarcoma"] == _group_tuples(doc, "sarcoma")
    assert any(label == "AGENT" and text[s:e] == "GD" for s, e, label, _ in read_mentions(doc, "sarcoma"))


def test_a_group_changed_outside_the_writers_is_read_from_the_group():
    nlp = build_pipeline()
    doc = nlp.make_doc("Eribulin versus dacarbazine in liposarcoma")
    write_spans(doc, "k", [Span(doc, 0, 1, label="AGENT", kb_id="eribulin")])
    doc.spans["k"].append(Span(doc, 2, 3, label="AGENT", kb_id="dacarbazine"))
    assert read_mentions(doc, "k") == [(0, 8, "AGENT", "eribulin"), (16, 27, "AGENT", "dacarbazine")]
    doc.spans["k"] = []
    assert read_mentions(doc, "k") == []
    assert read_mentions(doc, "missing") == []
