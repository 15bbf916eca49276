"""Issue 13, endpoints: how results name their endpoints in published abstracts. One test per grammar,
each in our own words and numbers around the pattern (invented trials; never an abstract's sentences)."""

import pytest

from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline

SINGLE = "Cabozantinib in advanced soft-tissue sarcoma: an open-label, single-arm phase II trial"
RCT = "Cabozantinib versus placebo after resection of soft-tissue sarcoma: a randomised phase II trial"


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, body, title=SINGLE):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0123456789ab", source_file="t.txt")
    return extract_document(nlp, doc)


def _keys(recs):
    return {(r["endpoint"], r["measure"], r["arm"], r["value"]) for r in recs}


def _one(recs, endpoint, measure, value):
    hits = [r for r in recs if (r["endpoint"], r["measure"], r["value"]) == (endpoint, measure, value)]
    assert len(hits) == 1, (endpoint, measure, value, _keys(recs))
    return hits[0]


PATIENTS = "A total of 90 patients were treated with cabozantinib. "


# -- class 1: values listed under several endpoints --------------------------------------------------------
def test_endpoint_list_counts_an_abbreviation_in_brackets_once(nlp):
    recs = _recs(nlp, PATIENTS + "The median progression-free survival (PFS) and overall survival (OS) were "
                                 "4.2 and 10 months, respectively.")
    assert _keys(recs) == {("PFS", "median", "single", 4.2), ("OS", "median", "single", 10.0)}


def test_endpoint_list_pairs_each_semicolon_clause_rates_included(nlp):
    recs = _recs(nlp, PATIENTS + "The PFR12 weeks, median PFS and OS were: 51%, 3.3 and 9 months for liposarcoma "
                                 "(n = 21); 62%, 4.4 and not reached for leiomyosarcoma (n = 30); and 40%, 2.1 and "
                                 "7.5 months for other sarcoma (n = 39), respectively.")
    assert _keys(recs) == {("PFS", "rate", "single", 0.51), ("PFS", "median", "single", 3.3),
                           ("OS", "median", "single", 9.0), ("PFS", "rate", "single", 0.62),
                           ("PFS", "median", "single", 4.4), ("PFS", "rate", "single", 0.4),
                           ("PFS", "median", "single", 2.1), ("OS", "median", "single", 7.5)}
    assert {r["timepoint_months"] for r in recs if r["measure"] == "rate"} == {2.77}


def test_two_medians_each_with_its_ci_and_one_unit_at_the_end(nlp):
    recs = _recs(nlp, PATIENTS + "Median PFS and OS were 6.1 (95%CI: 1.0-11.2) and 13.4 (95%CI: 2.5-24.3) "
                                 "months respectively.")
    pfs, os_ = _one(recs, "PFS", "median", 6.1), _one(recs, "OS", "median", 13.4)
    assert (pfs["ci_low"], pfs["ci_high"], pfs["unit"]) == (1.0, 11.2, "months")
    assert (os_["ci_low"], os_["ci_high"]) == (2.5, 24.3)


def test_endpoint_list_linked_by_a_verb_without_respectively(nlp):
    recs = _recs(nlp, PATIENTS + "Median PFS and OS were 5.3 and 14.9 months.")
    assert _keys(recs) == {("PFS", "median", "single", 5.3), ("OS", "median", "single", 14.9)}


def test_endpoint_list_with_one_comparison_per_endpoint(nlp):
    recs = _recs(nlp, "A total of 120 patients were randomly assigned. Median PFS and OS were 6.0 versus 4.1 "
                      "months and 15.2 versus 11.7 months.", title=RCT)
    assert _keys(recs) == {("PFS", "median", "intervention", 6.0), ("PFS", "median", "comparator", 4.1),
                           ("OS", "median", "intervention", 15.2), ("OS", "median", "comparator", 11.7)}


def test_endpoint_list_without_respectively_needs_as_many_values_as_endpoints(nlp):
    recs = _recs(nlp, PATIENTS + "Median PFS and OS were 5.3, 14.9 and 20.2 months.")
    assert not [r for r in recs if r["endpoint"] == "PFS"]


# -- class 2: endpoint wording ---------------------------------------------------------------------------
def test_non_progression_rates_at_a_list_of_landmarks_are_pfs_rates(nlp):
    recs = _recs(nlp, PATIENTS + "The non-progression rates at 3, 6 and 12 months were, respectively, 93%, "
                                 "71% and 58%.")
    assert {(r["endpoint"], r["value"], r["timepoint_months"]) for r in recs} == {
        ("PFS", 0.93, 3), ("PFS", 0.71, 6), ("PFS", 0.58, 12)}


def test_reduced_risk_of_disease_recurrence_is_the_dfs_contrast(nlp):
    recs = _recs(nlp, "Sixty patients were randomly assigned to cabozantinib (n = 30) or placebo (n = 30). "
                      "Patients receiving cabozantinib had a reduced risk of disease recurrence [HR, 0.52; 95% "
                      "CI, 0.30-0.90; P = 0.021].", title=RCT)
    hr = _one(recs, "DFS", "HR", 0.52)
    assert hr["arm"] == "contrast" and (hr["ci_low"], hr["ci_high"]) == (0.3, 0.9)


def test_glued_landmark_abbreviation_is_a_pfs_rate_not_the_response_after_it(nlp):
    recs = _recs(nlp, PATIENTS + "Overall, the PFR12 weeks was 61%, and objective response rate was 11% (95% "
                                 "confidence interval, 5.0%-17%).")
    assert _one(recs, "PFS", "rate", 0.61)["timepoint_months"] == 2.77
    assert ("ORR", "rate", "single", 0.61) not in _keys(recs)
    assert _one(recs, "ORR", "rate", 0.11)["ci_low"] == 0.05


