"""Issue 13, arms: per-arm values of published abstracts go on the right arm, whatever grammar names the arms.

One test per grammar, each in our own invented words and numbers around the pattern it guards (never a real
abstract's sentences): arms named by labels the text defines, a backbone written once, schedules, role words,
another trial inside a review, and values about a subgroup rather than an arm.
"""

import pytest

from extraction.assembly import subgroup_kind
from extraction.components.abbreviations import find_definitions, find_expansions, find_label_definitions
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline
from extraction.unlisted import unlisted_agent_mentions


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:00000000abcd", source_file="t.txt")
    return extract_document(nlp, doc)


def _arms(recs, measure="median"):
    return {(r["endpoint"], r["arm"], r["value"]) for r in recs if r["measure"] == measure}


def test_abbreviation_followed_by_its_arm_size_and_title_order(nlp):
    # "(AI; n = 61)" defines AI; the methods list the control first, the title says which arm is experimental
    recs = _recs(nlp, "Trabectedin versus doxorubicin plus ifosfamide in advanced liposarcoma: a randomised trial",
                 "Patients were randomly assigned to doxorubicin plus ifosfamide (AI; n = 61) or trabectedin (n = 59). "
                 "Median PFS was 5.1 months with AI and 7.4 months with trabectedin (HR 0.71; 95% CI 0.50-0.99).")
    assert _arms(recs) == {("PFS", "comparator", 5.1), ("PFS", "intervention", 7.4)}
    assert {r["intervention"] for r in recs} == {"trabectedin"}


def test_code_right_after_the_agents_it_abbreviates_is_an_arm_label():
    text = "we gave zanotinib emtansine (ZT-M1) to half of them; the others had the SARC-Q12 protocol (SQ-12)"
    spans = [(8, 17, "zanotinib"), (18, 27, "emtansine")]
    assert find_definitions(text, spans) == {"ZT-M1": "emtansine+zanotinib"}


def test_one_value_for_both_arms_named(nlp):
    recs = _recs(nlp, "Pazopanib versus placebo in desmoid tumours: a randomised trial",
                 "Patients were randomised to pazopanib or placebo. Median OS was 14.0 months for both pazopanib and "
                 "placebo.")
    assert _arms(recs) == {("OS", "intervention", 14.0), ("OS", "comparator", 14.0)}


def test_groups_defined_by_what_their_patients_received(nlp):
    # "Group 1 ... consisted of patients treated with X": labels the text ties to agents far from the values,
    # with a regimen's short form written before its expansion, "GD (gemcitabine/docetaxel)"
    recs = _recs(nlp, "Trabectedin after first-line therapy in uterine leiomyosarcoma: a single-centre retrospective "
                      "review",
                 "Group 1 (N = 80) consisted of patients treated between 2001 and 2009 with GD (gemcitabine/docetaxel) "
                 "based regimens. Group 2 (N = 41) consisted of patients treated between 2010 and 2016 with GD "
                 "followed by trabectedin. The groups were similar in age. Survival was longer in group 2 "
                 "(median OS: group 1, 20 months; group 2, 31 months; P = 0.02).")
    assert _arms(recs) == {("OS", "comparator", 20.0), ("OS", "intervention", 31.0)}
    assert {r["intervention"] for r in recs} == {"docetaxel+gemcitabine+trabectedin"}


def test_label_and_expansion_grammars_are_pure_functions():
    t = "Arm A (n = 12) received alphamab; arm B (n = 11) was treated with betacin plus alphamab."
    spans = [(t.index("alphamab"), t.index("alphamab") + 8, "alphamab"), (t.index("betacin"), t.index("betacin") + 7,
             "betacin"), (t.rindex("alphamab"), t.rindex("alphamab") + 8, "alphamab")]
    assert find_label_definitions(t, spans) == {"Arm A": "alphamab", "Arm B": "alphamab+betacin"}
    # an expansion that names more than agents is no regimen's
    t2 = "KLM (kappa/lambda in mice) and XYZ (ximab/yotinib)"
    assert find_expansions(t2, [(5, 10, "kappa"), (36, 41, "ximab"), (42, 49, "yotinib")]) == {"XYZ": "ximab+yotinib"}


