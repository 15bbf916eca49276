"""Issue 13, held-out arms: documents whose arms the extractor did not find, or found inverted. One test per
grammar, each in our own invented words and numbers around the pattern (never a published abstract's
sentences): arms named by a bracketed role after their description, a regimen's phases joined by
``followed by``, a meta-analysis naming no agent, supportive care given to both arms of a placebo-controlled
trial, and a population bounded by a time threshold."""

import pytest

from extraction.arms import parse_arms
from extraction.components.abbreviations import find_definitions
from extraction.extract import SimpleDocument, extract_document
from extraction.numbers import find_p_values
from extraction.pipeline import build_pipeline
from extraction.study import design_of


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0a1b2c3d4e5f", source_file="t.txt")
    return extract_document(nlp, doc)


def _rows(recs):
    return {(r["endpoint"], r["measure"], r["arm"], round(r["value"], 4)) for r in recs}


def test_roles_in_brackets_after_each_arm_and_an_arm_that_stops_treatment(nlp):
    recs = _recs(nlp, "Maintenance therapy in children with high-risk Ewing sarcoma: final results of a trial",
                 "After induction, 240 children were randomly assigned to either stop all therapy (standard arm) "
                 "or receive eight cycles of irinotecan (40 mg/m2) on days 1 to 5 plus oral temozolomide "
                 "(90 mg/m2; experimental arm). The 5-year EFS was 48.2% (95% CI, 40 to 56) in the standard arm "
                 "versus 61.4% (95% CI, 53.0 to 68.8) in the experimental arm (P 5 .031).")
    assert _rows(recs) == {("EFS", "rate", "comparator", 0.482), ("EFS", "rate", "intervention", 0.614)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("irinotecan+temozolomide", "observation")}
    assert {(r["p_value"], r["p_relation"]) for r in recs} == {(0.031, "=")}


def test_p_printed_with_a_five_for_the_equals_sign_only_before_a_bare_decimal():
    assert [(p.value, p.relation) for p in find_p_values("(P 5 .0071)")] == [(0.0071, "=")]
    assert find_p_values("P 5 0.02") == []  # a 5 before a number printed with its leading zero is no '='
    assert find_p_values("P5 .02") == []


def test_phases_of_one_regimen_joined_by_followed_by():
    t = "Trabectedin combined with gemcitabine followed by trabectedin maintenance in sarcoma"
    ms = [(0, 11, "AGENT", ("trabectedin",)), (26, 37, "AGENT", ("gemcitabine",)),
          (50, 61, "AGENT", ("trabectedin",))]
    assert parse_arms(t, ms) == [frozenset({"gemcitabine", "trabectedin"})]


def test_a_multicentre_retrospective_observational_study_is_one_population(nlp):
    assert design_of("Drug therapy in sarcoma", "This was a two-centre, retrospective, observational study.") \
        == "observational"
    recs = _recs(nlp, "Trabectedin Combined with Gemcitabine Followed by Trabectedin Maintenance in Leiomyosarcoma",
                 "This is a multicentre, retrospective, observational study of 31 patients treated with "
                 "trabectedin combined with gemcitabine followed by trabectedin maintenance. The objective "
                 "response rate was 29.0% and the median PFS was 6.2 months (95% CI, 4.4-7.9 months).")
    assert _rows(recs) == {("ORR", "rate", "single", 0.29), ("PFS", "median", "single", 6.2)}
    assert {r["intervention"] for r in recs} == {"gemcitabine+trabectedin"}
    assert {r["n"] for r in recs} == {31}


def test_a_meta_analysis_naming_no_agent_compares_treatment_with_control(nlp):
    recs = _recs(nlp, "Third-line treatment of advanced sarcoma: a systematic review and meta-analysis",
                 "We pooled 7 randomised trials; the odds ratio (OR) for response rate (RR) was computed. "
                 "The pooled HR for death was 0.86 (95% CI 0.77-0.96). Third-line treatment lowered the risk of "
                 "progression (HR = 0.62, 95% CI 0.45-0.85). RR with the newer regimens rose from 3.1% to "
                 "8.4% (OR = 2.05, 95% CI 1.30-3.21).")
    assert _rows(recs) == {("OS", "HR", "contrast", 0.86), ("PFS", "HR", "contrast", 0.62),
                           ("ORR", "OR", "contrast", 2.05), ("ORR", "rate", "comparator", 0.031),
                           ("ORR", "rate", "intervention", 0.084)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {(None, None)}


def test_supportive_care_given_to_both_arms_beside_a_placebo_is_no_backbone(nlp):
    recs = _recs(nlp, "Pazopanib in leiomyosarcoma after failure of doxorubicin and ifosfamide: a phase III trial",
                 "Background Pazopanib (PAZ) was studied after failure of doxorubicin and ifosfamide. Methods "
                 "Eligible patients were randomized to best supportive care plus either PAZ 800 mg daily or "
                 "placebo (PBO), two to one. Results We randomized 174 pts (PAZ: 116, PBO: 58). Median PFS was "
                 "5.3 mo for PAZ vs. 1.4 mo for PBO.")
    assert _rows(recs) == {("PFS", "median", "intervention", 5.3), ("PFS", "median", "comparator", 1.4)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("pazopanib", "placebo")}
    assert {(r["arm"], r["n"]) for r in recs} == {("intervention", 116), ("comparator", 58)}  # sizes after a colon


def test_a_blank_line_bounds_a_short_forms_definition():
    t = "Drug A after failure of gemcitabine and docetaxel\n\nBackground Pazopanib (PAZ) was given."
    spans = [(24, 35, "gemcitabine"), (40, 49, "docetaxel"), (62, 71, "pazopanib")]
    assert find_definitions(t, spans) == {"PAZ": "pazopanib"}


def test_a_time_threshold_that_bounds_a_population_is_no_median(nlp):
    recs = _recs(nlp, "Eribulin versus placebo in leiomyosarcoma: a randomised trial",
                 "Patients were randomly assigned to eribulin or placebo. Median OS was 13.7 months with eribulin "
                 "and 8.6 months with placebo. Among patients with a PFS of 5 months or longer, median OS was "
                 "21.9 months with eribulin.")
    assert 5.0 not in {r["value"] for r in recs}
    assert ("OS", "median", "intervention", 13.7) in _rows(recs)
