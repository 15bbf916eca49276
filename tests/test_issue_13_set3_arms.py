"""Issue 13, held-out set 3 (arms): arm roles the extractor took from the order of mention, a trial code read as
an agent and a one-letter short form. Invented words and numbers around each pattern."""

import pytest

from extraction.arms import parse_arms
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body=""):
    doc = SimpleDocument(text=title + ("\n\n" + body if body else ""), source_id="file:0a1b2c3d4e5f",
                         source_file="t.txt")
    return extract_document(nlp, doc)


def test_addition_of_agents_to_a_backbone_is_the_backbone_with_and_without_them():
    text = "Addition of Irinotecan and Temozolomide to Vincristine and Cyclophosphamide for relapsed sarcoma"
    ms = [(12, 22, "AGENT", ("irinotecan",)), (27, 39, "AGENT", ("temozolomide",)),
          (43, 54, "AGENT", ("vincristine",)), (59, 75, "AGENT", ("cyclophosphamide",))]
    assert parse_arms(text, ms) == [frozenset({"irinotecan", "temozolomide", "vincristine", "cyclophosphamide"}),
                                    frozenset({"vincristine", "cyclophosphamide"})]


def test_added_agents_make_the_experimental_arm_whatever_the_results_name_first(nlp):
    recs = _recs(nlp, "Addition of Irinotecan to Vincristine and Cyclophosphamide Brings No Gain in "
                 "Rhabdomyosarcoma",
                 "Patients were randomly assigned to vincristine and cyclophosphamide with or without irinotecan. "
                 "The 3-year EFS was 58% with vincristine and cyclophosphamide and 61% with the irinotecan "
                 "regimen (P = .40).")
    got = {(r["arm"], round(r["value"], 2), r["intervention"], r["comparator"]) for r in recs}
    assert got == {("comparator", 0.58, "cyclophosphamide+irinotecan+vincristine", "cyclophosphamide+vincristine"),
                   ("intervention", 0.61, "cyclophosphamide+irinotecan+vincristine", "cyclophosphamide+vincristine")}


def test_the_arm_called_the_standard_is_the_comparator_even_when_named_first(nlp):
    recs = _recs(nlp, "Ifosfamide plus epirubicin vs. gemcitabine plus docetaxel before surgery for sarcoma",
                 "We tested if docetaxel with gemcitabine (GD) would prove non-inferior to standard "
                 "ifosfamide plus epirubicin (IE). Patients were randomised to IE or GD. The 2-year OS was "
                 "88.0% for IE and 81.5% for GD.")
    got = {(r["arm"], round(r["value"], 3)) for r in recs}
    assert got == {("comparator", 0.88), ("intervention", 0.815)}
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("docetaxel+gemcitabine", "epirubicin+ifosfamide")}


def test_a_hyphenated_study_code_is_no_agent_and_a_one_letter_short_form_is_the_agents_initial(nlp):
    recs = _recs(nlp, "Phase 3 study of Betafosfamide (BF) in Combination with Doxorubicin (D) versus D Alone in "
                 "Soft-Tissue Sarcoma: Study AB-XY-512/SARC099",
                 "In all, 500 patients were randomized: 251 BF+D, 249 D. Median OS was 17.1 months for BF+D and "
                 "17.6 months for D alone.")
    got = {(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs}
    assert got == {("intervention", 17.1, "betafosfamide+doxorubicin", "doxorubicin"),
                   ("comparator", 17.6, "betafosfamide+doxorubicin", "doxorubicin")}


def test_a_title_on_its_own_line_is_its_own_sentence_and_its_population_the_trials(nlp):
    recs = _recs(nlp, "Adding Irinotecan to Vincristine and Cyclophosphamide for Intermediate-Risk "
                 "Rhabdomyosarcoma\nBackground Intermediate-risk rhabdomyosarcoma includes embryonal RMS (ERMS) at "
                 "unfavourable sites and alveolar RMS (ARMS). Patients were randomly assigned to vincristine and "
                 "cyclophosphamide with or without irinotecan. The 3-year EFS was 58% with vincristine and "
                 "cyclophosphamide and 61% with the irinotecan regimen (P = .40).")
    assert {tuple(r["histotypes"]) for r in recs} == {("rhabdomyosarcoma",)}


def test_chemotherapy_the_patients_had_not_had_is_no_arm(nlp):
    recs = _recs(nlp, "Phase 3 Trial of Betafosfamide (BF) in Combination with Doxorubicin (D) versus D Alone for "
                 "Advanced Soft-Tissue Sarcoma (STS): Study AB-XY-512\nIn this phase 3 trial we set "
                 "betafosfamide (BF) plus "
                 "doxorubicin (D) against D alone for adults with inoperable or metastatic STS previously untreated "
                 "with any chemotherapy in the metastatic setting. Median OS was 17.1 months for BF+D and "
                 "17.6 months for D.")
    assert {(r["intervention"], r["comparator"]) for r in recs} == {("betafosfamide+doxorubicin", "doxorubicin")}


def test_one_dose_given_once_or_twice_a_day_makes_two_arms(nlp):
    recs = _recs(nlp, "Higher-dose betatinib for advanced GIST: a randomised trial",
                 "Methods 610 patients were randomly allocated betatinib 300 mg either once or twice a day. "
                 "Findings 150 of 305 patients given betatinib once a day had progressed compared with 131 of 305 "
                 "given it twice a day (hazard ratio 0·86 [95% CI 0·70-1·06]; p=0·16).")
    got = [(r["endpoint"], r["measure"], r["value"], r["p_value"]) for r in recs]
    assert got == [("PFS", "HR", 0.86, 0.16)]
    assert not any(r["measure"] == "rate" for r in recs)  # a share that progressed, with no time, is no PFS rate
