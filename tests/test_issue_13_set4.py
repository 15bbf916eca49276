"""Issue 13, held-out set 4 (studied after its unseen measurement): landmarks in ``yr``/``mo`` abbreviations, a
single-arm adjuvant study, a structured abstract's background section, a sample-size calculation, a median's CI with
an unavailable upper bound, labelled regimens defined one from another, standard errors in brackets, treatment
durations, one-letter arm labels ending a sentence. Invented words and numbers around each pattern."""

import pytest

from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline
from extraction.sections import background_sentences, heading_of
from extraction.sentences import split_sentences


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, text):
    return extract_document(nlp, SimpleDocument(text=text, source_id="file:0a1b2c3d4e5f", source_file="t.txt"))


def _key(r):
    return (r["endpoint"], r["measure"], r["arm"], r["value"], r.get("timepoint_months"))


_SINGLE = ("Alphamab after resection of high-risk gastrointestinal stromal tumour\n\nMethods: In this single-arm "
           "phase II study, 64 patients received adjuvant alphamab for 4 yrs. Results: ")


def test_landmarks_written_yr_are_years(nlp):
    recs = _recs(nlp, _SINGLE + "The 4- and 7-yr estimated RFS rates were 88% (95% CI, 77-94) and 72% (95% CI, 60-81), "
                 "respectively.")
    assert {_key(r) for r in recs} == {("RFS", "rate", "single", 0.88, 48.0), ("RFS", "rate", "single", 0.72, 84.0)}
    assert {(r["ci_low"], r["ci_high"]) for r in recs} == {(0.77, 0.94), (0.6, 0.81)}


def test_landmark_written_mo(nlp):
    recs = _recs(nlp, _SINGLE + "The 18-mo OS rate was 93%.")
    assert {_key(r) for r in recs} == {("OS", "rate", "single", 0.93, 18.0)}


def test_a_single_arm_adjuvant_study_has_no_observation_arm(nlp):
    recs = _recs(nlp, _SINGLE + "The 3-year RFS rate was 81%.")
    assert [(r["arm"], r["intervention"], r["comparator"]) for r in recs] == [("single", "alphamab", None)]


_STRUCTURED = ("Alphamab in advanced leiomyosarcoma: a phase II study\n\nBackground: Smith and colleagues "
               "reported that betatinib gave a median PFS of 3.1 months and a response rate of 12%. Methods: Forty "
               "patients received alphamab. Results: The median PFS was 5.2 months and the response rate was 20%.")


def test_values_of_a_background_section_are_other_studies(nlp):
    recs = _recs(nlp, _STRUCTURED)
    assert sorted(_key(r) for r in recs) == [("ORR", "rate", "single", 0.2, None),
                                             ("PFS", "median", "single", 5.2, None)]


def test_an_unstructured_abstract_keeps_every_sentence():
    text = "Forty patients received alphamab. The median PFS was 5.2 months."
    assert background_sentences(text, split_sentences(text)) == set()


@pytest.mark.parametrize("sentence,head", [
    ("Purpose: To test alphamab.", "purpose"), ("BACKGROUND: Sarcomas are rare.", "background"),
    ("Design, setting, and participants: Two centres.", "design, setting, and participants"),
    ("RESULTS", "results"), ("The median PFS was 5 months.", None), ("Sarcoma: a review of 40 patients", "sarcoma"),
])
def test_headings(sentence, head):
    assert heading_of(sentence) == head


def test_a_purpose_section_ends_at_the_next_heading():
    text = ("Purpose: Betacin gave responses in 30% of patients. Patients and methods: We treated 20 patients. "
            "Results: Responses were seen in 40%.")
    assert background_sentences(text, split_sentences(text)) == {0}


def test_a_sample_size_calculation_gives_no_values(nlp):
    recs = _recs(nlp, "Alphamab plus betatinib versus betatinib in uterine leiomyosarcoma\n\nPatients were "
                 "randomised to alphamab plus betatinib or betatinib alone. Planned accrual was 120 patients to detect "
                 "an improvement in median PFS from 5 months (betatinib) to 8.5 months (alphamab plus betatinib). The "
                 "median PFS was 6.1 months with alphamab plus betatinib and 5.8 months with betatinib (HR 0.95, "
                 "95% CI 0.70-1.29).")
    assert sorted(r["value"] for r in recs) == [0.95, 5.8, 6.1]


def test_a_median_ci_with_an_unavailable_upper_bound_keeps_its_lower_bound(nlp):
    recs = _recs(nlp, "Alphamab versus doxorubicin in soft-tissue sarcoma\n\nPatients were randomised to alphamab or "
                 "doxorubicin. Median OS was 17.2 (95% CI, 12.4 to not available) months with alphamab and 13.9 "
                 "(95% CI, 9.1-18.8) months with doxorubicin (P = .30).")
    got = {(r["arm"], r["value"], r.get("ci_low"), r.get("ci_high")) for r in recs}
    assert got == {("intervention", 17.2, 12.4, None), ("comparator", 13.9, 9.1, 18.8)}


_REGIMENS = ("Adding alphamab and betatinib to standard chemotherapy for metastatic Ewing sarcoma\n\nMethods: "
             "Patients were randomised. Regimen A consisted of vincristine, doxorubicin and cyclophosphamide. "
             "Regimen B consisted of regimen A alternating with alphamab and betatinib. Treatment comprised 12 weeks "
             "of chemotherapy before local control. Results: ")


_PER_ARM = {("EFS", "rate", "comparator", 0.24, 60.0), ("OS", "rate", "comparator", 0.35, 60.0),
            ("EFS", "rate", "intervention", 0.26, 60.0), ("OS", "rate", "intervention", 0.33, 60.0)}


def test_a_regimen_defined_from_another_holds_both_and_standard_errors_are_no_values(nlp):
    recs = _recs(nlp, _REGIMENS + "The EFS and survival at 5 years were 24% (SE, 4%) and 35% (SE, 5%), respectively, "
                 "for those treated on regimen A and 26% (SE, 5%) and 33% (SE, 5%), respectively, for those treated on "
                 "regimen B. Patients with lung metastases only did better.")
    assert {_key(r) for r in recs} == _PER_ARM
    assert {(r["intervention"], r["comparator"]) for r in recs} == {
        ("alphamab+betatinib+cyclophosphamide+doxorubicin+vincristine", "cyclophosphamide+doxorubicin+vincristine")}


def test_values_listed_per_arm_in_turn_with_respectively_after_each_arm(nlp):
    recs = _recs(nlp, _REGIMENS + "The EFS and OS at 5 years were 24% and 35%, respectively, for regimen A and "
                 "26% and 33%, respectively, for regimen B.")
    assert {_key(r) for r in recs} == _PER_ARM


def test_a_treatment_duration_is_no_median(nlp):
    assert _recs(nlp, _REGIMENS + "Toxicity was acceptable.") == []


def test_a_one_letter_arm_label_ends_its_sentence_but_an_initial_does_not():
    text = "Grade 3 events were rare in arm B. Patients in arm A did well. As J. Smith wrote, it works."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Grade 3 events were rare in arm B.", "Patients in arm A did well.", "As J. Smith wrote, it works."]


def test_groups_defined_without_brackets(nlp):
    recs = _recs(nlp, "Two schedules of alphamab in desmoid tumours\n\nPatients were randomised. Group 1 received "
                 "alphamab. Group 2 received alphamab plus betatinib. The 2-year PFS rate was 60% in group 1 and 75% "
                 "in group 2.")
    assert {(r["arm"], r["value"]) for r in recs} == {("comparator", 0.6), ("intervention", 0.75)}
