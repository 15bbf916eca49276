"""The number grammar (extraction/numbers.py, extraction/values.py): one test per rule, invented text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extraction.numbers import (
    find_count_of,
    find_intervals,
    find_p_values,
    find_patient_counts,
    find_timepoints,
    interval_after,
    months_from,
    normalize,
    parse_number,
)
from extraction.values import scan_values


@pytest.mark.parametrize(("text", "value"), [("0·42", 0.42), ("1,214", 1214.0), (".031", 0.031),
                                            ("7", 7.0), ("x", None), ("1e999", None)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_normalize_keeps_length_and_maps_dashes_and_middle_dots():
    s = "0·51–0·73 − 2‒3"
    assert len(normalize(s)) == len(s)
    assert normalize(s) == "0.51-0.73 - 2-3"


@pytest.mark.parametrize("text", ["95% CI 0.51–0.88", "(95% CI, 0.51 to 0.88)", "[95% CI, 0.51-0.88]",
                                  "95% CI: 0.51, 0.88", "95% confidence interval [CI], 0.51 to 0.88"])
def test_ci_forms(text):
    (iv,) = find_intervals(normalize(text))
    assert (iv.low, iv.high, iv.level) == (0.51, 0.88, 0.95)


def test_ci_level_other_than_95():
    (iv,) = find_intervals("90% CI 1.1-2.2")
    assert iv.level == 0.9


def test_ci_open_upper_bound_not_estimable():
    (iv,) = find_intervals("95% CI, 14.2 months to not estimable")
    assert iv.low == 14.2 and iv.high is None


def test_bare_range_after_value_and_comma_range_for_ratios():
    assert interval_after("3.3 months (2.1-4.4) and", 10).low == 2.1
    assert interval_after("HR 0.61, 0.40 to 0.93;", 7, allow_comma=True).high == 0.93
    assert interval_after("HR 0.61, 0.40 to 0.93;", 7) is None


@pytest.mark.parametrize(("text", "value", "rel"), [
    ("P = .021", 0.021, "="), ("p<0·0001", 0.0001, "<"), ("P<.001", 0.001, "<"),
    ("two-sided P value of 0.041", 0.041, "="), ("log-rank p = 0.03", 0.03, "="), ("p≤0.05", 0.05, "<=")])
def test_p_forms(text, value, rel):
    (p,) = find_p_values(normalize(text))
    assert (p.value, p.relation) == (value, rel)


def test_p_for_interaction_is_marked():
    (p,) = find_p_values("p for interaction=0.02")
    assert p.qualifier == "interaction"


def test_timepoints_weeks_years_and_at():
    got = [t.months for t in find_timepoints("the 12-week PFS rate; at 3 years, 40%; 18-month OS")]
    assert got == [2.77, 36.0, 18.0]
    assert months_from(26, "weeks") == 6.0


def test_counts():
    assert find_count_of("3 of 20 patients (15%)")[0][0] == 20
    assert [n for n, _, _ in find_patient_counts("of 310 patients (n = 155)")] == [310, 155]


def test_scan_pairs_share_units_and_ratio_takes_ci_and_keeps_p_separate():
    stats, ps, _ = scan_values(normalize("median OS 9·1 vs 7·7 months (HR 0·74, 95% CI 0·58–0·94; p=0·014)"))
    assert [(s.kind, s.value) for s in stats] == [("median", 9.1), ("median", 7.7), ("ratio", 0.74)]
    assert stats[2].ci.low == 0.58 and ps[0].value == 0.014


def test_scan_percent_and_rate_ci_as_proportions():
    stats, _, _ = scan_values("a response rate of 21% (95% CI: 11%-35%)")
    assert stats[0].kind == "rate" and stats[0].ci.high == 0.35


def test_scan_ignores_doses_ratios_grades_and_ci_levels():
    stats, _, _ = scan_values("randomised 2:1 to drug 40 mg/m2; grade 3 events; 95% CI shown")
    assert stats == []


def test_scan_not_reached_is_a_placeholder():
    stats, _, _ = scan_values("median PFS was not reached (95% CI, 20.0 months to NE) vs 8.0 months")
    assert [s.kind for s in stats] == ["nr", "median"]


def test_scan_risk_reduction_percent_is_not_a_rate():
    stats, _, _ = scan_values("the risk of death was 30% lower (HR, 0.70)")
    assert [s.kind for s in stats] == ["ratio"]


_NORM_ALPHABET = "0123456789.,;:() abcHRp%<=>·⋅∙•–—‒−‐‑﹣－\u00a0\u2009\u202f\u2007\u2002\u2003≤≥é"


@given(st.text(alphabet=st.sampled_from(_NORM_ALPHABET), max_size=80) | st.text(max_size=80))
def test_normalize_is_the_one_to_one_character_map(text):
    from extraction.numbers import _CHAR_MAP, normalize

    got = normalize(text)
    assert got == text.translate(_CHAR_MAP) and len(got) == len(text)


@given(st.text(alphabet=st.sampled_from("ab .1²٣߀\n-"), max_size=40) | st.text(max_size=40),
       st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), max_size=6))
def test_digit_spans_is_the_digit_regex_per_span(text, spans):
    from extraction.numbers import DIGIT_RE, digit_spans

    assert digit_spans(text, spans) == [DIGIT_RE.search(text, s, e) is not None for s, e in spans]


def test_first_character_forms_of_value_timepoint_and_p_patterns_are_the_plain_ones():
    """VALUE_RE, TIMEPOINT_RE and P_RE (first character consumed first) match exactly as their plain forms."""
    import glob
    import random
    import re

    from extraction.numbers import NUM, P_RE, TIMEPOINT_RE, UNIT, VALUE_RE

    plain_value = re.compile(rf"(?<![\w])(?<!\d\.)(?<![.,]\d)(?P<num>{NUM})(?!\.\d)(?:\s*(?P<unit>{UNIT}))?")
    plain_tp = re.compile(TIMEPOINT_RE.pattern.split("(?:-|\\s+)", 1)[1].join(
        [r"(?<![\w.])(?P<num>\d+(?:\.\d+)?|[oO]ne|[tT]wo|[tT]hree|[fF]our|[fF]ive|[sS]ix|[sS]even|[eE]ight|[nN]ine|"
         r"[tT]en|[tT]welve)(?:-|\s+)", ""]))
    plain_p = re.compile(r"(?<![A-Za-z])(?:(?:two|one)[- ]sided\s+|log[- ]rank\s+|stratified\s+log[- ]rank\s+)?[Pp]"
                         + P_RE.pattern.split("|(?<=[Pp]))", 1)[1])
    texts = []
    for path in sorted(glob.glob("/work/shared/gold/*/*.txt")):
        with open(path, encoding="utf-8") as fh:
            texts += fh.read().split("\n")
    rng = random.Random(13)
    alpha = ["1", "23", ".", ",", "1,234", "0.5", " ", "-", "a", "x", "_", "%", "months", "month", "year", "weeks",
             "one", "two", "three", "ten", "twelve", "seven", "eight", "nine", "five", "six", "four", "on", "tw",
             " PFS", " rate", "-year", "\n", "é", "٣", "²", "P", "p", "=", "<", " value", "two-sided ", "log-rank ",
             "stratified ", "one sided ", "of", " for interaction", "≤", "x", "10", "-5", "s", "l", "o", "t"]
    texts += ["".join(rng.choice(alpha) for _ in range(rng.randint(0, 14))) for _ in range(30000)]
    for t in texts:
        for new, old in ((VALUE_RE, plain_value), (TIMEPOINT_RE, plain_tp), (P_RE, plain_p)):
            got = [(m.span(), m.groupdict()) for m in new.finditer(t)]
            want = [(m.span(), m.groupdict()) for m in old.finditer(t)]
            assert got == want, (t, new.pattern[:20])


def test_digit_re_is_isdigit_for_every_code_point():
    """DIGIT_RE's table of non-decimal digits (kept to spare start-up a scan) is what ``isdigit`` says."""
    from extraction.numbers import DIGIT_RE, _digit_not_decimal

    assert _digit_not_decimal() == [i for i in range(0x110000) if chr(i).isdigit() and not chr(i).isdecimal()]
    text = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    assert [m.group() for m in DIGIT_RE.finditer(text)] == [c for c in text if c.isdigit()]
