"""Issue 13, held-out sizes: which count is a value's n, which histotype it is about, the CI after a count,
a two-drug regimen and a histotype abbreviation the text defines. One test per grammar, each in our own
invented words and numbers around the pattern (never a published abstract's sentences)."""

import pytest

from extraction.components.abbreviations import find_histotype_definitions, split_definitions
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0123456789ab", source_file="t.txt")
    return extract_document(nlp, doc)


def _by(recs, endpoint, value):
    hits = [r for r in recs if r["endpoint"] == endpoint and abs(r["value"] - value) < 1e-9]
    assert hits, (endpoint, value, [(r["endpoint"], r["value"]) for r in recs])
    return hits[0]


_SINGLE = "Cabozantinib in advanced angiosarcoma: an open-label, single-arm phase II trial"


# -- 1. n from the right count ---------------------------------------------------------------------------
def test_cohort_size_outranks_the_enrolled_total(nlp):
    recs = _recs(nlp, "Cabozantinib in advanced soft-tissue or bone sarcoma: a two-cohort, single-arm phase II trial",
                 "A total of 76 patients were enrolled and treated with cabozantinib. There were 38 evaluable "
                 "patients in each cohort. The median progression-free survival for the soft-tissue cohort was "
                 "14 weeks and the median overall survival was 41 weeks.")
    assert _by(recs, "PFS", 14.0)["n"] == 38
    assert _by(recs, "OS", 41.0)["n"] == 38


def test_a_count_pooled_over_several_studies_is_not_the_study_s_own(nlp):
    recs = _recs(nlp, "Cabozantinib for relapsed angiosarcoma: our experience and a review of the literature",
                 "We retrospectively reviewed 17 patients treated with cabozantinib. An objective response was seen "
                 "in 7 patients (41%). In our review, a total of 64 patients were treated with cabozantinib in three "
                 "studies including ours. The pooled objective response rate was 46.9%.")
    assert _by(recs, "ORR", 0.41)["n"] == 17
    assert _by(recs, "ORR", 0.469)["n"] == 64


def test_women_and_men_are_a_composition_whose_sum_is_the_n(nlp):
    recs = _recs(nlp, "Sorafenib for progressive desmoid tumours: a single-arm phase II study",
                 "Patients received sorafenib 400 mg daily. The cohort consisted of 23 women and 9 men, with a mean "
                 "age of 38 years. The 1-year progression-free survival rate was 81%.")
    assert _by(recs, "PFS", 0.81)["n"] == 32


def test_a_count_with_qualifier_and_verb_is_the_total_before_a_composition(nlp):
    recs = _recs(nlp, "Sorafenib for progressive desmoid tumours: a single-arm phase II study",
                 "Thirty-six patients with progressive desmoid tumours were treated with sorafenib. The study "
                 "population consisted of 25 women and 11 men. The 2-year progression-free survival rate was 62%.")
    assert _by(recs, "PFS", 0.62)["n"] == 36


def test_of_n_randomly_assigned_to_an_arm_is_not_the_trial_s_total(nlp):
    recs = _recs(nlp, "Sunitinib versus placebo in metastatic chondrosarcoma: a randomised phase II trial",
                 "Fifty-four patients from 9 centres were enrolled. Median PFS was 4.1 months with sunitinib versus "
                 "1.9 months with placebo (hazard ratio, 0.47; 95% CI, 0.25 to 0.88; P = .02). Nineteen (70%) of "
                 "27 patients initially randomly assigned to sunitinib had grade 3 events.")
    hr = [r for r in recs if r["measure"] == "HR"]
    assert hr and hr[0]["n"] == 54
    assert _by(recs, "PFS", 4.1)["n"] == 27  # the arm's size, stated in the side clause
    assert _by(recs, "PFS", 1.9)["n"] is None  # the other arm's is not stated


def test_event_counts_by_named_arm_are_not_arm_sizes(nlp):
    recs = _recs(nlp, "Vinorelbine versus observation as maintenance in high-risk rhabdomyosarcoma: a randomised trial",
                 "Between 2009 and 2017, 140 patients were enrolled in the standard arm and 139 in the experimental "
                 "arm. Relapse or death occurred in 88 patients (50 standard arm, 38 experimental arm). The 5-year "
                 "DFS was 58.2% in the standard arm versus 69.4% in the experimental arm (P = .03).")
    assert _by(recs, "DFS", 0.582)["n"] == 140
    assert _by(recs, "DFS", 0.694)["n"] == 139


# -- 2. subgroup sizes printed with the subgroup's label ---------------------------------------------------
def test_a_subgroup_hr_takes_the_size_printed_with_its_label(nlp):
    recs = _recs(nlp, "Pazopanib versus placebo in advanced soft-tissue sarcoma: a randomised phase II trial",
                 "In all, 210 patients were randomly assigned to pazopanib (n = 140) or placebo (n = 70). "
                 "For patients with leiomyosarcoma (n = 63), the median PFS was 4.9 months versus 1.6 months "
                 "(HR = 0.28, p < 0.0001).")
    hr = _by(recs, "PFS", 0.28)
    assert hr["histotypes"] == ["leiomyosarcoma"] and hr["n"] == 63
    assert _by(recs, "PFS", 4.9)["n"] is None  # the arms' shares of the subgroup are not stated


