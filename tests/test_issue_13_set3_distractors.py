"""Issue 13, held-out set 3 (distractors read as results): a median time to response among responders, a
non-inferiority margin, a study group named after sarcoma. Invented words and numbers around each pattern."""

import pytest

from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, text):
    return extract_document(nlp, SimpleDocument(text=text, source_id="file:0a1b2c3d4e5f", source_file="t.txt"))


_TRIAL = ("Alphamab versus placebo for progressive desmoid tumours\n\nPatients were randomly assigned to alphamab or "
          "placebo. The 1-year PFS rate was 77% with alphamab and 41% with placebo. ")


def test_median_time_to_response_among_those_who_had_a_response_is_no_response_rate(nlp):
    recs = _recs(nlp, _TRIAL + "The median time to a response among those who had a response came to 8.1 months in "
                 "the alphamab group and 12.4 months in the placebo group.")
    assert {(r["endpoint"], r["measure"]) for r in recs} == {("PFS", "rate")}


def test_a_non_inferiority_margin_is_no_hazard_ratio(nlp):
    recs = _recs(nlp, "Alphamab versus doxorubicin in older patients with soft-tissue sarcoma\n\nPatients were "
                 "randomised to alphamab or doxorubicin. Alphamab would be non-inferior for PFS if the HR's 95% CI had "
                 "an upper bound that was below 1.6. The HR for PFS was 0.98 (95% CI 0.70-1.37).")
    assert sorted(r["value"] for r in recs if r["measure"] == "HR") == [0.98]


def test_a_study_group_named_after_sarcoma_says_nothing_of_the_population(nlp):
    recs = _recs(nlp, "Betacinib in relapsed osteosarcoma: a Nordic Sarcoma Group phase II study\n\nThirty patients "
                 "received betacinib. The median PFS was 4.1 months.")
    assert {tuple(r["histotypes"]) for r in recs} == {("osteosarcoma",)}


def test_a_pooled_contrast_against_the_one_agent_given_alone_names_it_the_comparator(nlp):
    recs = _recs(nlp, "A meta-analysis of trials comparing ifosfamide with other first-line regimens in sarcoma\n\n"
                 "We pooled 14 randomised trials. The 1-year OS (OR 0.91, 95% CI 0.80-1.04, P = 0.16) did not differ "
                 "between the experimental arms and the ifosfamide-only arm.")
    assert {(r["measure"], r["intervention"], r["comparator"]) for r in recs} == {("OR", None, "ifosfamide")}


def test_median_total_survival_is_overall_survival_in_a_respectively_list(nlp):
    recs = _recs(nlp, "Betacinib in advanced chondrosarcoma: a pooled analysis of single-arm studies\n\nThe pooled "
                 "median progression-free survival (mPFS) and the median total survival (mOS) were 4.4 months (95% CI "
                 "3.1-5.6) and 9.9 months (95% CI 8.0-11.7), respectively.")
    assert {(r["endpoint"], r["value"]) for r in recs} == {("PFS", 4.4), ("OS", 9.9)}


def test_groups_formed_by_a_side_effect_on_treatment_are_no_result(nlp):
    recs = _recs(nlp, "A phase II study of betatinib in advanced sarcoma\n\nForty patients received betatinib. The "
                 "median OS was 13.0 months. Patients (27.5%) who developed hypertension or rash had significantly "
                 "longer OS than patients free of these events (17.9 vs. 9.8 months; P = 0.01).")
    assert sorted(r["value"] for r in recs) == [13.0]


def test_it_was_refers_back_to_the_endpoint_of_the_sentence_before(nlp):
    recs = _recs(nlp, "Paclitaxel in epithelioid sarcoma: a retrospective study\n\nWe reviewed 40 patients given "
                 "paclitaxel. The median time to progression was 6.1 months for the whole group. For the proximal-type "
                 "group it was 4.0 months, and for patients with tumours at distal sites it was 8.2 months, "
                 "respectively.")
    assert sorted(r["value"] for r in recs if r["endpoint"] == "TTP" and r["measure"] == "median") == [4.0, 6.1, 8.2]
    # a pronoun two sentences after the endpoint refers to something else
    recs = _recs(nlp, "Paclitaxel in epithelioid sarcoma: a retrospective study\n\nWe reviewed 40 patients given "
                 "paclitaxel. The median time to progression was 6.1 months. Grade 3 fatigue was rare. In older "
                 "patients it was 12 months.")
    assert sorted(r["value"] for r in recs) == [6.1]


def test_a_retrospective_series_that_names_no_treatment_still_gives_its_values(nlp):
    recs = _recs(nlp, "Outcomes of adults with Ewing sarcoma: a single centre experience\n\nWe retrospectively "
                 "reviewed 44 adults with Ewing sarcoma seen between 2010 and 2016. The median overall survival "
                 "(OS) was 62 months, and the 2- and 5-year OS were 81% and 57%, respectively.")
    got = {(r["endpoint"], r["measure"], r["arm"], r["value"], r["intervention"]) for r in recs}
    assert got == {("OS", "median", "single", 62.0, None), ("OS", "rate", "single", 0.81, None),
                   ("OS", "rate", "single", 0.57, None)}


def test_a_randomised_trial_naming_no_treatment_gives_no_single_arm_values(nlp):
    recs = _recs(nlp, "A randomised trial in adults with Ewing sarcoma\n\nPatients were randomised between two "
                 "local treatment strategies. The median OS was 62 months.")
    assert recs == []
