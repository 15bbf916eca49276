"""Tests of the ClinicalTrials.gov v2 reader: study JSON to a Document and to evidence records."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from evidence.schema import FIELDS, validate_record
from extraction.ingest import IngestError, read_documents, records_from_study
from extraction.ingest.ctgov import EXTRACTOR, document_from_study, load_studies
from extraction.ingest.ctgov_fields import (
    ci_level,
    endpoint_of,
    parse_number,
    parse_p,
    phase_of,
    ratio_measure,
    timepoint_months,
)

FIXTURE = Path(__file__).parent / "fixtures" / "ingest" / "ctgov_rct.json"


@pytest.fixture
def study() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _by(records, **where):
    return [r for r in records if all(r[k] == v for k, v in where.items())]


def _outcome(study, title):
    oms = study["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    return next(om for om in oms if om["title"] == title)


# ------------------------------------------------------------------------------------------ parsers
@pytest.mark.parametrize(("text", "expected"), [
    ("<0.0001", (0.0001, "<")), ("0.017", (0.017, "=")), ("< .001", (0.001, "<")), ("≤0.05", (0.05, "<=")),
    (">0.99", (0.99, ">")), ("=0.2", (0.2, "=")), ("NA", (None, None)), ("", (None, None)),
    ("0", (None, None)), ("1.5", (None, None)), ("0.03 (one-sided)", (0.03, "=")),
])
def test_parse_p(text, expected):
    assert parse_p(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("4.6", (4.6, True)), ("-0.5", (-0.5, True)), ("NA", (None, True)), ("99999", (None, True)),
    ("-99999", (None, True)), ("  ", (None, True)), ("12 months", (None, False)), ("1,234", (None, False)),
    ("nan", (None, False)), ("inf", (None, False)), (None, (None, True)), (3, (3.0, True)),
])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(("title", "endpoint"), [
    ("Progression-free Survival (PFS)", "PFS"), ("Overall Survival", "OS"), ("Overall Survival (OS)", "OS"),
    ("Objective Response Rate", "ORR"), ("Overall Response Rate (ORR) Per RECIST 1.1", "ORR"),
    ("Percentage of Participants With Best Overall Response", "ORR"), ("Disease-free Survival", "DFS"),
    ("Relapse-Free Survival", "RFS"), ("Local Recurrence-free Survival", "LRFS"),
    ("Metastasis-free Survival", "MFS"), ("Event-free Survival", "EFS"), ("Time to Progression", "TTP"),
    ("Disease Control Rate", "DCR"), ("Clinical Benefit Rate", "CBR"), ("3-Year Survival Rate", "OS"),
    ("Number of Participants With Adverse Events", None), ("Maximum Plasma Concentration (Cmax)", None),
    ("Duration of Response", None), ("Quality of Life (EORTC QLQ-C30)", None),
    ("Pathologic Complete Response Rate", None), ("Area Under the Curve (AUC) of Pazopanib", None),
])
def test_endpoint_of(title, endpoint):
    assert endpoint_of(title) == endpoint


def test_small_parsers():
    assert phase_of(["PHASE3"]) == "3" and phase_of(["PHASE1", "PHASE2"]) == "1/2"
    assert phase_of(["PHASE2", "PHASE3"]) == "2/3" and phase_of(["PHASE4"]) == "" and phase_of(None) == ""
    assert ci_level("95% Confidence Interval") == 0.95 and ci_level("90% Confidence Interval") == 0.9
    assert ci_level("CONFIDENCE_95") == 0.95 and ci_level("Standard Deviation") is None
    assert ratio_measure("Hazard Ratio (HR)") == "HR" and ratio_measure("Odds Ratio (OR)") == "OR"
    assert ratio_measure("Risk Ratio (RR)") == "RR" and ratio_measure("Mean Difference (Final Values)") is None
    assert timepoint_months("5-year OS") == 60 and timepoint_months("Rate at 6 Months") == 6
    assert timepoint_months("Overall Survival") is None


# ----------------------------------------------------------------------------------------- document
def test_document_fields_and_sections(study):
    doc = document_from_study(study, "trial.json")
    assert doc.source_id == doc.nct_id == "NCT09900001"
    assert doc.title == "Pazopanib Versus Placebo in Metastatic Soft Tissue Sarcoma After Prior Chemotherapy"
    assert doc.year == 2011  # results first posted
    assert doc.source_file == "trial.json" and doc.pages == ()
    labels = [label for label, _, _ in doc.sections]
    assert labels[:3] == ["Progression-free Survival (PFS)", "Overall Survival",
                          "Percentage of Participants With Objective Response (ORR)"]
    for label, start, end in doc.sections:
        assert doc.text[start:end].startswith(f"{label} [")
        assert doc.text[end] == "\n"
    # non-efficacy outcomes are rendered too, they just give no records
    assert "Number of Participants With Serious Adverse Events: 101 Participants in Pazopanib" in doc.text


def test_year_falls_back_to_completion_date(study):
    del study["protocolSection"]["statusModule"]["resultsFirstPostDateStruct"]
    assert document_from_study(study, "t.json").year == 2012


# ------------------------------------------------------------------------------------------ records
def test_records_of_the_fixture(study):
    records = records_from_study(study, "trial.json")
    assert all(list(r) == list(FIELDS) for r in records)
    pfs_hr, = _by(records, endpoint="PFS", measure="HR")
    assert pfs_hr["arm"] == "contrast" and pfs_hr["value"] == 0.31
    assert (pfs_hr["ci_low"], pfs_hr["ci_high"], pfs_hr["ci_level"]) == (0.24, 0.40, 0.95)
    assert (pfs_hr["p_value"], pfs_hr["p_relation"], pfs_hr["n"]) == (0.0001, "<", 360)
    assert (pfs_hr["intervention"], pfs_hr["comparator"]) == ("pazopanib", "placebo")
    os_hr, = _by(records, endpoint="OS", measure="HR")
    assert (os_hr["p_value"], os_hr["p_relation"]) == (0.017, "=")
    med_int, = _by(records, endpoint="PFS", measure="median", arm="intervention")
    med_cmp, = _by(records, endpoint="PFS", measure="median", arm="comparator")
    assert (med_int["value"], med_int["unit"], med_int["ci_low"], med_int["ci_high"], med_int["n"]) == (
        4.6, "months", 3.7, 4.8, 240)
    assert (med_cmp["value"], med_cmp["n"], med_cmp["intervention"], med_cmp["comparator"]) == (
        1.6, 120, "pazopanib", "placebo")
    common = {"source_id": "NCT09900001", "source_file": "trial.json", "year": 2011, "trial": "FIXTURE-1",
              "phase": "3", "randomized": True, "setting": "advanced", "line": "second_plus",
              "extractor": EXTRACTOR, "confidence": 1.0, "status": "extracted", "page": None}
    for r in records:
        assert {k: r[k] for k in common} == common
        assert "soft_tissue_sarcoma" in r["histotypes"] and r["record_id"]
    assert len({r["record_id"] for r in records}) == len(records)


def test_not_estimable_and_unparseable_values_give_no_record(study, caplog):
    with caplog.at_level(logging.WARNING, logger="extraction.ingest.ctgov"):
        records = records_from_study(study, "trial.json")
    os_medians = _by(records, endpoint="OS", measure="median")
    assert [r["arm"] for r in os_medians] == ["intervention"]  # placebo median "NA": no record
    assert os_medians[0]["ci_low"] == 10.6 and os_medians[0]["ci_high"] is None  # 99999 upper limit
    assert "ci_bound_not_estimable" in os_medians[0]["flags"]
    assert not _by(records, endpoint="ORR", measure="OR")  # paramValue "abc"
    pfs_rates = _by(records, endpoint="PFS", measure="rate")
    assert [(r["arm"], r["value"], r["timepoint_months"]) for r in pfs_rates] == [("intervention", 0.625, 2.76)]
    assert "unparseable value 'about 20'" in caplog.text and "unparseable OR 'abc'" in caplog.text
    doc = document_from_study(study, "trial.json")
    assert any("about 20" in w for w in doc.meta["warnings"])


def test_percentages_become_proportions(study):
    records = records_from_study(study, "trial.json")
    orr, = _by(records, endpoint="ORR", arm="intervention")
    assert (orr["measure"], orr["unit"], orr["value"], orr["ci_low"], orr["ci_high"]) == (
        "rate", "proportion", 0.06, 0.032, 0.097)
    assert orr["timepoint_months"] is None


def test_offsets_point_at_the_rendering(study):
    doc = document_from_study(study, "trial.json")
    records = doc.meta["records"]
    assert records == records_from_study(study, "trial.json")
    for r in records:
        assert doc.text[r["char_start"]:r["char_end"]] == r["evidence_text"]
        assert "\n" not in r["evidence_text"]
        number = doc.text[r["value_start"]:r["value_end"]]
        assert float(number) == pytest.approx(r["value"] * (100 if r["unit"] == "proportion" else 1))
    med, = _by(records, endpoint="PFS", measure="median", arm="intervention")
    assert med["evidence_text"] == ("Progression-free Survival (PFS): median 4.6 months (95% CI 3.7–4.8) "
                                    "in Pazopanib (n=240)")


def test_records_validate_through_the_schema(study):
    for r in records_from_study(study, "trial.json"):
        assert validate_record(r).to_dict() == r


def test_counts_of_responders_over_denominators(study):
    om = _outcome(study, "Percentage of Participants With Objective Response (ORR)")
    om.update(title="Number of Participants With Objective Response", paramType="COUNT_OF_PARTICIPANTS",
              unitOfMeasure="Participants", dispersionType=None)
    om["classes"][0]["categories"][0]["measurements"] = [{"groupId": "OG000", "value": "24"},
                                                         {"groupId": "OG001", "value": "3"}]
    rates = _by(records_from_study(study, "t.json"), endpoint="ORR", measure="rate")
    assert [(r["arm"], r["value"], r["n"]) for r in rates] == [("intervention", 0.1, 240), ("comparator", 0.025, 120)]


def test_several_categories_give_no_arm_records(study, caplog):
    om = _outcome(study, "Percentage of Participants With Objective Response (ORR)")
    cat = om["classes"][0]["categories"][0]
    om["classes"][0]["categories"] = [dict(cat, title="Complete Response"), dict(cat, title="Partial Response")]
    with caplog.at_level(logging.WARNING):
        records = records_from_study(study, "t.json")
    assert not _by(records, endpoint="ORR")
    assert "several classes or categories" in caplog.text


def test_histotype_classes_become_subgroup_records(study):
    om = _outcome(study, "Progression-free Survival (PFS)")
    cls = om["classes"][0]
    om["classes"] = [dict(cls, title="Leiomyosarcoma"), dict(cls, title="Synovial Sarcoma")]
    medians = _by(records_from_study(study, "t.json"), endpoint="PFS", measure="median", arm="intervention")
    assert sorted(r["histotypes"][0] for r in medians) == ["leiomyosarcoma", "synovial_sarcoma"]


def test_unknown_agent_is_kept_and_flagged(study):
    arms = study["protocolSection"]["armsInterventionsModule"]
    arms["armGroups"][0]["interventionNames"] = ["Drug: XYZ-9999"]
    arms["interventions"][0].update(name="XYZ-9999", otherNames=[])
    hr, = _by(records_from_study(study, "t.json"), endpoint="PFS", measure="HR")
    assert hr["intervention"] == "XYZ-9999" and "unknown_agent" in hr["flags"]


def test_single_arm_phase_1_2_study(study):
    s = copy.deepcopy(study)
    proto = s["protocolSection"]
    proto["designModule"].update(phases=["PHASE1", "PHASE2"], designInfo={"allocation": "NA"})
    proto["armsInterventionsModule"]["armGroups"] = [
        {"label": "Trabectedin", "type": "EXPERIMENTAL", "interventionNames": ["Drug: Trabectedin"]}]
    proto["armsInterventionsModule"]["interventions"] = [{"type": "DRUG", "name": "Trabectedin"}]
    oms = s["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    for om in oms:
        om["groups"] = [{"id": "OG000", "title": "All Participants"}]
        om.pop("analyses", None)
        for cls in om["classes"]:
            for cat in cls["categories"]:
                cat["measurements"] = cat["measurements"][:1]
    records = records_from_study(s, "t.json")
    assert records and {r["arm"] for r in records} == {"single"}
    assert {(r["intervention"], r["comparator"] or "", r["phase"], r["randomized"]) for r in records} == {
        ("trabectedin", "", "1/2", False)}


def test_three_arm_trial_repeats_the_control_per_contrast(study):
    arms = study["protocolSection"]["armsInterventionsModule"]
    arms["armGroups"].insert(1, {"label": "Doxorubicin", "type": "EXPERIMENTAL",
                                 "interventionNames": ["Drug: Doxorubicin"]})
    om = _outcome(study, "Progression-free Survival (PFS)")
    om["groups"].append({"id": "OG002", "title": "Doxorubicin"})
    om["classes"][0]["categories"][0]["measurements"].append(
        {"groupId": "OG002", "value": "3.0", "lowerLimit": "2.1", "upperLimit": "4.0"})
    records = records_from_study(study, "t.json")
    control = _by(records, endpoint="PFS", measure="median", arm="comparator")
    assert sorted(r["intervention"] for r in control) == ["doxorubicin", "pazopanib"]
    assert len({r["record_id"] for r in control}) == 2


def test_study_without_results_has_no_records(study):
    del study["resultsSection"]
    doc = document_from_study(study, "t.json")
    assert doc.meta["records"] == [] and doc.text.startswith(doc.title)


# -------------------------------------------------------------------------------------------- files
def test_studies_page_wrapper(tmp_path, study):
    second = copy.deepcopy(study)
    second["protocolSection"]["identificationModule"]["nctId"] = "NCT09900002"
    p = tmp_path / "page.json"
    p.write_text(json.dumps({"studies": [study, second], "nextPageToken": "x"}), encoding="utf-8")
    docs = list(read_documents(p))
    assert [d.nct_id for d in docs] == ["NCT09900001", "NCT09900002"]
    assert len(load_studies(p)) == 2


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", r"not valid JSON \(line 1 column 2: .+\)"),
    ('{"foo": 1}', r"not a ClinicalTrials.gov v2 study \(no protocolSection\)"),
    ('{"studies": []}', r"not a ClinicalTrials.gov v2 study \(no protocolSection\)"),
    ('[1, 2]', r"not a ClinicalTrials.gov v2 study \(no protocolSection\)"),
    ('{"protocolSection": {"identificationModule": {"briefTitle": "x"}}}',
     r"study 1: no protocolSection.identificationModule.nctId"),
])
def test_bad_json_gives_one_line_ingest_error(tmp_path, content, reason):
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as err:
        list(read_documents(p))
    assert str(err.value).startswith(f"{p}: ") and "\n" not in str(err.value)
    assert __import__("re").fullmatch(reason, err.value.reason), err.value.reason


def test_wrongly_typed_fields_do_not_crash(tmp_path, study):
    study["protocolSection"]["designModule"] = "PHASE3"
    study["protocolSection"]["armsInterventionsModule"]["armGroups"] = [1, None, {"label": 5}]
    study["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]["classes"] = {"a": 1}
    p = tmp_path / "odd.json"
    p.write_text(json.dumps(study), encoding="utf-8")
    doc = next(read_documents(p))
    assert doc.nct_id == "NCT09900001"


def test_broad_condition_absorbs_listed_subtypes():
    """A trial in "Soft Tissue Sarcoma" that also lists its subtypes is one broad population, not a mix."""
    from extraction.ingest.ctgov_fields import histotypes_of

    assert histotypes_of(["Soft Tissue Sarcoma", "Leiomyosarcoma", "Liposarcoma"]) == ["soft_tissue_sarcoma"]
    assert histotypes_of(["Liposarcoma", "Dedifferentiated Liposarcoma"]) == ["liposarcoma"]
    assert histotypes_of(["Leiomyosarcoma", "Synovial Sarcoma"]) == ["leiomyosarcoma", "synovial_sarcoma"]
