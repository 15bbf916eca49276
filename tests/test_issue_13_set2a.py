"""Issue 13, second held-out set (part a): grammars of real abstracts that the rules missed.

One test per grammar, in our own invented words and numbers (never a real abstract's sentences): sentences
glued together without a space, a label whose definition ends at such a glued period, a previous treatment
named by ``intolerant of``, and performance-status levels beside the medians of each level.
"""

import pytest

from extraction.components.abbreviations import find_label_definitions
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline
from extraction.sentences import split_sentences


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:00000000abcd", source_file="t.txt")
    return extract_document(nlp, doc)


def _pieces(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_period_glued_to_the_next_capitalised_word_ends_a_sentence():
    text = "Toxicity was mild.Median PFS was 3.5 months (range 1.2-9.0).Nine patients responded."
    assert _pieces(text) == ["Toxicity was mild.", "Median PFS was 3.5 months (range 1.2-9.0).",
                             "Nine patients responded."]


@pytest.mark.parametrize("text", ["Seen in the U.S.Army cohort.", "Dose 2.5 mg.", "See e.g.Table 2 below.",
                                  "Smith et al.Nature reported it."])
def test_glued_period_keeps_initials_decimals_and_abbreviations_whole(text):
    assert _pieces(text) == [text]


def test_label_definition_stops_at_a_glued_sentence_end():
    text = "Group A received alphamab 10 mg.Group B received 5 mg.Later, 30% had surgery."
    spans = [(text.index("alphamab"), text.index("alphamab") + 8, "alphamab"),
             (text.index("surgery"), text.index("surgery") + 7, "surgery")]
    assert find_label_definitions(text, spans) == {"Group A": "alphamab"}


def test_intolerant_of_names_a_previous_treatment_not_an_arm(nlp):
    recs = _recs(nlp, "Regorafenib versus placebo in GIST refractory to or intolerant of imatinib and sunitinib",
                 "Patients were randomized 2:1 to regorafenib or placebo. "
                 "Median PFS was 150 versus 40 days (P<0.001).")
    assert {(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs
            if r["measure"] == "median"} == {("intervention", 150, "regorafenib", "placebo"),
                                             ("comparator", 40, "regorafenib", "placebo")}


def test_performance_status_levels_are_labels_not_medians(nlp):
    recs = _recs(nlp, "Second-line trabectedin in leiomyosarcoma: a single-centre experience",
                 "Forty patients received trabectedin. Median OS by performance status was: PS 0, 15.5 months "
                 "[95% CI, 9.1-21.9]; PS 1, 7.3 months [95% CI, 4.4-10.2]; and PS ≥2, 3.8 months.")
    values = sorted(r["value"] for r in recs if r["endpoint"] == "OS" and r["measure"] == "median")
    assert values == [3.8, 7.3, 15.5]


def test_muramyl_tripeptide_is_an_agent(nlp):
    recs = _recs(nlp, "Liposomal MTP-PE versus observation after surgery for osteosarcoma: a randomised trial",
                 "Patients were randomly assigned to liposomal MTP-PE or observation. "
                 "Median EFS was 30.2 versus 18.4 months (HR 0.70; 95% CI 0.52-0.94).")
    assert {r["intervention"] for r in recs} == {"mifamurtide"}
    assert {(r["arm"], r["value"]) for r in recs if r["measure"] == "median"} == {
        ("intervention", 30.2), ("comparator", 18.4)}


def test_capitalised_word_landmark_opens_a_sentence(nlp):
    recs = _recs(nlp, "Alphamab plus chemotherapy versus chemotherapy in Ewing sarcoma: a randomised trial",
                 "Patients were randomly assigned to chemotherapy with or without alphamab. "
                 "Three-year EFS was 61% with alphamab versus 47% without.")
    assert {(r["arm"], r["value"], r["timepoint_months"]) for r in recs if r["measure"] == "rate"} == {
        ("intervention", 0.61, 36.0), ("comparator", 0.47, 36.0)}


def test_ratio_keeps_its_p_value_and_the_ci_written_after_it(nlp):
    recs = _recs(nlp, "Alphamab plus chemotherapy versus chemotherapy in Ewing sarcoma: a randomised trial",
                 "Patients were randomly assigned to chemotherapy with or without alphamab. "
                 "Three-year EFS was 61% with alphamab versus 47% without (relative risk for alphamab, 0.81; "
                 "P = .31; 95% CI, 0.55-1.4).")
    (rr,) = [r for r in recs if r["measure"] == "RR"]
    assert (rr["value"], rr["ci_low"], rr["ci_high"], rr["p_value"]) == (0.81, 0.55, 1.4, 0.31)
    assert all(r["p_value"] is None for r in recs if r["measure"] == "rate")
