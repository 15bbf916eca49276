"""Issue 13, second real set (helper set2b): the grammars that failed there, each in our own invented words
and numbers around the pattern (never a real abstract's sentences)."""

import pytest

from extraction.arms import parse_arms
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:00000000abce", source_file="t.txt")
    return extract_document(nlp, doc)


def test_rate_with_its_ci_printed_as_proportions(nlp):
    # the rate in percent, its CI bounds as proportions around it: the bounds are not divided again
    recs = _recs(nlp, "Pazopanib in advanced liposarcoma: a single-arm phase II study",
                 "Forty patients received pazopanib. The 1-year PFS rate was 42% (95% confidence interval: "
                 "0.27-0.57).")
    pfs = [r for r in recs if r["endpoint"] == "PFS" and r["measure"] == "rate"]
    assert [(r["value"], r["ci_low"], r["ci_high"]) for r in pfs] == [(0.42, 0.27, 0.57)]


def test_rate_with_a_percent_ci_still_scaled(nlp):
    recs = _recs(nlp, "Pazopanib in advanced liposarcoma: a single-arm phase II study",
                 "Forty patients received pazopanib. The 1-year PFS rate was 42% (95% CI 27-57).")
    pfs = [r for r in recs if r["endpoint"] == "PFS" and r["measure"] == "rate"]
    assert [(r["ci_low"], r["ci_high"]) for r in pfs] == [(0.27, 0.57)]


def _ms(text, names):
    out = []
    for n in names:
        i = text.lower().index(n, out[-1][1] if out else 0)
        out.append((i, i + len(n), "AGENT", (n,)))
    return out


def test_backbone_after_a_comma_goes_to_every_arm():
    # ``X on day 1 or Y on days 1 and 4, together with Z and W``: Z and W are every arm's backbone
    text = ("Patients were randomised to olaratumab on day 1 or pazopanib on days 1 and 4 of each cycle, "
            "together with ifosfamide on days 2 and 3, and etoposide on day 1.")
    ms = _ms(text, ["olaratumab", "pazopanib", "ifosfamide", "etoposide"])
    assert [sorted(a) for a in parse_arms(text, ms)] == [["etoposide", "ifosfamide", "olaratumab"],
                                                         ["etoposide", "ifosfamide", "pazopanib"]]


def test_together_with_in_one_arm_stays_that_arms():
    # no choice before it: ``together with`` joins one regimen, and ``versus`` after it opens the next arm
    text = "Eribulin, together with dacarbazine, versus dacarbazine alone."
    ms = _ms(text, ["eribulin", "dacarbazine", "dacarbazine"])
    assert [sorted(a) for a in parse_arms(text, ms)] == [["dacarbazine", "eribulin"], ["dacarbazine"]]


def test_backbone_in_a_full_document(nlp):
    recs = _recs(nlp, "Olaratumab or pazopanib with chemotherapy for relapsed synovial sarcoma: a randomised "
                      "phase II trial",
                 "Patients were randomly assigned to receive olaratumab on day 1 or pazopanib on days 1 and 4 "
                 "of each 28-day cycle, together with ifosfamide on days 2 and 3, and etoposide on day 1. "
                 "The 1-year EFS was 41.5% for the olaratumab arm and 58.2% for the pazopanib arm.")
    efs = {(r["arm"], round(r["value"], 4), r["intervention"], r["comparator"]) for r in recs if r["endpoint"] == "EFS"}
    assert efs == {("intervention", 0.415, "etoposide+ifosfamide+olaratumab", "etoposide+ifosfamide+pazopanib"),
                   ("comparator", 0.582, "etoposide+ifosfamide+olaratumab", "etoposide+ifosfamide+pazopanib")}


def test_generic_word_describing_the_regimen_is_no_arm():
    # ``X and Y as first-line chemotherapy``: one regimen described, not a second arm
    text = "A phase II study of trabectedin and eribulin as second line chemotherapy in liposarcoma"
    ms = _ms(text, ["trabectedin", "eribulin", "chemotherapy"])
    assert [sorted(a) for a in parse_arms(text, ms)] == [["eribulin", "trabectedin"]]


def test_generic_arm_named_by_a_comparison_word_stays():
    text = "Trabectedin versus chemotherapy in liposarcoma"
    ms = _ms(text, ["trabectedin", "chemotherapy"])
    assert [sorted(a) for a in parse_arms(text, ms)] == [["trabectedin"], ["chemotherapy"]]


