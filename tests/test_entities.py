"""Entities from the vocabularies and pattern files, and arm abbreviations defined in the text."""

import json

import pytest
import spacy

from extraction.components.abbreviations import find_definitions
from extraction.patterns import PatternError, load_rules, parse_rules
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _ents(nlp, text):
    doc = nlp(text)
    return [(s.label_, s.text, s.kb_id_) for s in doc.spans["sarcoma"]]


def test_agents_inn_brand_code_abbreviation(nlp):
    ents = _ents(nlp, "Votrient and STI-571 were compared with Gleevec and DTIC.")
    ids = [e[2] for e in ents if e[0] == "AGENT"]
    assert ids == ["pazopanib", "imatinib", "imatinib", "dacarbazine"]


def test_abbreviations_are_case_sensitive(nlp):
    assert not [e for e in _ents(nlp, "the lms were low") if e[0] == "HISTOTYPE"]
    assert [e[2] for e in _ents(nlp, "in LMS") if e[0] == "HISTOTYPE"] == ["leiomyosarcoma"]


def test_histotypes_longest_match_and_multi_id(nlp):
    ents = _ents(nlp, "uterine LMS and L-sarcoma")
    assert ("HISTOTYPE", "uterine LMS", "uterine_leiomyosarcoma") in ents
    assert ("HISTOTYPE", "L-sarcoma", "leiomyosarcoma|liposarcoma") in ents


def test_distractor_wins_over_endpoint(nlp):
    labels = [(e[0], e[1]) for e in _ents(nlp, "the median duration of response was long")]
    assert ("NON_ENDPOINT", "duration of response") in labels


def test_trial_registry_phase_setting_line(nlp):
    ents = _ents(nlp, "The open-label phase II/III ZEPHYR trial (NCT01234567; EORTC 12345) of "
                      "first-line treatment for metastatic disease was randomized.")
    labels = {e[0] for e in ents}
    assert {"PHASE", "TRIAL", "REGISTRY", "LINE", "SETTING", "RANDOMIZED"} <= labels


def test_arm_abbreviation_defined_in_text(nlp):
    doc = nlp("Patients were assigned to gemcitabine plus docetaxel (GC) or to ifosfamide (IF). "
              "Median PFS was longer with GC than with IF.")
    later = [s for s in doc.spans["sarcoma"] if s.text in ("GC", "IF") and s.start_char > 80]
    assert [s.kb_id_ for s in later] == ["docetaxel+gemcitabine", "ifosfamide"]


def test_trial_name_in_parentheses_is_not_an_arm():
    t = "Drug versus placebo for desmoid tumors (ABC-123)"
    assert find_definitions(t, [(0, 4, "imatinib"), (12, 19, "placebo")], blockers=[24]) == {}


def test_pattern_loading_rejects_unknown_keys_and_labels():
    with pytest.raises(PatternError, match="allowed keys: label, id, literal, pattern, comment"):
        parse_rules([json.dumps({"label": "AGENT", "literal": "x", "pattern": [{"LOWER": "x"}], "foo": 1})], "t")
    with pytest.raises(PatternError, match="unknown label"):
        parse_rules([json.dumps({"label": "NOPE", "literal": "x", "pattern": [{"LOWER": "x"}]})], "t")


def test_every_bundled_rule_has_a_literal_and_a_valid_pattern():
    from spacy.matcher import Matcher

    rules = load_rules()
    assert rules and all(r.literal for r in rules)
    m = Matcher(spacy.blank("en").vocab)
    for i, r in enumerate(rules):
        m.add(str(i), [list(r.pattern)])


def _reference_matcher(nlp):
    """spaCy's Matcher over the non-phrase pattern rules (the path TokenRules replaced)."""
    from spacy.matcher import Matcher

    from extraction.components.entities import phrase_words

    ref = Matcher(nlp.vocab)
    for i, rule in enumerate(load_rules()):
        if phrase_words(rule.pattern) is None:
            ref.add(f"RULE{i}|{rule.label}|{rule.id}", [list(rule.pattern)])
    return ref


def _entity_texts():
    import glob
    import os
    import sys

    texts = []
    for pat in ("/work/shared/gold/*/*.txt", "/work/shared/seeds/*.txt"):
        for path in sorted(glob.glob(pat)):
            with open(path, encoding="utf-8", errors="replace") as fh:
                texts.append(fh.read())
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    try:
        from bench_extraction import corpus
    finally:
        sys.path.pop(0)
    texts += list(corpus(150))
    texts += ["The ABC DEF III trial, the SARC-D09 and SWOG S0346 studies (NCT01234567, ISRCTN1234567) "
              "in phase 1b/2, phase II / III and phase-3; the REGOSARC 2 study; GOG 0277 TRIAL; A B trial.",
              "EORTC 62072 PALETTE study and the ANNOUNCE trial; the ABC-123 XYZ trial; phase IIb/III."]
    return texts


def test_token_rules_give_the_matcher_spans(nlp):
    """TokenRules finds exactly the Matcher's matches, and the entity spans are unchanged."""
    from spacy.tokens import Span
    from spacy.util import filter_spans

    from extraction.components.entities import find_entities

    ent = nlp.get_pipe("sarcoma_entities")
    ref = _reference_matcher(nlp)
    texts = _entity_texts()
    assert len(texts) > 150
    for text in texts:
        doc = nlp.make_doc(text)
        assert sorted(ent.matcher(doc)) == sorted(ref(doc)), text[:80]
        others = (ent.rule_orth, ent.rule_lower, ent.orth, ent.lower)
        new = [(s.start, s.end, s.label_, s.kb_id_) for s in find_entities(doc, (ent.matcher, *others), ent._ids)]
        # the old path: spaCy's Matcher, a Span per match, spacy.util.filter_spans
        spans = [Span(doc, a, b, label=ent._ids[k][0], kb_id=ent._ids[k][1])
                 for m in (ref, *others) for k, a, b in m(doc)]
        old = [(s.start, s.end, s.label_, s.kb_id_) for s in filter_spans(spans)]
        assert new == old, text[:80]
