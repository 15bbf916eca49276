"""Statistic assembly on invented trial reports: one test per grammar rule of how results are reported."""

import pytest

from extraction.arms import comparator_index, map_mention, parse_arms
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, body, title="Sunitinib versus placebo in advanced angiosarcoma: a randomised phase 3 trial"):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0123456789ab", source_file="t.txt")
    return extract_document(nlp, doc)


def _key(r):
    return (r["endpoint"], r["measure"], r["arm"], r["value"])


def test_hr_with_ci_and_p_is_one_contrast_record(nlp):
    (r,) = _recs(nlp, "Overall survival was longer with sunitinib (HR 0·64, 95% CI 0·47–0·88; p=0·006).")
    assert _key(r) == ("OS", "HR", "contrast", 0.64)
    assert (r["ci_low"], r["ci_high"], r["p_value"], r["p_relation"]) == (0.47, 0.88, 0.006, "=")
    assert (r["intervention"], r["comparator"], r["histotypes"]) == ("sunitinib", "placebo", ["angiosarcoma"])
    assert r["evidence_text"].startswith("Overall survival") and r["value_end"] > r["value_start"]


def test_respectively_and_arm_sizes(nlp):
    recs = _recs(nlp, "We randomised 150 patients, 100 to sunitinib and 50 to placebo. "
                      "Median PFS was 7.2 and 3.1 months, respectively (P<.001).")
    got = {(r["arm"], r["value"], r["n"], r["p_value"]) for r in recs}
    assert got == {("intervention", 7.2, 100, 0.001), ("comparator", 3.1, 50, 0.001)}


def test_value_with_arm_versus_value_with_arm_in_reverse_order(nlp):
    recs = _recs(nlp, "Median OS was 8.0 months with placebo versus 11.5 months with sunitinib.")
    assert {(r["arm"], r["value"]) for r in recs} == {("comparator", 8.0), ("intervention", 11.5)}


def test_landmark_rate_weeks_to_months(nlp):
    recs = _recs(nlp, "The 12-week progression-free rate was 55% with sunitinib and 20% with placebo.")
    assert {(r["measure"], r["value"], r["timepoint_months"]) for r in recs} == {
        ("rate", 0.55, 2.77), ("rate", 0.2, 2.77)}


def test_p_on_median_line_only_when_no_ratio(nlp):
    recs = _recs(nlp, "Median PFS was 6.0 vs 4.0 months (HR 0.70, 95% CI 0.50-0.98; P=.04).")
    assert all(r["p_value"] is None for r in recs if r["measure"] == "median")
    assert [r["p_value"] for r in recs if r["measure"] == "HR"] == [0.04]


def test_subgroup_hrs_in_one_sentence_with_subgroup_n():
    nlp = build_pipeline()
    title = "Sunitinib versus placebo in liposarcoma or leiomyosarcoma: a randomised phase 3 trial"
    recs = _recs(nlp, "Of 200 patients randomised, 90 had liposarcoma and 110 leiomyosarcoma. "
                      "HRs for progression were 0.50 (0.30-0.80) in liposarcoma and 0.90 (0.60-1.30) in "
                      "leiomyosarcoma.", title)
    assert {(r["value"], tuple(r["histotypes"]), r["n"]) for r in recs} == {
        (0.5, ("liposarcoma",), 90), (0.9, ("leiomyosarcoma",), 110)}


def test_distractors_are_ignored(nlp):
    recs = _recs(nlp, "After a median follow-up of 30.1 months, median age was 60 years. Grade 3 fatigue "
                      "occurred in 12% vs 4% (OR 3.2, 95% CI 1.5-6.8). Quality of life did not differ (HR 0.9, "
                      "95% CI 0.7-1.2). The median duration of response was 9.0 months.")
    assert recs == []


def test_not_reached_gives_no_line_but_keeps_order(nlp):
    recs = _recs(nlp, "Median PFS was not reached with sunitinib and was 5.5 months with placebo.")
    assert [(r["arm"], r["value"]) for r in recs] == [("comparator", 5.5)]