def test_ci_label_capitalised_and_range_in_its_own_bracket():
    from extraction.numbers import find_intervals, normalize
    got = [(i.low, i.high) for i in find_intervals(normalize(
        "PFS was 4 months (95 % CI [2.5-6.1]); the rate was 7.5% (90% Confidence Interval (CI): 1.2-19.8%)."))]
    assert got == [(2.5, 6.1), (1.2, 19.8)]


def test_registry_data_is_an_observational_cohort(nlp):
    # no design word but ``data from the national registry``: one cohort, its treatment from the methods
    recs = _recs(nlp, "Off-label targeted therapies in chondrosarcoma: data from the national registry ABCDE",
                 "Eighteen patients were registered. Seventeen patients received cabozantinib. "
                 "The median OS was 9.4 months (95 % CI [6.2-13.0]).")
    os_ = [(r["arm"], r["value"], r["ci_low"], r["ci_high"]) for r in recs if r["endpoint"] == "OS"]
    assert os_ == [("single", 9.4, 6.2, 13.0)]


def test_single_arm_total_given_to_n_patients(nlp):
    recs = _recs(nlp, "Eribulin in advanced angiosarcoma: a phase II study",
                 "Eribulin 1.4 mg/m2 was given as a 5-min intravenous (i.v.) bolus on days 1 and 8 to 27 patients "
                 "with advanced angiosarcoma. The median OS was 311 days (95% CI: 150-402).")
    assert [(r["value"], r["n"]) for r in recs if r["endpoint"] == "OS"] == [(311, 27)]


def test_single_arm_total_evaluable_for_response(nlp):
    recs = _recs(nlp, "A phase II trial of eribulin as first line treatment in angiosarcoma",
                 "Thirty-one patients were evaluable for response. Median OS was 12.2 months (95% CI 9.0-15.1).")
    assert [(r["value"], r["n"]) for r in recs if r["endpoint"] == "OS"] == [(12.2, 31)]


def test_meta_analysis_of_an_unnamed_class_keeps_its_named_control(nlp):
    recs = _recs(nlp, "Kinase blockers after chemotherapy in sarcoma: a meta-analysis",
                 "We pooled 5 randomised trials with 812 patients. The PFS (HR: 0.52, 95% CI: 0.41-0.66, "
                 "P < .0001) of patients treated with kinase blockers was better than that in the placebo group.")
    hr = [(r["arm"], r["value"], r["intervention"], r["comparator"]) for r in recs if r["measure"] == "HR"]
    assert hr == [("contrast", 0.52, None, "placebo")]


def test_subgroup_opening_its_own_sentence_has_no_trial_size(nlp):
    recs = _recs(nlp, "Eribulin in advanced liposarcoma: a retrospective analysis of 64 consecutive patients",
                 "We retrospectively analysed 64 consecutive patients treated with eribulin. The median OS was "
                 "11.5 months. Moreover, patients with bone metastases had shorter median OS (6.2 months vs. "
                 "14.9 months) compared to those without.")
    got = sorted((r["value"], r["n"]) for r in recs if r["endpoint"] == "OS")
    assert got == [(6.2, None), (11.5, 64), (14.9, None)]


def test_denominator_beside_a_rate_is_no_rate():
    from extraction.values import scan_values
    stats, _ps, _tps = scan_values("Responses were two partial and one complete (3/41, 7%).")
    assert [(s.kind, s.value) for s in stats if s.kind == "rate"] == [("rate", 7.0)]


def test_share_with_its_own_outcome_after_it_is_no_response_rate(nlp):
    recs = _recs(nlp, "Olaratumab or pazopanib with ifosfamide for relapsed synovial sarcoma: a randomised trial",
                 "Patients were randomly assigned to olaratumab or pazopanib. Response rates were 31% and 44% for "
                 "the olaratumab and pazopanib arms, respectively (P = .21), and 19% of patients on olaratumab and "
                 "9% on pazopanib had progressive disease at 8 weeks.")
    orr = sorted((r["arm"], round(r["value"], 3)) for r in recs if r["endpoint"] == "ORR")
    assert orr == [("comparator", 0.44), ("intervention", 0.31)]
