"""Issue 13, "respectively" lists spread over several endpoints and arms, with arms that differ only in how
one regimen is given (``trt 1`` / ``trt 2``). Invented words and numbers around each pattern: one regimen
given two ways, each way labelled; endpoint values listed per arm in turn; a list of p values closed by
*respectively*; patient counts in words with hundreds; the share of patients surviving."""

import pytest

from extraction.components.abbreviations import shared_regimen_labels
from extraction.context import digits_for_number_words
from extraction.extract import SimpleDocument, extract_document
from extraction.numbers import find_p_values
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0a1b2c3d4e5f", source_file="t.txt")
    return extract_document(nlp, doc)


_TITLE = "Two ways of giving a four-drug regimen to patients with localized rhabdomyosarcoma"
_METHODS = ("One hundred and sixty patients were randomized to receive vincristine, dactinomycin, "
            "cyclophosphamide and doxorubicin by either a dose-dense short course (treatment [trt] 1) or a "
            "standard long course (trt 2). ")


def test_one_regimen_two_ways_each_labelled_with_a_short_form():
    text = ("allocated to alphamab and betacin by either a weekly method (treatment [trt] 1) or a monthly "
            "method (trt 2).")
    labels = shared_regimen_labels(text, [(13, 21, "alphamab"), (26, 33, "betacin")])
    assert labels["trt 1"] == labels["treatment 1"] == "alphamab+betacin+~weekly method"
    assert labels["trt 2"] == "alphamab+betacin+~monthly method"
    # agents named between the alternatives: a choice of agents, not one regimen given two ways
    assert shared_regimen_labels("to receive X by either alphamab weekly (arm A) or betacin monthly (arm B)",
                                 [(24, 32, "alphamab"), (54, 61, "betacin")]) == {}


def test_endpoint_values_listed_per_arm_in_turn_with_a_p_list(nlp):
    recs = _recs(nlp, _TITLE, _METHODS + "At 4 years, the estimated shares of patients who were event-free, "
                 "relapse-free and surviving were 61%, 66% and 80% for trt 1 and 44%, 52% and 71% for trt 2 "
                 "(P = .01, .04, and .09, respectively).")
    got = {(r["endpoint"], r["arm"], round(r["value"], 2), r["p_value"], r["timepoint_months"]) for r in recs}
    assert got == {("EFS", "intervention", 0.61, 0.01, 48), ("RFS", "intervention", 0.66, 0.04, 48),
                   ("OS", "intervention", 0.8, 0.09, 48), ("EFS", "comparator", 0.44, 0.01, 48),
                   ("RFS", "comparator", 0.52, 0.04, 48), ("OS", "comparator", 0.71, 0.09, 48)}
    regimen = "cyclophosphamide+dactinomycin+doxorubicin+vincristine"
    assert {(r["intervention"], r["comparator"]) for r in recs} == {(regimen, regimen)}


def test_two_endpoints_per_arm_without_respectively_the_later_arm_first(nlp):
    recs = _recs(nlp, _TITLE, _METHODS + "The 3-year event-free and overall survival rates were 50% and 70% "
                 "for trt 2, and 62% and 79% for trt 1.")
    got = {(r["endpoint"], r["arm"], round(r["value"], 2)) for r in recs}
    assert got == {("EFS", "comparator", 0.5), ("OS", "comparator", 0.7),
                   ("EFS", "intervention", 0.62), ("OS", "intervention", 0.79)}


def test_a_p_list_needs_respectively():
    assert [p.value for p in find_p_values("(P = .01, .04, and .09, respectively)")] == [0.01, 0.04, 0.09]
    assert [p.value for p in find_p_values("(P = .01), .04 of them")] == [0.01]
    assert [p.value for p in find_p_values("P = .01, .04 and .09 in three strata")] == [0.01]


def test_counts_in_words_with_hundreds():
    assert digits_for_number_words("Two hundred six eligible patients").startswith("206 ")
    assert digits_for_number_words("One hundred and sixty patients").startswith("160 ")
    assert digits_for_number_words("Four hundred patients").startswith("400 ")


def test_surviving_names_overall_survival_but_the_surviving_patients_do_not(nlp):
    recs = _recs(nlp, "A single-arm phase II study of alphamab in patients with synovial sarcoma",
                 "Forty patients received alphamab. The share of patients surviving at 2 years was 55%. "
                 "Of the surviving patients, 30% had a partial response.")
    got = {(r["endpoint"], r["measure"], round(r["value"], 2), r["timepoint_months"]) for r in recs}
    assert ("OS", "rate", 0.55, 24) in got
    assert not any(r["endpoint"] == "OS" and round(r["value"], 2) == 0.3 for r in recs)


def test_each_arm_named_before_its_own_values(nlp):
    recs = _recs(nlp, _TITLE, _METHODS + "The 3-year event-free and overall survival rates were: for trt 2, "
                 "50% and 70%; for trt 1, 62% and 79%.")
    got = {(r["endpoint"], r["arm"], round(r["value"], 2)) for r in recs}
    assert got == {("EFS", "comparator", 0.5), ("OS", "comparator", 0.7),
                   ("EFS", "intervention", 0.62), ("OS", "intervention", 0.79)}


def test_a_value_compared_in_a_later_sentence_is_a_subgroups_not_a_restatement(nlp):
    recs = _recs(nlp, "Eribulin in pretreated soft-tissue sarcoma: a retrospective series",
                 "We reviewed 80 consecutive patients treated with eribulin. The median PFS and OS were 4.2 months "
                 "and 11.5 months, respectively. Patients with lung-only disease had a longer median PFS "
                 "(4.2 months vs. 2.9 months) than those with other sites. The median PFS of 4.2 months "
                 "compares well with earlier series.")
    pfs = sorted(r["value"] for r in recs if r["endpoint"] == "PFS" and r["measure"] == "median")
    assert pfs == [2.9, 4.2, 4.2]  # the overall median once, both subgroups' medians; the last line restates
