"""Statistic candidates in one sentence: ratios, medians, rates and "not reached", with their CIs.

:func:`scan_values` applies the number grammar of :mod:`extraction.numbers` to one (normalised)
sentence and returns :class:`Stat` candidates in text order; it decides the *kind* of each number from
its unit and the words around it, never from its magnitude alone. Endpoints, arms and p values are
attached later (:mod:`extraction.assembly`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extraction.gates import quick
from extraction.numbers import (
    NOT_REACHED_RE,
    UNIT,
    VALUE_RE,
    Interval,
    PValue,
    find_count_of,
    find_intervals,
    find_iqr_spans,
    find_p_values,
    find_timepoints,
    interval_after,
    parse_number,
    unit_of,
)

RATIO_RE = re.compile(r"\b(?=(?i:[hor]))"  # every keyword starts at a word boundary with h, o or r
                      r"(?P<kw>(?i:\bhazard\s+ratios?\b|\bodds\s+ratios?\b|\brisk\s+ratios?\b|\brelative\s+risks?\b"
                      r"|\brate\s+ratios?\b)|\bHRs?\b|\bORs?\b|\bRRs?\b)")
_MEASURE = {"h": "HR", "o": "OR", "r": "RR"}
_EXTRA_MASKS = re.compile(r"\d+(?:\.\d+)?\s*%\s*(?:CI|C\.I\.|confidence|credible)|\b[nN]\s*=\s*\d[\d,]*|"
                          r"\d+\s*:\s*\d+(?:\s*:\s*\d+)?|\b[IiHh]\s*(?:²|2|\^2)\s*=?\s*\d+(?:\.\d+)?\s*%?|"
                          r"\b(?:RECIST|version)\s*\d+(?:\.\d+)?|\bv\d+(?:\.\d+)+|\bgrade\s*\d(?:\s*(?:-|to|or)\s*\d)?|"
                          r"\b[A-Z]{2,}-\d+\b|\b(?:arms?|groups?|cohorts?|trt|treatment)\s+\d\b|"
                          r"\b(?:PS|ECOG)\s*(?:[≥≤<>]=?\s*)?\d\b|"  # a performance-status level: "PS 1", "PS ≥2"
                          r"\d+(?:\.\d+)?\s*(?:mg|g|mL|ml|µg|mcg|Gy|m2|m²|kg|cm|mm|h|hours?)\b", re.I)
# Where an _EXTRA_MASKS match can start: each branch is a prefix of one of its alternatives (same flags),
# and a match starting inside a run of digits also matches from the run's start, so trying
# ``_EXTRA_MASKS.match`` only there gives exactly ``finditer``'s matches, without trying every alternative
# at every position. The starts come from two patterns, the earlier of the two next starts being the
# next start: one that begins with a digit (``\d(?<!\d\d)`` is ``(?<!\d)\d``, but lets the regex engine
# skip to digits) and one for the word-led alternatives.
_DIGIT_START = re.compile(r"\d(?<!\d\d)\d*(?:\.\d+)?\s*(?:%|:|mg|g|mL|ml|µg|mcg|Gy|m2|m²|kg|cm|mm|h|hours?)", re.I)
_WORD_START = quick(re.compile(r"\b(?:(?:arms?|groups?|cohorts?|trt|treatment)\s+\d|"
                         r"[nN]\s*=\s*\d|[IiHh]\s*(?:²|2|\^2)|RECIST\s*\d|version\s*\d|v\d+\.\d|grade\s*\d|"
                         r"[A-Z]{2,}-\d|(?:PS|ECOG)\s*(?:[≥≤<>]=?\s*)?\d)", re.I))
_DIGIT = re.compile(r"\d")
_DURATION_BEFORE = re.compile(r"\b(?:for|within|after|every|over|each|than|before|during|until|by|least|up\s+to|"
                              r"aged?|age\s+of|maximum\s+of|q)\s*$", re.I)
_CHANGE_AFTER = re.compile(r"\s*(?:lower|higher|reduction|decrease|increase|improvement|relative|fewer|more|less|"
                           r"greater|reduced|increased|gain|benefit|longer|shorter|of\s+the\s+hazard|or\s+more|or\s+higher|"
                           r"or\s+greater|power|confidence)\b", re.I)
_CONNECT = re.compile(r"\s*(?:,\s*)?(?:and|vs\.?|versus|v\.?|or|compared\s+with|,)\s*")
#: ``with a PFS of 6 months or longer``: a time that bounds a population is a threshold, not a median
_THRESHOLD_AFTER = re.compile(r"\s*or\s+(?:longer|more|greater|shorter|less|above|below)\b", re.I)
#: ``9 weeks of chemotherapy before local control``, ``5 years of adjuvant imatinib``: how long a treatment
#: was given, not a median time (the treatment words, or an agent, within three words after ``of``)
_TREATMENT_AFTER = re.compile(r"\s*of\s+(?:[\w-]+\s+){0,3}?(?:chemotherapy|therapy|treatment|radiotherapy|"
                              r"radiation|maintenance|induction|consolidation|dosing|infusions?|cycles?)\b", re.I)
#: ``20% (SE, 5%)``, ``32% (SE 6%)``, ``(standard error 4.1)``: a value's standard error, never a value
_SE_SPAN = re.compile(r"[(\[,;]\s*(?:SE|S\.E\.|SEM|standard\s+error)\s*[:,=]?\s*\d+(?:\.\d+)?\s*%?")
#: "improved median PFS from 2.6 to 4.2 months": the bare number after "from" shares the unit after "to"
_FROM = re.compile(r"\bfrom\s*$", re.I)
_TO = re.compile(r"\s*to\s*")
_OPEN_GAP = re.compile(r"\s*[(\[]?\s*")
_UNIT_AFTER = re.compile(rf"\s*[)\]]\s*(?P<unit>{UNIT})")
#: "5.5 (2-57) months": a time, its range in brackets, then its unit
_RANGE_THEN_UNIT = re.compile(rf"\s*[(\[]\s*(?:range\s*[:,]?\s*)?\d+(?:\.\d+)?\s*(?:-|to)\s*\d+(?:\.\d+)?\s*[)\]]\s*"
                              rf"(?P<unit>{UNIT})", re.I)


@dataclass
class Stat:
    """One statistic candidate; offsets are relative to the scanned sentence."""

    kind: str  # "ratio", "median", "rate", "nr"
    value: float
    start: int
    end: int
    tail: int
    unit: str | None = None
    measure: str = ""
    ci: Interval | None = None
    p: PValue | None = None
    n_of: int | None = None
    events: int | None = None
    endpoint: str | None = None
    timepoint: float | None = None
    histotypes: list[str] | None = None
    arm: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _overlaps(a: int, b: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < e and s < b for s, e in spans)


class _Cover:
    """``_overlaps(a, b, spans)`` for many ``(a, b)``: the positions the non-empty spans cover, as bytes."""

    def __init__(self, n: int, spans: list[tuple[int, int]]) -> None:
        self.spans = spans
        self.cover = bytearray(max(n, max((e for _s, e in spans), default=0)) + 1)
        self.empty = [(s, e) for s, e in spans if e <= s]
        for s, e in spans:
            if e > s:
                self.cover[s:e] = b"\x01" * (e - s)

    def overlaps(self, a: int, b: int) -> bool:
        if a >= b or a < 0:
            return _overlaps(a, b, self.spans)
        return self.cover.find(1, a, b) != -1 or (bool(self.empty) and _overlaps(a, b, self.empty))


def extra_masks(seg: str) -> list[tuple[int, int]]:
    """``[(m.start(), m.end()) for m in _EXTRA_MASKS.finditer(seg)]``, computed faster.

    >>> extra_masks("n = 45, grade 12 mg, RECIST 1.1 and I2=30%")
    [(0, 7), (8, 15), (15, 19), (21, 31), (36, 42)]
    """
    out: list[tuple[int, int]] = []
    n = len(seg)
    pos = 0
    match = _EXTRA_MASKS.match
    nd = nw = -1  # the next start of each pattern at or after pos (-1: not searched, n: none)
    while pos < n:
        if nd < pos:
            c = _DIGIT_START.search(seg, pos)
            nd = c.start() if c else n
        if nw < pos:
            c = _WORD_START.search(seg, pos)
            nw = c.start() if c else n
        start = min(nd, nw)
        if start >= n:
            break
        m = match(seg, start)
        if m is None:
            pos = start + 1
            continue
        out.append((m.start(), m.end()))
        pos = m.end()
        # a match that ends inside a run of digits: the rest of the run may start the next one
        while pos < n and _DIGIT.match(seg, pos):
            m = match(seg, pos)
            if m is None:
                break
            out.append((m.start(), m.end()))
            pos = m.end()
    return out


# how the patients behind a rate are printed: ``6 of 17 patients (35%)``, ``35% (6/17)``, ``23.7% (n=14)``
_EVENTS_BEFORE = re.compile(r"(?<![\w.])(?P<x>\d+)\s*(?:of|/)\s*(?P<n>\d+)\b(?:\s+[\w-]+){0,3}?\s*[(\[]\s*$")
_EVENTS_AFTER = re.compile(r"\s*%\s*[(\[]\s*(?:(?P<x>\d+)\s*(?:/|of)\s*(?P<n>\d+)|[nN]\s*=\s*(?P<k>\d+))\s*[)\],;]")


#: ``20% of the 90 patients who received X``, ``34% of the 88 who received Y``: the patients behind the rate
_PCT_OF_N = re.compile(r"\s*%\s*of\s+(?:the\s+|all\s+|these\s+)?(?P<n>\d+)\s+(?:\w+\s+)?"
                       r"(?:patients|participants|subjects|children|who|assessable|evaluable|eligible)\b")


def rate_counts(seg: str, start: int, end: int) -> tuple[int | None, int | None]:
    """(events, n) printed with the percentage at ``seg[start:end]``, where stated (else None)."""
    of_n = _PCT_OF_N.match(seg, end)
    if of_n:
        return None, int(of_n.group("n"))
    after = _EVENTS_AFTER.match(seg, end)
    if after:
        if after.group("k"):
            return int(after.group("k")), None
        x, n = int(after.group("x")), int(after.group("n"))
        return (x, n) if 0 <= x <= n and n > 0 else (None, None)
    before = _EVENTS_BEFORE.search(seg, max(0, start - 60), start)
    if before:
        x, n = int(before.group("x")), int(before.group("n"))
        return (x, n) if 0 <= x <= n and n > 0 else (None, None)
    return None, None


# ``(HR 0.70, 95% CI 0.55-0.89; <.001)``: a p value printed without its P, after a ratio's CI in its bracket
_BARE_P = re.compile(r"[;,]\s*(?P<rel>[<=≤])\s*(?P<v>0?\.\d+)\s*(?=[)\]])")
# ``PFS rate ≤ 40%``, ``≥ 6 months``: a threshold (a design hypothesis, an eligibility rule), not a result
_THRESHOLD = quick(re.compile(r"(?:[≤≥<>]\s*=?|\b(?:less|fewer|more|greater|higher|lower)\s+than|\bat\s+(?:least|most)|"
                        r"\bup\s+to|\bbelow|\babove|\bunder|\bexceed(?:ing|ed)?)\s*\d+(?:\.\d+)?\s*"
                        r"(?:%|months?|weeks?|years?)", re.I))


#: ``median TTP ranged from 5.5 to 8.3 months`` (across studies): the spread of several values, not a value
_SPREAD_OF = re.compile(r"\b(?:rang(?:ed|ing|es?)|var(?:ied|ying|ies))\s+(?:from\s+|between\s+)?\d+(?:\.\d+)?\s*"
                        r"(?:%|months?|weeks?|years?|days?)?\s*(?:to|-|and)\s*\d+(?:\.\d+)?", re.I)


#: ``None of the 12 patients with X had a response``: a rate of 0 of 12
#: (the endpoint is the one named right after the verb, or *responded*)
_NONE_OF = re.compile(r"\b(?:[Nn]one|[Nn]o\s+one)\s+of\s+(?:the\s+|these\s+|those\s+)?(?P<n>\d+)\s+"
                      r"(?:\w+\s+)?(?:patients|participants|subjects|children|evaluable)\b[^.;:,]{0,60}?\s"
                      r"(?:(?P<resp>responded)\b|(?:achieved|had|experienced|showed|attained|obtained)\s+"
                      r"(?:an?\s+|any\s+)?)")


def bare_p_values(seg: str, ps: list[PValue], cis: list[Interval]) -> list[PValue]:
    """P values printed as ``; <.001)`` right after a CI, where no ``P`` names them."""
    if not cis:
        return []
    out = []
    for m in _BARE_P.finditer(seg):
        if any(p.start <= m.start("v") < p.end for p in ps):
            continue
        if not any(0 <= m.start() - c.end <= 2 for c in cis):
            continue
        v = parse_number(m.group("v"))
        if v is not None and 0 < v <= 1:
            out.append(PValue(v, "<=" if m.group("rel") == "≤" else m.group("rel"), m.start("rel"), m.end("v")))
    return out


#: ``(5/59, 8%)``: the number after a slash is a count's denominator, never a partner of the rate beside it
_DENOMINATOR = re.compile(r"\d\s*/\s*$")


#: ``5.6+ months``: a time with a censoring mark between the number and its unit
_CENSORED_UNIT = re.compile(r"\+\s*(?P<unit>months?|mos?|weeks?|wks?|days?|years?|yrs?)\b")
#: a rate's name, then the words up to its value (no number between): ``rate (ORR) of … was``
_RATE_NAMED_BEFORE = re.compile(r"\b(?:rates?|proportion)\b(?:\s*[(\[][A-Za-z]{2,6}[)\]])?[^\d;%]{0,130}?"
                                r"(?:\bwas|\bwere|\bof|:|=)\s*$")


def scan_values(seg: str) -> tuple[list[Stat], list[PValue], list[tuple[float, int, int]]]:
    """Candidates, p values and timepoints ``(months, start, end)`` of one normalised sentence.

    >>> stats, ps, _ = scan_values("median PFS 4.6 vs 1.6 months (HR 0.31, 95% CI 0.24-0.40; p<0.0001)")
    >>> [(s.kind, s.value, s.unit) for s in stats], ps[0].value
    ([('median', 4.6, 'months'), ('median', 1.6, 'months'), ('ratio', 0.31, None)], 0.0001)
    """
    ps = find_p_values(seg)
    cis = find_intervals(seg)
    ps += bare_p_values(seg, ps, cis)
    tps = find_timepoints(seg)
    masks = [(c.start, c.end) for c in cis] + [(p.start, p.end) for p in ps] + find_iqr_spans(seg)
    masks += [(t.start, t.end) for t in tps]
    masks += extra_masks(seg)
    masks += [(m.start(), m.end()) for m in _THRESHOLD.finditer(seg)]
    if "rang" in seg or "vari" in seg:
        masks += [(m.start(), m.end()) for m in _SPREAD_OF.finditer(seg)]
    if "SE" in seg or "S.E" in seg or "standard error" in seg:  # _SE_SPAN's words (case-sensitive but the last)
        masks += [(m.start(), m.end()) for m in _SE_SPAN.finditer(seg)]
    count_of = {start: n for n, start, _e in find_count_of(seg)}
    overlaps = _Cover(len(seg), masks).overlaps
    raw: list[Stat] = []
    for m in VALUE_RE.finditer(seg):
        if overlaps(m.start("num"), m.end("num")):
            continue
        if m.start() > 1 and seg[m.start() - 1] == "." and seg[m.start() - 2:m.start() - 1].isdigit():
            continue
        v = parse_number(m.group("num"))
        if v is None:
            continue
        unit = unit_of(m.group("unit"))
        st = Stat("bare" if unit is None else ("rate" if unit == "percent" else "median"), v,
                  m.start("num"), m.end("num"), m.end(), unit=unit, n_of=count_of.get(m.start("num")))
        if unit == "percent":
            st.events, n_stated = rate_counts(seg, m.start("num"), m.end("num"))
            st.n_of = st.n_of or n_stated
        raw.append(st)
    if "reached" in seg or "NR" in seg or "estimable" in seg:  # NOT_REACHED_RE's words (case-sensitive)
        for m in NOT_REACHED_RE.finditer(seg):
            if not overlaps(m.start(), m.end()):
                raw.append(Stat("nr", 0.0, m.start(), m.end(), m.end(), unit=None))
    if "one of" in seg or "o one of" in seg:  # "None of the 12 patients with X had a response": 0 of 12
        for m in _NONE_OF.finditer(seg):
            n = int(m.group("n"))
            if n > 0 and not overlaps(m.start("n"), m.end("n")):
                raw = [r for r in raw if not m.start("n") <= r.start < m.end("n")]
                st = Stat("rate", 0.0, m.start(), m.end("n"), m.end(), unit="percent", n_of=n, events=0)
                st.extra["none_of"] = "ORR" if m.group("resp") else ""
                raw.append(st)
    raw.sort(key=lambda s: s.start)
    # "4.6 vs 1.6 months", "19.8, 18.3 and 16.9 months": a bare number takes the unit of its partner;
    # "9.1 (95% CI 2.0-16.2) and 15.0 (…) months": the bare number's own CI may stand between them
    # "15.0 (95% CI 1.8-28.2) months": a time whose unit is printed after its own CI (or its range)
    for a in raw:
        if a.kind == "bare":
            own = next((c for c in cis if a.end <= c.start and _OPEN_GAP.fullmatch(seg[a.end:c.start])), None)
            u = _UNIT_AFTER.match(seg, own.end) if own is not None else None
            if u is None and (u := _RANGE_THEN_UNIT.match(seg, a.end)):
                a.extra["range"] = True  # "5.5 (2-57) months": an unlabelled bracket before the unit is a range
            if u and unit_of(u.group("unit")) not in (None, "percent"):
                a.unit, a.kind = unit_of(u.group("unit")), "median"
            elif (c := _CENSORED_UNIT.match(seg, a.end)) is not None:
                # "5.6+ months": the "+" marks a censored time; the time is the number
                a.unit, a.kind, a.tail = unit_of(c.group("unit")), "median", c.end()
                a.extra["censored"] = True
    for i in range(len(raw) - 2, -1, -1):
        a, b = raw[i], raw[i + 1]
        gap_from = a.end
        own = next((c for c in cis if a.end <= c.start <= b.start and c.end <= b.start
                    and _OPEN_GAP.fullmatch(seg[a.end:c.start])), None) if a.kind == "bare" else None
        if own is not None:
            gap_from = own.end + len(seg[own.end:b.start]) - len(seg[own.end:b.start].lstrip(")] "))
        if a.kind == "bare" and b.unit and not _DENOMINATOR.search(seg[max(0, a.start - 8):a.start]) and (
                _CONNECT.fullmatch(seg[gap_from:b.start]) or (
                _TO.fullmatch(seg[a.end:b.start]) and _FROM.search(seg[max(0, a.start - 12):a.start]))):
            a.unit, a.kind = b.unit, b.kind
    # "21 and not reached" in a list of times: the bare time takes the unit of the list's nearest time
    for i, a in enumerate(raw[:-1]):
        if a.kind == "bare" and raw[i + 1].kind == "nr" and _CONNECT.fullmatch(seg[a.end:raw[i + 1].start]):
            near = [r for r in raw[i + 2:] if r.kind == "median"][:1] or [r for r in raw[:i] if r.kind == "median"][-1:]
            if near:
                a.unit, a.kind = near[0].unit, "median"
    # "the pooled disease control rate (DCR) was 0.57 (95% CI 0.42-0.72)": a rate printed as a decimal
    # proportion, named as a rate just before it and inside its own CI of proportions, is a rate
    if "rate" in seg or "proportion" in seg:
        for a in raw:
            if (a.kind == "bare" and 0 < a.value < 1 and "." in seg[a.start:a.end]
                    and _RATE_NAMED_BEFORE.search(seg[max(0, a.start - 160):a.start])):
                own = next((c for c in cis if a.end <= c.start and _OPEN_GAP.fullmatch(seg[a.end:c.start])), None)
                if (own is not None and own.unit is None and own.high is not None and own.high <= 1
                        and own.low <= a.value <= own.high):
                    a.kind, a.unit, a.value = "rate", "percent", round(a.value * 100.0, 10)
    # ratios: the first bare number after a keyword, then bare numbers that carry their own CI
    low = seg.lower()
    # RATIO_RE's keywords: "...rat..."/"relative" in any case (no other letter folds to r, a, t, e, l), or HR/OR/RR
    ratio_words = "rat" in low or "relat" in low or "HR" in seg or "OR" in seg or "RR" in seg
    for kw in RATIO_RE.finditer(seg) if ratio_words else ():
        measure = _MEASURE[kw.group("kw")[0].lower()]
        first = True
        nxt_searched, nxt = False, None
        for st in raw:
            if st.start < kw.end() or st.kind not in ("bare", "ratio"):
                if st.start >= kw.end() and st.kind in ("rate", "median", "nr"):
                    break
                continue
            if not nxt_searched:  # the next keyword (the same for every candidate of this one)
                nxt_searched, nxt = True, RATIO_RE.search(seg, kw.end())
            if nxt and st.start > nxt.start():
                break
            ci = _interval_for(seg, st, cis, ratio=True)
            if (first and st.start - kw.end() <= 60) or ci is not None:
                if st.kind == "bare" and 0 < st.value < 100:
                    st.kind, st.measure, st.ci = "ratio", measure, ci
                first = False
            elif first:
                break
    out = []
    for st in raw:
        if st.kind == "bare" or (st.kind == "ratio" and not st.measure):
            continue
        if st.kind in ("median", "rate"):
            st.ci = _interval_for(seg, st, cis, ratio=False)
            if st.ci is not None and st.extra.get("range") and not st.ci.labelled:
                st.ci = None
            if st.kind == "median" and (_DURATION_BEFORE.search(seg[max(0, st.start - 14):st.start])
                                        or _THRESHOLD_AFTER.match(seg, st.tail)
                                        or _TREATMENT_AFTER.match(seg, st.tail)):
                continue
            if st.kind == "rate" and _CHANGE_AFTER.match(seg, st.tail):
                continue
        if st.ci is not None:
            st.tail = max(st.tail, st.ci.end)
        out.append(st)
    return out, ps, [(t.months, t.start, t.end) for t in tps]


#: ``16% (8/49, 95% CI 7-30)``, ``23% (n = 14; 95% CI …)``: the count behind a rate, printed in the
#: bracket before the rate's own CI
_COUNT_GAP = re.compile(r"\s*[(\[]\s*(?:\d+\s*(?:/|of)\s*\d+|[nN]\s*=\s*\d+)(?:\s+patients)?\s*[,;]\s*")

#: ``relative risk 0.72; P = .23; 95% CI, 0.42-1.2``: a ratio's P value written between it and its CI
_P_GAP = re.compile(r"\s*[;,]\s*[Pp]\s*(?:[=<>≤≥]|&lt;)\s*0?\.\d+\s*[;,]\s*")


def _interval_for(seg: str, st: Stat, cis: list[Interval], *, ratio: bool) -> Interval | None:
    for c in cis:
        if c.start >= st.tail:
            gap = seg[st.tail:c.start]
            if len(gap) <= 22 and not _DIGIT.search(gap) and ";" not in gap.strip(" ;([,"):
                return _fit(c, st)
            if not ratio and c.labelled and _COUNT_GAP.fullmatch(gap):  # the counts, then the CI
                return _fit(c, st)
            if ratio and c.labelled and _P_GAP.fullmatch(gap):  # the ratio's P value, then its CI
                return _fit(c, st)
            break
    iv = interval_after(seg, st.tail, allow_comma=ratio)
    return _fit(iv, st) if iv is not None else None


def _fit(iv: Interval, st: Stat) -> Interval | None:
    """The interval in the value's own scale (rates as proportions), or None when it cannot be its CI."""
    if st.kind in ("rate",) or st.unit == "percent":
        if iv.unit not in (None, "percent"):
            return None
        if iv.high is None:
            return iv
        if iv.unit is None and iv.high <= 1 and iv.low <= st.value / 100.0 <= iv.high:
            return iv  # ``36% (95% CI 0.23-0.48)``: bounds printed as proportions around the rate
        return Interval(iv.low / 100.0, iv.high / 100.0, iv.level, "percent", iv.start, iv.end, iv.labelled)
    if iv.unit == "percent":
        return None
    return iv
