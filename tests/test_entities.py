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
