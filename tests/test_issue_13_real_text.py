"""Issue 13: read published abstracts as they are written. One test per cause, each in our own words
around the pattern it guards, on invented drugs, trials and numbers (never real abstracts' sentences)."""

import pytest

from evidence.errors import VocabularyError
from evidence.vocabulary import VOCAB, load_trials, normalize_registry_id
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline
from extraction.study import design_of, registry_ids, study_facts


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, body, title="Sunitinib versus placebo in advanced angiosarcoma: a randomised phase 3 trial"):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0123456789ab", source_file="t.txt")
    return extract_document(nlp, doc)


def _keys(recs):
    return {(r["endpoint"], r["measure"], r["arm"], r["value"]) for r in recs}


# -- build: design, registry ids, the trials vocabulary --------------------------------------------------
@pytest.mark.parametrize(("title", "body", "design"), [
    ("Drug Q for desmoid tumours: a systematic review and meta-analysis", "Nine randomised trials were pooled.",
     "meta_analysis"),
    ("Outcome after first-line anthracyclines", "We did a pooled analysis of five randomised trials of the group.",
     "pooled_analysis"),
    ("Weekly drug Q in angiosarcoma", "In this retrospective study, records of 40 patients were reviewed.",
     "observational"),
    ("Drug Q in synovial sarcoma: a single-arm, phase II trial", "Thirty patients were enrolled.", "single_arm"),
    ("Drug Q versus placebo", "Patients were randomly assigned 2:1 to drug Q or placebo.", "rct"),
])
def test_issue_13_design_from_the_study_s_own_words(title, body, design):
    assert design_of(title, title + "\n" + body) == design


def test_issue_13_design_ignores_a_trial_the_conclusion_plans():
    text = ("Drug Q in epithelioid sarcoma: an open-label phase II study\n\nTwenty patients received drug Q.\n"
            "Conclusions: A randomised trial comparing drug Q with doxorubicin is planned.")
    assert study_facts(text)["design"] == "single_arm"


def test_issue_13_registry_ids_anywhere_in_the_document_in_canonical_form():
    text = ("Registered at ClinicalTrials.gov, NCT 01234567, and EudraCT no 2011-001234-56; also ISRCTN12345678 "
            "and jRCTs031190001. Repeated: NCT01234567.")
    assert registry_ids(text) == ["NCT01234567", "EudraCT 2011-001234-56", "ISRCTN12345678", "jRCTs031190001"]
    assert normalize_registry_id("not an id") is None


def test_issue_13_trials_vocabulary_maps_names_aliases_and_registry_ids():
    assert VOCAB.trial("EORTC 62072").name == "PALETTE"
    assert VOCAB.trial("nct00753688").name == "PALETTE"
    assert VOCAB.trial("the GeDDiS trial".replace("the ", "")).name == "GeDDiS"
    assert VOCAB.trial("ISRCTN07742377").name == "GeDDiS"
    assert len(VOCAB.trials) >= 30
    with pytest.raises(VocabularyError, match="allowed"):
        load_trials('{"name": "X", "acronym": "Y"}')
    with pytest.raises(VocabularyError, match="registry id"):
        load_trials('{"name": "X", "registry_ids": ["NCT123"]}')


def test_issue_13_records_carry_design_registry_ids_and_vocabulary_trial_name(nlp):
    recs = _recs(nlp, "The trial is registered as EORTC 62072 (NCT00753688). Median overall survival was 11.0 "
                      "months with sunitinib versus 9.0 months with placebo (HR 0.81, 95% CI 0.62-0.99; p=0.04).")
    assert recs and all(r["design"] == "rct" and r["registry_ids"] == ["NCT00753688"] for r in recs)
    assert {r["trial"] for r in recs} == {"PALETTE"}


def test_issue_13_meta_analysis_records_are_not_randomised_trial_records(nlp):
    title = "Trabectedin plus doxorubicin versus doxorubicin alone in soft-tissue sarcoma: a meta-analysis"
    recs = _recs(nlp, "Six randomised trials with 1200 patients were included. The pooled hazard ratio for "
                      "death was 0.81 (95% CI 0.70-0.94; p=0.005).", title=title)
    assert recs and all(r["design"] == "meta_analysis" and r["randomized"] is None for r in recs)


