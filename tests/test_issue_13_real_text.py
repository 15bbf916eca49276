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