def test_values_listed_before_for_label_n_take_that_size(nlp):
    recs = _recs(nlp, _SINGLE,
                 "A total of 120 patients were included. The median overall survival was 10 months for "
                 "leiomyosarcoma (n = 31) and 14 months for other sarcoma (n = 17).")
    assert _by(recs, "OS", 10.0)["n"] == 31
    assert _by(recs, "OS", 14.0)["n"] == 17


# -- 3. the histotype of the value ---------------------------------------------------------------------------
def test_count_then_histotype_after_the_value_names_its_population(nlp):
    recs = _recs(nlp, _SINGLE,
                 "Overall, 6 of 30 (20%) patients had an objective response, including 3 of 11 (27%) patients "
                 "with leiomyosarcoma, 2 of 9 (22%) patients with liposarcoma, and 1 of 6 patients (17%) with "
                 "angiosarcoma.")
    assert _by(recs, "ORR", 0.27)["histotypes"] == ["leiomyosarcoma"]
    assert _by(recs, "ORR", 0.22)["histotypes"] == ["liposarcoma"]
    assert _by(recs, "ORR", 0.17)["histotypes"] == ["angiosarcoma"]


def test_a_total_listing_its_parts_keeps_the_broad_population(nlp):
    recs = _recs(nlp, "Cabozantinib maintenance in advanced soft-tissue sarcoma: a single-arm phase II trial",
                 "Overall, 58 patients were enrolled, including 21 with liposarcoma (36%) and 14 with "
                 "leiomyosarcoma (24%). The median PFS was 7.4 months (95% CI 5.1-9.6).")
    assert _by(recs, "PFS", 7.4)["histotypes"] == ["soft_tissue_sarcoma"]


# -- 4. a CI after the count behind a rate -------------------------------------------------------------------
def test_a_rate_s_ci_after_its_count_in_the_bracket(nlp):
    recs = _recs(nlp, _SINGLE,
                 "A total of 43 patients were included. The ORR and DCR were 21% (9/43, 95% CI 10-36) and "
                 "88% (38/43, 95% CI 75-96), respectively.")
    orr = _by(recs, "ORR", 0.21)
    assert (orr["ci_low"], orr["ci_high"]) == (0.10, 0.36)


# -- 5. a two-drug regimen, abbreviations the text defines ----------------------------------------------------
def test_a_combination_with_doses_in_brackets_is_the_treatment(nlp):
    recs = _recs(nlp, "Irinotecan for relapsed Ewing sarcoma: a single-arm phase II study",
                 "We evaluated 18 patients treated with a combination of irinotecan (15 mg/m(2)/d x 5 for 2 weeks) "
                 "and temozolomide (90 mg/m(2)/d x 5). An objective response was achieved in 8 patients (44%).")
    assert _by(recs, "ORR", 0.44)["intervention"] == "irinotecan+temozolomide"


def test_a_slashed_short_form_defines_each_agent_and_their_combination():
    text = "etoposide and ifosfamide (ETP/IFO); then ETP alone"
    defs = split_definitions(text, [(0, 9, "etoposide"), (14, 24, "ifosfamide")], {})
    assert defs == {"ETP/IFO": "etoposide+ifosfamide", "ETP": "etoposide"}  # IFO: already the vocabulary's
    assert split_definitions("etoposide and ifosfamide (XY/QZ)", [(0, 9, "etoposide"), (14, 24, "ifosfamide")],
                             {}) == {}


def test_a_histotype_abbreviation_is_read_only_after_its_definition_in_that_text():
    spans = [(10, 26, "synovial_sarcoma")]
    assert find_histotype_definitions("Cohorts: synovial sarcoma (SS); SS.", [(9, 25, "synovial_sarcoma")]) == {
        "SS": (30, "synovial_sarcoma")}
    # a short form after something else, or not fitting the long form's initials, defines no histotype
    assert find_histotype_definitions("the steady state (SS) and SS", spans) == {}
    assert find_histotype_definitions("Cohorts: synovial sarcoma (QX)", [(9, 25, "synovial_sarcoma")]) == {}


def test_a_defined_histotype_abbreviation_names_the_subgroup(nlp):
    recs = _recs(nlp, "Pazopanib versus placebo in advanced soft-tissue sarcoma: a randomised phase II trial",
                 "The subtypes enrolled were synovial sarcoma (SS), leiomyosarcoma and others. In all, 180 patients "
                 "were randomly assigned to pazopanib (n = 120) or placebo (n = 60). For SS (n = 44), the median "
                 "PFS was 6.1 months versus 1.5 months (HR = 0.31, p = 0.002).")
    hr = _by(recs, "PFS", 0.31)
    assert hr["histotypes"] == ["synovial_sarcoma"] and hr["n"] == 44


def test_a_pooled_analysis_of_its_own_trials_keeps_its_count(nlp):
    recs = _recs(nlp, "Cabozantinib in advanced angiosarcoma: a pooled analysis of single-arm trials",
                 "A total of 95 patients treated in 4 consecutive trials of our group were included in the analysis. "
                 "The median overall survival was 30 months.")
    assert _by(recs, "OS", 30.0)["n"] == 95