def test_three_arm_respectively_and_shared_control(nlp):
    title = "Drug A alone or combined with ifosfamide or dacarbazine: a randomised phase 3 trial"
    body = ("Patients were randomly assigned to doxorubicin plus ifosfamide, doxorubicin plus dacarbazine, "
            "or doxorubicin alone. Median OS was 20.0, 18.0 and 15.0 months, respectively.")
    recs = _recs(nlp, body, title.replace("Drug A", "Doxorubicin"))
    ctrl = [r for r in recs if r["arm"] == "comparator"]
    assert len(ctrl) == 2 and {r["intervention"] for r in ctrl} == {"doxorubicin+ifosfamide",
                                                                  "dacarbazine+doxorubicin"}


def test_value_outside_ci_is_flagged_not_dropped(nlp):
    (r,) = _recs(nlp, "Overall survival improved (HR 0.50, 95% CI 0.60-0.90).")
    assert "value_outside_ci" in r["flags"]


def test_parse_arms_with_or_without_and_roles():
    text = "Paclitaxel with or without bevacizumab"
    ms = [(0, 10, "AGENT", ("paclitaxel",)), (27, 38, "AGENT", ("bevacizumab",))]
    arms = parse_arms(text, ms)
    assert arms == [frozenset({"paclitaxel", "bevacizumab"}), frozenset({"paclitaxel"})]
    assert comparator_index(arms) == 1
    assert map_mention(frozenset({"bevacizumab"}), arms) == 0
    assert map_mention(frozenset({"placebo"}), arms, comparator=1) == 1


def test_extra_masks_equal_the_regex_finditer():
    """values.extra_masks (candidate starts) gives exactly _EXTRA_MASKS.finditer's spans."""
    import glob
    import random

    from extraction.numbers import normalize
    from extraction.values import _EXTRA_MASKS, extra_masks

    segs = []
    for path in sorted(glob.glob("/work/shared/gold/*/*.txt") + glob.glob("/work/shared/seeds/*.txt")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            segs += normalize(fh.read()).split("\n")
    rng = random.Random(3)
    alpha = [*"0123456789 .:%=-,;()nNIiHhvVgGmµKkABZ²^", "RECIST", "version", "grade", "mg", "% CI", "n =",
             "I2=", "ABC-12", "1.2.5mg", "grade 12mg", "hours", "C.I.", "credible", "m²", "Gy"]
    segs += ["".join(rng.choice(alpha) for _ in range(rng.randint(0, 40))) for _ in range(20000)]
    for seg in segs:
        assert extra_masks(seg) == [(m.start(), m.end()) for m in _EXTRA_MASKS.finditer(seg)], seg


def test_count_before_pattern_is_the_lookbehind_pattern():
    """The digit-first _COUNT_BEFORE finds exactly what the lookbehind-first pattern finds."""
    import random
    import re

    from extraction.context import _COUNT_BEFORE

    old = re.compile(
        r"(?<![:\d.,/\w])(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s*(?:patients?|women|men|participants)?\s*"
        r"(?:\(\s*\d+(?:\.\d+)?\s*%\s*\)\s*)?(?:(?:were|was)\s+)?(?:(?:randomi[sz]ed|assigned|allocated|received|"
        r"placed|given)\s+)?(?:to|on|in)?\s*(?:the\s+|receive\s+|receiving\s+)?$")
    rng = random.Random(7)
    alpha = ["1", "23", "1,234", ",", ".", ":", "/", "a", " ", "patients", "(12%)", "were", "randomised",
             "to", "the", "receive", "x", "_"]
    for _ in range(30000):
        t = "".join(rng.choice(alpha) for _ in range(rng.randint(0, 12)))
        for lo in (0, min(3, len(t))):
            a, b = old.search(t, lo, len(t)), _COUNT_BEFORE.search(t, lo, len(t))
            assert (a and (a.span(), a.group("n"))) == (b and (b.span(), b.group("n"))), t


def test_total_patterns_need_their_words():
    """Every _TOTALS pattern's match holds one of its words (so testing the words first is exact)."""
    from extraction.context import _TOTALS

    examples = ["247 patients underwent randomisation", "300 patients were randomly assigned",
                "120 women had been enrolled", "of 369 patients", "of 45 women enrolled", "of 80 participants",
                "we randomised 1,210", "The randomized population numbered 455",
                "The cohort comprised 90 patients", "population included 63 patients",
                "A total of 701 patients were enrolled"]
    hits = 0
    for text in examples:
        for words, rx in _TOTALS:
            m = rx.search(text)
            if m:
                hits += 1
                assert any(w in m.group(0).lower() for w in words), (text, rx.pattern)
    assert hits >= len(examples)
