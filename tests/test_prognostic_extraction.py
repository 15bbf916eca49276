"""Prognostic-factor statements (issue 18): each grammar on invented numbers, in the project's own words.

Each test writes a sentence the way prognostic papers state such results and checks the records: the factor and
its two levels, endpoint, measure, value, CI, adjustment — and that no treatment comparison comes out of it.
"""

from __future__ import annotations

import pytest

from evidence.factors import FACTORS, threshold_levels
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline
from extraction.prognostic import level_mentions, prognostic_sentence

TITLE = "Risk factors for distant relapse after resection of limb sarcoma: a retrospective cohort\n\n"


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def run(nlp, body: str) -> list[dict]:
    doc = SimpleDocument(text=TITLE + body, source_id="file:000000000001", source_file="cohort.txt")
    return extract_document(nlp, doc)


def key(r):
    return (r["factor"], r["factor_level"], r["factor_reference"], r["endpoint"], r["measure"], r["value"])


def test_ratio_for_a_level_with_adjustment_and_covariates(nlp):
    recs = run(nlp, "In the multivariable Cox model, high-grade histology independently predicted metastasis-free "
                    "survival (HR 3.1, 95% CI 2.0-4.8; P < .001) after adjusting for depth, size and age.")
    assert [key(r) for r in recs] == [("grade", "high grade", "low grade", "MFS", "HR", 3.1)]
    r = recs[0]
    assert (r["ci_low"], r["ci_high"], r["p_value"], r["p_relation"]) == (2.0, 4.8, 0.001, "<")
    assert r["question"] == "prognostic" and r["adjusted"] is True and r["covariates"] == ["depth", "size", "age"]
    assert r["intervention"] is None and r["comparator"] is None and r["arm"] == "contrast"


def test_pair_of_landmark_rates_for_a_size_cut_off(nlp):
    recs = run(nlp, "Patients whose tumours measured more than 10 cm had a 5-year MFS of 44% versus 71% for the "
                    "others (P = .003).")
    assert sorted(key(r) for r in recs) == [("size", "> 10 cm", "≤ 10 cm", "MFS", "rate", 0.44),
                                            ("size", "≤ 10 cm", "> 10 cm", "MFS", "rate", 0.71)]
    assert {r["timepoint_months"] for r in recs} == {60.0} and {r["arm"] for r in recs} == {"single"}


def test_incidence_pair_named_after_the_second_value_goes_to_that_level(nlp):
    # the level named after the second number ("for clear margins") takes it; the first goes to the other level
    recs = run(nlp, "Involved margins were linked with more local recurrences: 21% versus 9% for clear margins.")
    assert sorted(key(r) for r in recs) == [("margin", "R0", "R1", "LR", "rate", 0.09),
                                            ("margin", "R1", "R0", "LR", "rate", 0.21)]


def test_ratio_with_levels_named_versus_each_other_and_crude(nlp):
    recs = run(nlp, "R2 versus R0 resection: hazard ratio for local recurrence 2.2 (1.4-3.5) on univariate "
                    "analysis.")
    assert [key(r) for r in recs] == [("margin", "R2", "R0", "LRFS", "HR", 2.2)]
    assert recs[0]["adjusted"] is False and (recs[0]["ci_low"], recs[0]["ci_high"]) == (1.4, 3.5)


def test_depth_hazard_ratio_for_death_is_os(nlp):
    recs = run(nlp, "Deep-seated tumours carried a hazard ratio for death of 1.9 (95% CI 1.2 to 3.0) compared "
                    "with superficial ones.")
    assert [key(r) for r in recs] == [("depth", "deep", "superficial", "OS", "HR", 1.9)]


def test_suvmax_change_threshold_and_its_complement(nlp):
    recs = run(nlp, "A fall in SUVmax of 35% or more on PET after two cycles was associated with a 2-year DFS "
                    "of 75% compared with 38% in the remaining patients.")
    assert sorted(key(r) for r in recs) == [
        ("suvmax_change", "SUVmax decrease < 35%", "SUVmax decrease ≥ 35%", "DFS", "rate", 0.38),
        ("suvmax_change", "SUVmax decrease ≥ 35%", "SUVmax decrease < 35%", "DFS", "rate", 0.75)]


def test_p_glycoprotein_expression(nlp):
    recs = run(nlp, "P-gp positive tumours were associated with shorter overall survival (HR 2.05, "
                    "95% CI 1.10-3.82).")
    assert [key(r) for r in recs] == [("p_glycoprotein", "P-gp positive", "P-gp negative", "OS", "HR", 2.05)]


def test_adverse_event_grades_are_not_a_prognostic_factor(nlp):
    assert run(nlp, "Grade 3 adverse events occurred in 14% versus 6% of patients.") == []


def test_treatment_subgroup_in_a_trial_is_not_prognostic(nlp):
    doc = SimpleDocument(
        text="Drugamab versus placebo in advanced leiomyosarcoma: a randomised phase 3 trial\n\n"
             "Patients were randomly assigned to drugamab or placebo. Progression-free survival was longer with "
             "drugamab (HR 0.61, 95% CI 0.45-0.83). In patients with tumours larger than 5 cm the HR was 0.55 "
             "(95% CI 0.37-0.82).",
        source_id="file:000000000002")
    recs = extract_document(nlp, doc)
    assert all(r["question"] == "treatment" for r in recs)


def test_level_grammar_units():
    assert threshold_levels("≥", 60, "years") == ("≥ 60 years", "< 60 years")
    found = [(m.factor, m.level) for m in level_mentions("patients older than 65 years with grade III tumours")]
    assert found == [("age", "> 65 years"), ("grade", "grade 3")]
    assert FACTORS["grade"].reference_of("grade 3") == "grade 1"


def test_a_lone_percentage_is_not_a_comparison():
    s = "Some 59% of the tumours with a recorded size were larger than 5 cm."
    assert prognostic_sentence(s, s, require_cue=False) == []


def test_seed_review_gives_prognostic_records_and_no_treatment_comparison(nlp):
    """Smoke test on the review this product was conceived from (../shared/seeds/000_…)."""
    from pathlib import Path

    from extraction.ingest import read_documents

    seed = next((Path(__file__).resolve().parents[2] / "shared" / "seeds").glob("000_*.txt"))
    recs = [r for d in read_documents(str(seed)) for r in extract_document(nlp, d)]
    assert recs and all(r["question"] == "prognostic" for r in recs)
    assert {(r["factor"], r["factor_level"], r["endpoint"], r["value"]) for r in recs} >= {
        ("margin", "R1", "DM", 0.27), ("margin", "R0", "DM", 0.23)}