# -- causes seen in real abstracts ---------------------------------------------------------------------------
def test_issue_13_patient_counts_in_their_usual_forms(nlp):
    title = "Eribulin versus dacarbazine in leiomyosarcoma: a randomised phase 3 trial"
    recs = _recs(nlp, "211 patients with leiomyosarcoma were included (eribulin, n = 104; dacarbazine, n = 107). "
                      "Median OS was 14.1 versus 12.2 months for eribulin versus dacarbazine, respectively "
                      "(HR 0.85, 95% CI 0.70-1.02; P = 0.08).", title=title)
    got = {(r["arm"], r["value"], r["n"]) for r in recs}
    assert got == {("intervention", 14.1, 104), ("comparator", 12.2, 107), ("contrast", 0.85, 211)}


def test_issue_13_patient_counts_in_words_and_one_of_the_n(nlp):
    title = "Sunitinib in alveolar soft part sarcoma: a single-arm phase II trial"
    recs = _recs(nlp, "Thirty-three patients were enrolled. Objective responses occurred in 6 of 33 patients (18%; "
                      "95% CI 7%-35%). Median progression-free survival was 8.1 months.", title=title)
    orr = next(r for r in recs if r["endpoint"] == "ORR")
    assert (orr["value"], orr["n"], orr["events"], orr["ci_low"], orr["ci_high"]) == (0.18, 33, 6, 0.07, 0.35)
    pfs = next(r for r in recs if r["endpoint"] == "PFS")
    assert (pfs["arm"], pfs["n"]) == ("single", 33)


def test_issue_13_population_is_the_one_the_count_names_not_the_title(nlp):
    title = "Trabectedin for liposarcoma: approval summary of a randomised trial versus dacarbazine"
    recs = _recs(nlp, "The trial enrolled 380 patients with liposarcoma or leiomyosarcoma. Overall survival was "
                      "longer with trabectedin (HR 0.79; 95% CI 0.64-0.97; P = 0.02).", title=title)
    (r,) = recs
    assert r["histotypes"] == ["leiomyosarcoma", "liposarcoma"] and r["n"] == 380


def test_issue_13_respectively_lists_over_several_endpoints(nlp):
    title = "Pazopanib in desmoid tumours: a single-arm phase II trial"
    recs = _recs(nlp, "Forty patients were treated. Median progression-free survival and overall survival were 13.2 "
                      "and 30.5 months, respectively.", title=title)
    assert _keys(recs) == {("PFS", "median", "single", 13.2), ("OS", "median", "single", 30.5)}


def test_issue_13_arm_numbers_are_labels_not_values(nlp):
    title = "Gemcitabine versus gemcitabine plus docetaxel in leiomyosarcoma: a randomised trial"
    recs = _recs(nlp, "Patients were randomly assigned to gemcitabine (arm 1) or gemcitabine plus docetaxel (arm 2). "
                      "Median PFS was 4.2 months in arm 1 and 6.1 months in arm 2.", title=title)
    assert _keys(recs) == {("PFS", "median", "comparator", 4.2), ("PFS", "median", "intervention", 6.1)}


def test_issue_13_arm_a_and_arm_b_are_mapped(nlp):
    title = "Doxorubicin with or without olaratumab in soft-tissue sarcoma: a randomised phase 2 trial"
    recs = _recs(nlp, "Patients were randomised to doxorubicin plus olaratumab (Arm A) or doxorubicin alone (Arm B). "
                      "Median overall survival was 20.1 months in arm A and 15.2 months in arm B.", title=title)
    assert _keys(recs) == {("OS", "median", "intervention", 20.1), ("OS", "median", "comparator", 15.2)}