def test_another_trial_randomised_inside_a_review_frames_its_own_values(nlp):
    recs = _recs(nlp, "Eribulin in soft-tissue sarcoma: a narrative review",
                 "Two phase 3 trials were identified. The first trial randomised patients to eribulin or dacarbazine. "
                 "Median OS was 13.5 months for eribulin versus 11.2 months for dacarbazine (HR 0.77). "
                 "A later trial randomised patients to eribulin plus gemcitabine versus gemcitabine plus placebo. "
                 "Median PFS was 6.0 months with eribulin-gemcitabine compared with 3.1 months with "
                 "placebo-gemcitabine (HR 0.52).")
    got = {(r["endpoint"], r["arm"], r["value"], r["intervention"]) for r in recs if r["measure"] == "median"}
    assert ("PFS", "intervention", 6.0, "eribulin+gemcitabine") in got
    assert ("PFS", "comparator", 3.1, "eribulin+gemcitabine") in got
    assert ("OS", "intervention", 13.5, "eribulin") in got


def test_placebo_controlled_title_keeps_two_arms_and_a_result_after_with(nlp):
    # "placebo-controlled ... X plus Y versus Y plus placebo": no third, bare placebo arm; "with a median
    # OS of N" is a result, not a population qualifier
    recs = _recs(nlp, "Randomised, placebo-controlled, phase 2 study of pazopanib plus gemcitabine versus gemcitabine "
                      "plus placebo in leiomyosarcoma",
                 "At the final analysis 120 deaths were recorded, with a median OS of 17.4 months for pazopanib plus "
                 "gemcitabine and 13.9 months for placebo plus gemcitabine.")
    assert _arms(recs) == {("OS", "intervention", 17.4), ("OS", "comparator", 13.9)}
    assert {r["comparator"] for r in recs} == {"gemcitabine"}


def test_drug_named_in_parentheses_after_its_class_and_role_groups(nlp):
    recs = _recs(nlp, "Phase 3 study of a humanised monoclonal antibody (Corvexin) combined with gemcitabine in "
                      "angiosarcoma",
                 "Patients were randomised 2:1 to a test group and a control group. Patients in the test group "
                 "received Corvexin combined with gemcitabine. Patients in the control group received gemcitabine. "
                 "The median PFS of the test group was longer than that of the control group, 30.2 weeks vs "
                 "16.5 weeks (HR 0.41).")
    assert _arms(recs) == {("PFS", "intervention", 30.2), ("PFS", "comparator", 16.5)}
    assert {r["intervention"] for r in recs} == {"corvexin+gemcitabine"}
    assert "unknown_agent" in recs[0]["flags"]


def test_regimen_list_no_further_therapy_and_the_one_arm_named_first(nlp):
    # "X, Y, and Z" is one regimen; "no further therapy" is observation; "induction therapy alone" names the
    # control, the only arm named before two compared values
    recs = _recs(nlp, "Consolidation chemotherapy after induction for metastatic Ewing sarcoma in remission",
                 "Patients in remission were randomised to consolidation with ifosfamide, etoposide, and doxorubicin "
                 "or to no further therapy. The median EFS for patients randomised to induction therapy alone was "
                 "4.1 months, compared with 8.8 months for patients who completed consolidation (P = .01).")
    assert _arms(recs) == {("EFS", "comparator", 4.1), ("EFS", "intervention", 8.8)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("doxorubicin+etoposide+ifosfamide", "observation")}


def test_backbone_written_once_after_the_control(nlp):
    recs = _recs(nlp, "A randomised phase 2 study of pazopanib or placebo in combination with gemcitabine in "
                      "leiomyosarcoma",
                 "Median PFS was 6.3 months with pazopanib plus gemcitabine and 4.0 months with placebo plus "
                 "gemcitabine.")
    assert _arms(recs) == {("PFS", "intervention", 6.3), ("PFS", "comparator", 4.0)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("gemcitabine+pazopanib", "gemcitabine")}


def test_agents_joined_to_a_previous_treatment_are_previous_too(nlp):
    recs = _recs(nlp, "Maintenance pazopanib versus observation in sarcoma after disease control with four cycles of "
                      "doxorubicin plus ifosfamide",
                 "Median PFS was 7.2 months with pazopanib and 3.3 months with observation.")
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("pazopanib", "observation")}