def test_clinical_benefit_rate_with_its_definition_in_brackets_and_best_response_categories(nlp):
    recs = _recs(nlp, "Twelve patients received cabozantinib. Best response was partial response (PR) in 3/12 "
                      "(25%) patients, stable disease (SD) in 6/12 (50%) and progressive disease (PD) in 3/12 "
                      "(25%) with a clinical benefit rate (PR + SD > 16 weeks) of 66%.")
    assert _keys(recs) == {("ORR", "rate", "single", 0.25), ("CBR", "rate", "single", 0.66)}


def test_two_survival_endpoints_sharing_one_head_noun(nlp):
    recs = _recs(nlp, PATIENTS + "At the last visit, 1-year overall and event-free survival rates were 61.5% "
                                 "and 38.5%, respectively.")
    assert {(r["endpoint"], r["value"], r["timepoint_months"]) for r in recs} == {
        ("OS", 0.615, 12), ("EFS", 0.385, 12)}


def test_a_value_followed_by_for_and_an_endpoint_takes_that_endpoint(nlp):
    title = "Cabozantinib in relapsed Ewing sarcoma: a pooled analysis of retrospective series"
    recs = _recs(nlp, "Five series with 150 patients treated with cabozantinib were pooled. The pooled rates were "
                      "41% (95% CI 30-52) for objective response and 63% (51-70) for disease control.", title=title)
    assert {(r["endpoint"], r["value"]) for r in recs} == {("ORR", 0.41), ("DCR", 0.63)}
    assert _one(recs, "DCR", "rate", 0.63)["ci_low"] == 0.51


# -- class 3: distractors read as results ----------------------------------------------------------------
def test_single_response_categories_are_not_the_response_rate(nlp):
    recs = _recs(nlp, "Forty-two patients received cabozantinib. At 6 months, two (5%) complete and five (12%) "
                      "partial confirmed responses were observed.")
    assert not [r for r in recs if r["endpoint"] == "ORR"]


def test_response_duration_and_survivors_follow_up_are_not_medians(nlp):
    recs = _recs(nlp, "Twenty patients received cabozantinib. An objective response was achieved in 9 patients "
                      "(45%) and maintained for a median of 10 months. Four patients were alive for a median of "
                      "14 months.")
    assert _keys(recs) == {("ORR", "rate", "single", 0.45)}


def test_a_spread_across_studies_is_not_a_median(nlp):
    recs = _recs(nlp, PATIENTS + "Across the four series, median time to progression ranged from 4.0 to 7.5 "
                                 "months.")
    assert not [r for r in recs if r["endpoint"] == "TTP"]


def test_a_headline_restating_the_result_is_one_statistic(nlp):
    recs = _recs(nlp, "Cabozantinib achieved responses in 15% of patients with soft-tissue sarcoma.\n"
                      "Key finding: Cabozantinib achieved responses in 15% of patients with soft-tissue sarcoma.\n"
                      "A total of 40 patients were treated with cabozantinib. Overall, 6 of 40 (15%) patients had "
                      "an objective response.")
    orr = [r for r in recs if (r["endpoint"], r["value"]) == ("ORR", 0.15)]
    assert len(orr) == 1 and orr[0]["n"] == 40


def test_none_of_n_patients_responding_is_a_zero_rate_of_n(nlp):
    recs = _recs(nlp, PATIENTS + "None of the 8 patients with leiomyosarcoma achieved an objective response. "
                                 "None of the 11 patients with angiosarcoma experienced an objective response. "
                                 "None of the 9 patients died. None of the 6 patients with chondrosarcoma responded. "
                                 "None of the 7 patients with myxoid liposarcoma progressed; the disease control rate "
                                 "in that cohort was 100%.")
    zero = sorted((r["endpoint"], r["value"], r["n"]) for r in recs if r["value"] == 0)
    assert zero == [("ORR", 0.0, 6), ("ORR", 0.0, 8), ("ORR", 0.0, 11)]


def test_landmark_list_repeats_over_the_arms_values(nlp):
    recs = _recs(nlp, "Sixty patients were randomly assigned to cabozantinib (n = 30) or placebo (n = 30). With a "
                      "median follow-up of 25.5 months, the 1- and 2-year disease-free survival rates were 84% and 71% "
                      "in the cabozantinib group compared with 60% and 52% in the placebo group, respectively.",
                 title=RCT)
    want = {0.84: 12, 0.71: 24, 0.6: 12, 0.52: 24}
    got = {r["value"]: r["timepoint_months"] for r in recs if r["endpoint"] == "DFS"}
    assert len(got) >= 3 and all(want[v] == t for v, t in got.items())


def test_rates_listed_with_counts_then_ci_in_one_bracket(nlp):
    recs = _recs(nlp, PATIENTS + "The best ORR and DCR were 21% (19/90, 95% CI 13-31) and 87% (78/90, 95% CI "
                                 "78-93), respectively.")
    orr, dcr = _one(recs, "ORR", "rate", 0.21), _one(recs, "DCR", "rate", 0.87)
    assert (orr["ci_low"], orr["ci_high"], dcr["ci_low"], dcr["ci_high"]) == (0.13, 0.31, 0.78, 0.93)


def test_a_median_with_an_unlabelled_bracket_before_its_unit_has_a_range_not_a_ci(nlp):
    recs = _recs(nlp, PATIENTS + "Median time to progression was 4.5 (1-38) months.")
    ttp = _one(recs, "TTP", "median", 4.5)
    assert ttp["unit"] == "months" and ttp.get("ci_low") is None