def test_issue_13_arms_defined_by_dose(nlp):
    title = "Imatinib at two doses in advanced GIST: a randomised phase 3 trial"
    recs = _recs(nlp, "Patients were randomly assigned to imatinib 300 mg or 600 mg daily. Median progression-free "
                      "survival was 1.5 and 1.9 years in the 300- and 600-mg arms, respectively (HR 0.88; P = .21).",
                 title=title)
    got = {(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs}
    assert got == {("comparator", 1.5, "imatinib", "imatinib"), ("intervention", 1.9, "imatinib", "imatinib"),
                   ("contrast", 0.88, "imatinib", "imatinib")}


def test_issue_13_en_dash_combination_is_one_arm(nlp):
    title = "Gemcitabine–docetaxel versus doxorubicin in uterine leiomyosarcoma: a randomised phase 3 trial"
    recs = _recs(nlp, "Median overall survival was 17.2 months with gemcitabine–docetaxel and 15.9 months with "
                      "doxorubicin (HR 0.91, 95% CI 0.70–1.18).", title=title)
    assert {(r["arm"], r["intervention"], r["comparator"]) for r in recs} == {
        ("intervention", "docetaxel+gemcitabine", "doxorubicin"),
        ("comparator", "docetaxel+gemcitabine", "doxorubicin"),
        ("contrast", "docetaxel+gemcitabine", "doxorubicin")}


def test_issue_13_a_trial_planned_in_the_conclusion_is_not_this_trial(nlp):
    title = "Cabozantinib in epithelioid sarcoma: an open-label phase II study"
    recs = _recs(nlp, "Twenty-four patients received cabozantinib. The objective response rate was 21% (95% CI "
                      "7%-42%). Conclusions: a randomised phase III trial comparing cabozantinib with doxorubicin "
                      "is planned.", title=title)
    (r,) = recs
    assert (r["arm"], r["value"], r["intervention"], r["comparator"], r["n"]) == ("single", 0.21, "cabozantinib",
                                                                                  None, 24)


def test_issue_13_pooled_hr_for_death_is_os_and_regimen_subgroups_keep_their_regimen(nlp):
    title = "Adjuvant chemotherapy versus observation in soft-tissue sarcoma: a meta-analysis"
    recs = _recs(nlp, "Twelve randomised trials with 1900 patients were included. The pooled HR for death was 0.86 "
                      "(95% CI 0.75-0.98). Doxorubicin-ifosfamide therapy improved OS (HR, 0.77; p = .01) and "
                      "DFS (HR, 0.81; p = .03).", title=title)
    got = {(r["endpoint"], r["value"], r["intervention"]) for r in recs}
    assert got == {("OS", 0.86, "chemotherapy"), ("OS", 0.77, "doxorubicin+ifosfamide"),
                   ("DFS", 0.81, "doxorubicin+ifosfamide")}
    assert all(r["design"] == "meta_analysis" and r["randomized"] is None for r in recs)


def test_issue_13_abbreviated_endpoints(nlp):
    title = "Weekly paclitaxel in angiosarcoma: a retrospective study"
    recs = _recs(nlp, "Records of 52 patients were reviewed. The mPFS was 5.1 months (95% CI, 3.9 to 6.3) and the "
                      "mOS was 11.4 months. The PFR at 6 months was 41%. The median TTF was 3.0 months.", title=title)
    assert _keys(recs) == {("PFS", "median", "single", 5.1), ("OS", "median", "single", 11.4),
                           ("PFS", "rate", "single", 0.41)}
    assert {r["design"] for r in recs} == {"observational"}


def test_issue_13_p_value_printed_without_its_p(nlp):
    recs = _recs(nlp, "Overall survival was longer with sunitinib (HR 0.70, 95% CI 0.55-0.89; <.001).")
    (r,) = recs
    assert (r["p_value"], r["p_relation"]) == (0.001, "<")


def test_issue_13_distractors_time_to_response_and_design_hypotheses(nlp):
    title = "Regorafenib in desmoid tumours: a single-arm phase II trial"
    recs = _recs(nlp, "The design assumed H0: PFS rate at 6 months ≤ 40% and H1: PFS rate ≥ 60%. Thirty patients "
                      "were enrolled. The median time to response was 4.4 months. The 6-month PFS rate was 73%.",
                 title=title)
    assert _keys(recs) == {("PFS", "rate", "single", 0.73)}


def test_issue_13_ci_with_percent_only_on_the_upper_bound(nlp):
    title = "Nivolumab in uterine leiomyosarcoma: a single-arm phase II trial"
    recs = _recs(nlp, "Twelve patients were treated. The objective response rate was 0% (95% CI, 0-26%).", title=title)
    (r,) = recs
    assert (r["value"], r["ci_low"], r["ci_high"]) == (0.0, 0.0, 0.26)


def test_issue_13_rates_at_two_timepoints_are_rates_not_medians(nlp):
    title = "Trabectedin in myxoid liposarcoma: a single-arm phase II trial"
    recs = _recs(nlp, "Forty patients were treated. The progression-free rate at 3 and 6 months was 62% and 38%.",
                 title=title)
    assert {(r["measure"], r["value"], r["timepoint_months"]) for r in recs} == {("rate", 0.62, 3), ("rate", 0.38, 6)}


def test_issue_13_a_title_word_for_another_agent_is_not_an_arm(nlp):
    title = "Ridaforolimus, an analogue of rapamycin, versus placebo as maintenance in sarcoma: a randomised trial"
    recs = _recs(nlp, "Progression-free survival was longer with ridaforolimus (HR 0.74, 95% CI 0.62-0.88).",
                 title=title)
    (r,) = recs
    assert (r["intervention"], r["comparator"]) == ("ridaforolimus", "placebo")


def test_issue_13_a_restated_hazard_ratio_is_one_record(nlp):
    recs = _recs(nlp, "Overall survival improved (HR, 0.76; 95% CI, 0.62-0.93; P = .008). Median OS was 13.1 months "
                      "with sunitinib and 11.0 months with placebo (HR, 0.76; 95% CI, 0.62-0.93; P = .009).")
    assert sorted(r["value"] for r in recs) == [0.76, 11.0, 13.1]


def test_issue_13_agents_outside_the_vocabulary_keep_their_own_label(nlp):
    title = "A randomised phase 2 trial in dedifferentiated liposarcoma"
    recs = _recs(nlp, "Patients were randomised to XYZ-123 or placebo. Median PFS was 5.5 months with XYZ-123 and 2.0 "
                      "months with placebo (HR 0.52; 95% CI 0.33-0.80).", title=title)
    assert {(r["arm"], r["intervention"], r["comparator"]) for r in recs} == {
        ("intervention", "xyz-123", "placebo"), ("comparator", "xyz-123", "placebo"),
        ("contrast", "xyz-123", "placebo")}
    assert all("unknown_agent" in r["flags"] for r in recs)


def test_issue_13_arms_named_by_their_role(nlp):
    title = "Regorafenib versus placebo in liposarcoma: a randomised phase 2 trial"
    recs = _recs(nlp, "Median PFS was 4.1 months in the experimental arm and 1.2 months in the control group.",
                 title=title)
    assert _keys(recs) == {("PFS", "median", "intervention", 4.1), ("PFS", "median", "comparator", 1.2)}


def test_issue_13_a_bound_is_not_a_result(nlp):
    recs = _recs(nlp, "Objective response rates were less than 5% in both treatment arms. Median OS was 9.0 months "
                      "with sunitinib and 7.5 months with placebo.")
    assert {r["endpoint"] for r in recs} == {"OS"}


def test_issue_13_arms_defined_by_what_each_group_received(nlp):
    title = "A randomised phase 3 study in metastatic leiomyosarcoma"
    recs = _recs(nlp, "Patients were randomized 2:1 to a test group and a control group. Patients in the test group "
                      "received trabectedin combined with doxorubicin. Patients in the control group received "
                      "doxorubicin. The median PFS of the test group was longer than that of the control group, 12.0 "
                      "months vs 6.2 months (HR=0.41; 95% CI, 0.29-0.58).", title=title)
    assert {(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs} == {
        ("intervention", 12.0, "doxorubicin+trabectedin", "doxorubicin"),
        ("comparator", 6.2, "doxorubicin+trabectedin", "doxorubicin"),
        ("contrast", 0.41, "doxorubicin+trabectedin", "doxorubicin")}


def test_issue_13_a_placebo_controlled_trial_with_a_shared_backbone(nlp):
    title = "Regorafenib in leiomyosarcoma"
    recs = _recs(nlp, "This was a randomized, placebo-controlled, double-blind phase 3 trial of regorafenib plus "
                      "doxorubicin vs placebo plus doxorubicin. Median PFS was 7.7 months with regorafenib plus "
                      "doxorubicin and 5.1 months with placebo plus doxorubicin.", title=title)
    assert {(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs} == {
        ("intervention", 7.7, "doxorubicin+regorafenib", "doxorubicin"),
        ("comparator", 5.1, "doxorubicin+regorafenib", "doxorubicin")}


# -- "from X to Y": a treatment that moves a median from the control's value to its own -------------------
@pytest.mark.parametrize("body", [
    "Sunitinib lengthened median progression-free survival from 3.1 to 5.4 months (HR 0.62, 95% CI 0.45-0.85).",
    "Sunitinib extended the median progression-free survival from 3.1 months to 5.4 months.",
    "Median progression-free survival improved from 3.1 months with placebo to 5.4 months with sunitinib.",
])
def test_issue_13_from_control_to_treatment(nlp, body):
    recs = _recs(nlp, "Patients were randomly assigned to sunitinib or placebo. " + body)
    medians = {(r["arm"], r["value"]) for r in recs if r["measure"] == "median" and r["endpoint"] == "PFS"}
    assert medians == {("comparator", 3.1), ("intervention", 5.4)}