def test_schedule_defined_labels_and_a_reference_arm_of_three(nlp):
    recs = _recs(nlp, "A randomised three-arm study of two schedules of eribulin or docetaxel, each with gemcitabine",
                 "The study compared two schedules of eribulin with gemcitabine, relative to a reference arm of "
                 "docetaxel and gemcitabine. Patients were randomised to eribulin 1.1 mg/m(2) weekly plus "
                 "gemcitabine (Arm A: n = 30); eribulin 1.4 mg/m(2) every 3 weeks (lowered to 1.1 mg/m(2) after two "
                 "cycles) plus gemcitabine (Arm B: n = 31); or docetaxel 75 mg/m(2) plus gemcitabine (Arm C: n = 29). "
                 "Median PFS was 5.5 months in Arm A, 6.6 months in Arm B, and 4.4 months in Arm C.")
    assert _arms(recs) == {("PFS", "intervention", 5.5), ("PFS", "intervention", 6.6), ("PFS", "comparator", 4.4)}
    assert {r["comparator"] for r in recs} == {"docetaxel+gemcitabine"}


def test_a_whole_drug_name_stem_is_an_agent_and_a_cd_marker_is_not():
    text = "Ixabepilone versus placebo in patients selected by CD105 and CD44 expression"
    names = {m[3][0] for m in unlisted_agent_mentions(text, [])}
    assert "ixabepilone" in names
    assert not any(n.startswith("cd") for n in names)


# -- subgroups: records about a narrower population carry subgroup / subgroup_label (DESIGN.md round 2) --------
def test_subgroup_named_before_the_values(nlp):
    recs = _recs(nlp, "Pazopanib plus gemcitabine versus gemcitabine alone in leiomyosarcoma: a randomised trial",
                 "Median PFS was 6.1 versus 4.9 months (HR 0.80). The difference in median PFS was largest among "
                 "patients who had received prior radiotherapy (7.7 v 4.0 months; P = .03).")
    sub = {(r["value"], r["arm"], r.get("subgroup"), r.get("subgroup_label")) for r in recs if r["measure"] == "median"}
    assert (7.7, "intervention", "line", "who had received prior radiotherapy") in sub
    assert (4.0, "comparator", "line", "who had received prior radiotherapy") in sub
    assert (6.1, "intervention", None, None) in sub


def test_subgroup_word_and_cohort_labels(nlp):
    recs = _recs(nlp, "Trabectedin versus dacarbazine in advanced sarcoma: a randomised trial",
                 "In the high-expression subgroup, median PFS was 5.5 months with trabectedin and 2.0 months with "
                 "dacarbazine. In cohort 2, median PFS was 3.9 months with trabectedin and 2.6 months with "
                 "dacarbazine.")
    got = {(r["value"], r.get("subgroup"), r.get("subgroup_label")) for r in recs if r["measure"] == "median"}
    assert got == {(5.5, "biomarker", "high-expression"), (2.0, "biomarker", "high-expression"),
                   (3.9, "cohort", "cohort 2"), (2.6, "cohort", "cohort 2")}


def test_factor_levels_listed_then_their_values_respectively(nlp):
    # four age bands are subgroups of one treatment, never four arms
    recs = _recs(nlp, "Trabectedin in older patients with sarcoma: a pooled analysis of three single-arm trials",
                 "Overall, 400 patients were analysed (<50 years, n = 120; 50-64 years, n = 130; 65-74 years, "
                 "n = 100; >=75 years, n = 50). Age had no significant impact on median OS (13.1 months, 12.2 months, "
                 "12.9 months, and 11.8 months, respectively; p = .71).")
    got = {(r["value"], r["arm"], r.get("subgroup"), r.get("subgroup_label")) for r in recs if r["endpoint"] == "OS"}
    assert got == {(13.1, "single", "age", "<50 years"), (12.2, "single", "age", "50-64 years"),
                   (12.9, "single", "age", "65-74 years"), (11.8, "single", "age", ">=75 years")}


def test_histotype_subgroup_label_as_printed(nlp):
    recs = _recs(nlp, "Trabectedin versus dacarbazine in liposarcoma or leiomyosarcoma: a randomised trial",
                 "Among patients with uterine LMS, median OS was 18.2 months with trabectedin and 12.0 months with "
                 "dacarbazine.")
    got = {(r["value"], r.get("subgroup"), r.get("subgroup_label")) for r in recs if r["measure"] == "median"}
    assert got == {(18.2, "histotype", "uterine LMS"), (12.0, "histotype", "uterine LMS")}


@pytest.mark.parametrize(("label", "kind"), [
    ("aged 70 years or older", "age"), ("who had received prior chemotherapy", "line"),
    ("ER-negative disease", "biomarker"), ("cohort B", "cohort"), ("who completed surgery", "population")])
def test_subgroup_kinds(label, kind):
    assert subgroup_kind(label) == kind
