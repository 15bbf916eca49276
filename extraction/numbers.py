"""The number grammar of trial reports: values, confidence intervals, p values, counts, time points.

Every function here is pure and works on plain strings, so each rule can be tested alone. The scanner
works on a *normalised* copy of the text (:func:`normalize`) that has exactly the same length as the
original, so every offset it returns is an offset into the original text.

Conventions handled (each has a unit test in ``tests/test_numbers.py``):

* middle-dot decimals ``0·31``, unicode dashes and minus signs, ``to`` ranges;
* CI forms ``95% CI 0.62–0.95``, ``(95% CI, 0.44 to 0.70)``, ``[95% CI, 0.44-0.70]``,
  ``95% CI: 0.62, 0.95``, ``95% confidence interval [CI], 0.84 to 1.30`` and bare ranges ``(0·9–1·8)``;
* p values ``P = .017``, ``p<0·0001``, ``P<.001``, ``two-sided P value of 0.049``, ``log-rank p = 0.012``;
  ``p for interaction`` is recognised and marked so callers can ignore it;
* percentages, ``n = 228``, ``228 patients``, ``2 of 12``, time units, ``not reached``.

>>> parse_number("0·31"), parse_number("1,830"), parse_number(".017")
(0.31, 1830.0, 0.017)
>>> find_p_values("(HR 0.77; P = .017)")[0].value
0.017
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Characters mapped one-to-one by :func:`normalize` (the text keeps its length).
_CHAR_MAP = str.maketrans({
    "·": ".", "⋅": ".", "∙": ".", "•": "•",
    "–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "‑": "-", "﹣": "-", "－": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u2002": " ", "\u2003": " ",
    "≤": "≤", "≥": "≥",
})

_REPLACEMENTS = tuple((chr(k), v) for k, v in _CHAR_MAP.items() if chr(k) != v)

NUM = r"(?:\d{1,3}(?:,\d{3})+(?![\d.])|\d+(?:\.\d+)?|\.\d+)"
TIME_UNITS = {"month": "months", "months": "months", "mo": "months", "mos": "months",
              "week": "weeks", "weeks": "weeks", "wk": "weeks", "wks": "weeks",
              "day": "days", "days": "days", "year": "years", "years": "years", "yr": "years",
              "yrs": "years"}
UNIT = r"(?:%|percent\b|months?\b|mos?\b|weeks?\b|wks?\b|days?\b|years?\b|yrs?\b)"
_END = r"(?:not\s+(?:estimable|evaluable|reached|available|calculable|estimated|assessable)|NE|NR|NA|N/A)"
RANGE = (rf"(?P<lo>{NUM})\s*(?P<u1>{UNIT})?\s*(?:-|to|,|and)\s*"
         rf"(?:(?P<hi>{NUM})\s*(?P<u2>{UNIT})?|(?P<open>{_END}))")
_CI_LABEL = (r"(?:(?P<level>\d{2}(?:\.\d+)?)\s*%\s*)?(?:CI|C\.I\.|[Cc](?i:onfidence\s+intervals?|redible\s+intervals?))"
             r"(?:\s*[\[(]CI[\])])?")
# ``95 % CI [2-5.4]``: the range may sit in its own bracket after the label
CI_RE = re.compile(rf"(?=[\dCc]){_CI_LABEL}\s*[:,=]?\s*(?:of\s+|was\s+|from\s+)?(?:[\[(](?=\s*\d))?\s*{RANGE}")
BARE_CI_RE = re.compile(rf"\s*(?:,\s*)?[(\[]\s*{RANGE}\s*(?=[;,)\]])")
COMMA_CI_RE = re.compile(rf",\s*{RANGE}\s*(?=[;,)\]])")
IQR_RE = re.compile(rf"(?=[IiRr])(?:IQR|interquartile\s+range|range)\s*[:,=]?\s*{RANGE}", re.I)
# (first character consumed first, as VALUE_RE below; plain form: ``(?<![A-Za-z])(?:(?:two|one)[- ]sided\s+|
# log[- ]rank\s+|stratified\s+log[- ]rank\s+)?[Pp]…``, checked in tests/test_numbers.py)
P_RE = re.compile(
    r"[tolsPp](?<![A-Za-z].)(?:(?<=t)wo[- ]sided\s+[Pp]|(?<=o)ne[- ]sided\s+[Pp]|(?<=l)og[- ]rank\s+[Pp]"
    r"|(?<=s)tratified\s+log[- ]rank\s+[Pp]|(?<=[Pp]))"
    r"(?:[- ]?values?)?(?P<mid>\s*(?:for|of)\s+(?P<what>interaction|trend|heterogeneity|difference)"
    r"|\s*\(?interaction\)?)?"
    # ``P 5 .025``: a PDF's rendering of ``=``, read only before a decimal below 1 printed from its point
    r"\s*(?P<rel><=|>=|=|<|>|≤|≥|\bof\b|\bwas\b|:|(?<=\s)5(?=\s+\.\d))\s*(?P<num>\d*\.\d+|\d+(?:\.\d+)?)(?:\s*[x×]\s*10\s*-?\s*(?P<exp>\d+))?")
# VALUE_RE and TIMEPOINT_RE consume their first character first (one class), then check the characters before
# it with lookbehinds one longer and dispatch on it with (?<=…): the regex engine then skips straight to the
# candidate characters. ``tests/test_numbers.py`` checks both against their plain forms:
# ``(?<![\w])(?<!\d\.)(?<![.,]\d)(?P<num>{NUM})(?!\.\d)(?:\s*(?P<unit>{UNIT}))?`` and
# ``(?<![\w.])(?P<num>\d+(?:\.\d+)?|one|two|…|twelve)…``.
VALUE_RE = re.compile(r"(?P<num>[\d.](?<![\w].)(?<!\d\..)(?<![.,]\d.)"
                      r"(?:(?<=\d)\d{0,2}(?:,\d{3})+(?![\d.])|(?<=\d)\d*(?:\.\d+)?|(?<=\.)\d+))"
                      rf"(?!\.\d)(?:\s*(?P<unit>{UNIT}))?")
NOT_REACHED_RE = re.compile(r"\b(?=[wnN])(?:was\s+|were\s+)?(?:not\s+(?:yet\s+)?reached|NR\b|not\s+estimable)")
TIMEPOINT_RE = re.compile(
    r"(?P<num>[\dotfsenOTFSEN](?<![\w.].)(?:(?<=\d)\d*(?:\.\d+)?|(?<=[oO])ne|(?<=[tT])wo|(?<=[tT])hree"
    r"|(?<=[fF])our|(?<=[fF])ive|(?<=[sS])ix|(?<=[sS])even|(?<=[eE])ight|(?<=[nN])ine|(?<=[tT])en|(?<=[tT])welve))"
    r"(?:-|\s+)(?P<unit>years?|yrs?|months?|mos?|weeks?|wks?|days?)\b(?P<adj>(?=-| (?:overall|progression|disease|"
    r"event|relapse|recurrence|metastasis|local|PFS|OS|DFS|EFS|RFS|MFS|LRFS|DCR|CBR|survival|rate|"
    r"PFR|landmark|estimated|free)))?")
AT_TIME_RE = re.compile(r"\b(?:at|At|after|by)\s+$")
COUNT_OF_RE = re.compile(rf"(?<![\w.])(?P<x>\d+)\s*(?:of|/)\s*(?P<n>\d+)\b(?:\s+\w+){{0,3}}?\s*[(\[]\s*"
                         rf"(?P<pct>{NUM})\s*%")
N_RE = re.compile(r"\b[nN]\s*=\s*(?P<n>\d[\d,]*)")
PATIENTS_RE = re.compile(r"(?<![\w.,])(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:\w+\s+)?"
                         r"(?:patients|participants|women|men|adults|children|subjects|people)\b")


def _char_ranges(codes: list[int]) -> str:
    """Sorted code points as a character-class body of ranges (``a-c``): a few ranges scan faster than
    a hundred single characters."""
    runs: list[list[int]] = []
    for c in codes:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs)


#: The code points for which ``isdigit()`` holds and ``isdecimal()`` does not, as ``(first, last)`` runs,
#: in the Unicode version named (scanning all 1.1 million code points costs ~0.1 s of start-up).
_DIGIT_NOT_DECIMAL = ("14.0.0", ((178, 179), (185, 185), (4969, 4977), (6618, 6618), (8304, 8304), (8308, 8313),
                                 (8320, 8329), (9312, 9320), (9332, 9340), (9352, 9360), (9450, 9450), (9461, 9469),
                                 (9471, 9471), (10102, 10110), (10112, 10120), (10122, 10130), (68160, 68163),
                                 (69216, 69224), (69714, 69722), (127232, 127242)))


def _digit_not_decimal() -> list[int]:
    version, runs = _DIGIT_NOT_DECIMAL
    if unicodedata.unidata_version == version:
        return [c for a, b in runs for c in range(a, b + 1)]
    return [i for i in range(0x110000) if chr(i).isdigit() and not chr(i).isdecimal()]


#: A character for which ``str.isdigit()`` holds (decimal digits and e.g. superscripts ``²``), as a regex:
#: ``DIGIT_RE.search(s)`` is ``any(c.isdigit() for c in s)`` without a Python loop.
DIGIT_RE = re.compile(r"[\d" + _char_ranges(_digit_not_decimal()) + "]")
_ASCII_DIGIT = re.compile(r"[0-9]")


def digit_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
    """For each ``(start, end)``, whether ``text[start:end]`` holds a character for which ``isdigit()`` holds
    (``DIGIT_RE``); in ASCII text that is ``[0-9]``, which the regex engine checks faster.

    >>> digit_spans("No digit. Phase 3. ²", [(0, 9), (10, 18), (19, 20)])
    [False, True, True]
    """
    search = _ASCII_DIGIT.search if text.isascii() else DIGIT_RE.search
    return [search(text, s, e) is not None for s, e in spans]


_REGIMEN_AFTER = re.compile(r"\s*(?:cycles?|infusions?|courses?|schedule)")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "twelve": 12}


def normalize(text: str) -> str:
    """Map middle dots, unicode dashes/minus signs and odd spaces to ASCII, keeping the length.

    >>> normalize("0·62–0·95 p<0·001")
    '0.62-0.95 p<0.001'
    """
    if text.isascii():
        return text
    for old, new in _REPLACEMENTS:  # a few str.replace scans are ~30x faster than str.translate here
        if old in text:
            text = text.replace(old, new)
    return text


@functools.lru_cache(maxsize=16384)
def parse_number(s: str) -> float | None:
    """A number as printed (``0·31``, ``1,830``, ``.017``, ``−0.5``) or None when it is not one.

    >>> parse_number("1·05"), parse_number("abc")
    (1.05, None)
    """
    t = normalize(s.strip()).replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        t = t.replace(",", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def unit_of(token: str | None) -> str | None:
    """Canonical unit for a unit word: ``%`` → ``percent``, ``mo`` → ``months``; None for no unit."""
    if not token:
        return None
    t = token.strip().lower()
    if t in ("%", "percent"):
        return "percent"
    return TIME_UNITS.get(t)


def months_from(value: float, unit: str) -> float:
    """A time span in months as the gold conventions want it (weeks × 12/52 rounded to 2 decimals).

    >>> months_from(12, "weeks"), months_from(3, "years"), months_from(6, "months")
    (2.77, 36.0, 6.0)
    """
    u = unit_of(unit) or unit
    if u == "years":
        return round(value * 12.0, 2)
    if u == "weeks":
        return round(value * 12.0 / 52.0, 2)
    if u == "days":
        return round(value * 12.0 / 365.0, 2)
    return round(float(value), 2)


@dataclass(frozen=True)
class Interval:
    """A confidence interval found in text (offsets into the scanned string)."""

    low: float
    high: float | None
    level: float
    unit: str | None
    start: int
    end: int
    labelled: bool


@dataclass(frozen=True)
class PValue:
    """A p value: ``value`` with its relation (``=``, ``<``, …); ``qualifier`` names e.g. interaction."""

    value: float
    relation: str
    start: int
    end: int
    qualifier: str = ""


def _interval(m: re.Match[str], labelled: bool) -> Interval | None:
    lo = parse_number(m.group("lo"))
    hi = parse_number(m.group("hi")) if m.group("hi") else None
    if lo is None:
        return None
    level = 0.95
    if "level" in m.re.groupindex and m.group("level"):
        lv = parse_number(m.group("level"))
        if lv is not None and 50 <= lv < 100:
            level = lv / 100.0
    unit = unit_of(m.group("u2") or m.group("u1"))
    if hi is not None and hi < lo:
        return None
    return Interval(lo, hi, level, unit, m.start(), m.end(), labelled)


def find_intervals(norm: str) -> list[Interval]:
    """Labelled CIs (``95% CI …``) anywhere in normalised text.

    >>> [(i.low, i.high) for i in find_intervals("HR 0.56 [95% CI, 0.44-0.70]; 95% CI: 0.62, 0.95")]
    [(0.44, 0.7), (0.62, 0.95)]
    """
    out: list[Interval] = []
    if not ("CI" in norm or "C.I." in norm or "confidence" in norm or "credible" in norm):
        return out  # CI_RE needs one of its labels (a quick test: many sentences have none)
    for m in CI_RE.finditer(norm):
        iv = _interval(m, True)
        if iv is not None:
            out.append(iv)
    return out


def interval_after(norm: str, pos: int, *, allow_comma: bool = False) -> Interval | None:
    """An unlabelled CI right after a value: ``(0·9–1·8)``, ``[0.71-1.17;`` or, for ratios, ``, 0.30 to 0.71``.

    >>> interval_after("4.6 months (3.7-4.8) with", 10).high
    4.8
    """
    m = BARE_CI_RE.match(norm, pos)
    if m is None and allow_comma:
        m = COMMA_CI_RE.match(norm, pos)
    return _interval(m, False) if m else None


def find_p_values(norm: str) -> list[PValue]:
    """p values with their relation; ``of``/``was``/``:`` read as ``=``.

    >>> [(p.value, p.relation) for p in find_p_values("P<.001; two-sided P value of 0.049; p≤0.01")]
    [(0.001, '<'), (0.049, '='), (0.01, '<=')]
    """
    out: list[PValue] = []
    if "p" not in norm and "P" not in norm:
        return out
    for m in P_RE.finditer(norm):
        v = parse_number(m.group("num"))
        if v is None:
            continue
        if m.group("exp"):
            v = v * 10.0 ** -int(m.group("exp"))
        rel = m.group("rel")
        rel = {"≤": "<=", "≥": ">=", "of": "=", "was": "=", ":": "=", "5": "="}.get(rel, rel)
        if not 0 < v <= 1:
            continue
        qual = (m.group("what") or ("interaction" if m.group("mid") else "")).lower()
        out.append(PValue(v, rel, m.start(), m.end(), qual))
        out.extend(_listed_after(norm, m.end(), rel, qual))
    return out


#: ``P = .02, .03, and .05, respectively``: more p values listed after the first, closed by *respectively*
_P_LIST_NEXT = re.compile(r"\s*,?\s*(?:and\s+)?(?P<num>0?[.·]\d+)(?![\d%])")
_P_LIST_END = re.compile(r"\s*,?\s*respectively\b")


def _listed_after(norm: str, pos: int, rel: str, qual: str) -> list[PValue]:
    """The p values a list continues with after the one ending at ``pos`` (same relation), only when the
    list ends in *respectively*; else none.

    >>> [p.value for p in find_p_values("(P = .02, .03, and .05, respectively)")]
    [0.02, 0.03, 0.05]
    >>> [p.value for p in find_p_values("(P = .02, .03 for OS)")]
    [0.02]
    """
    found: list[PValue] = []
    while (m := _P_LIST_NEXT.match(norm, pos)) is not None:
        v = parse_number(m.group("num").replace("·", "."))
        if v is None or not 0 < v <= 1:
            break
        found.append(PValue(v, rel, m.start("num"), m.end(), qual))
        pos = m.end()
    return found if found and _P_LIST_END.match(norm, pos) else []


def find_iqr_spans(norm: str) -> list[tuple[int, int]]:
    """Spans of ``IQR a to b`` / ``range a-b`` (never a CI, never a value)."""
    low = norm.lower()
    if "qr" not in low and "range" not in low:  # IQR_RE's words (re.I; no other letter folds to these)
        return []
    return [(m.start(), m.end()) for m in IQR_RE.finditer(norm)]


def timepoint_months(num: str, unit: str) -> float | None:
    """Months for a landmark such as ``3-year`` or ``12 weeks`` (word numbers allowed)."""
    v = _WORDS.get(num.lower()) if num.isalpha() else parse_number(num)
    if v is None or v <= 0:
        return None
    return months_from(float(v), unit.rstrip("s") + "s")


@dataclass(frozen=True)
class Timepoint:
    """A landmark time (``3-year``, ``at 12 weeks``) in months, with its offsets."""

    months: float
    start: int
    end: int


#: a landmark glued to the abbreviation it qualifies (``PFR12 weeks``: the progression-free rate at 12 weeks)
#: or after a hyphen with the unit's letter glued on (``PFSR-3m``: the progression-free survival rate at 3 months)
_GLUED_TP = re.compile(r"\b(?:PFSR|OSR|PFR|PFS|OS|EFS|DFS|RFS)(?:(?P<num>\d+(?:\.\d+)?)\s*-?\s*"
                       r"(?P<unit>years?|months?|weeks?|days?)\b|-(?P<hnum>\d+(?:\.\d+)?)"
                       r"(?:(?P<letter>mo|m|wk|w|yr|y)\b|\s*(?P<hunit>years?|months?|weeks?|days?)\b))")
_UNIT_LETTER = {"m": "months", "mo": "months", "w": "weeks", "wk": "weeks", "y": "years", "yr": "years"}
# ``at 3 and 6 months``, ``at 1, 2 and 5 years``, ``3- and 6-month``: one landmark per number
_TP_LIST = re.compile(r"\b(?:at\s+)?(?P<nums>\d+(?:\.\d+)?-?(?:\s*(?:,|and|or)\s*\d+(?:\.\d+)?-?)+)\s*-?\s*"
                      r"(?P<unit>months?|mos?|years?|yrs?|weeks?|wks?)\b", re.I)


def find_timepoints(norm: str) -> list[Timepoint]:
    """Landmarks: hyphenated adjectives (``2-year``), ``at N weeks``, ``N-week rate`` and lists of them
    (``at 3 and 6 months``).

    >>> [t.months for t in find_timepoints("The 24-week PFS rate; at 2 years, 32%; 3-year OS")]
    [5.54, 24.0, 36.0]
    """
    out: list[Timepoint] = []
    if not ("year" in norm or "mo" in norm or "week" in norm or "day" in norm or "yr" in norm or "wk" in norm
            or "R-" in norm or "S-" in norm):
        return out  # TIMEPOINT_RE needs a time unit (or its abbreviation), _GLUED_TP a unit or a hyphen after it
    for m in TIMEPOINT_RE.finditer(norm):
        hyphen = norm[m.end("num"):m.end("num") + 1] == "-"
        at = AT_TIME_RE.search(norm[max(0, m.start() - 8):m.start()]) is not None
        if not (hyphen or at or m.group("adj") is not None):
            continue
        if hyphen and _REGIMEN_AFTER.match(norm, m.end()):
            continue
        mo = timepoint_months(m.group("num"), m.group("unit"))
        if mo is not None:
            out.append(Timepoint(mo, m.start(), m.end()))
    for m in _GLUED_TP.finditer(norm):
        num = m.group("num") or m.group("hnum")
        unit = m.group("unit") or m.group("hunit") or _UNIT_LETTER[m.group("letter")]
        mo = timepoint_months(num, unit)
        if mo is not None:
            out.append(Timepoint(mo, m.start("num" if m.group("num") else "hnum"), m.end()))
    for m in _TP_LIST.finditer(norm):
        if not (m.group().lower().startswith("at") or "-" in m.group("nums")):
            continue
        for d in re.finditer(r"\d+(?:\.\d+)?", m.group("nums")):
            a, b = m.start("nums") + d.start(), m.start("nums") + d.end()
            mo = timepoint_months(d.group(), m.group("unit"))
            if mo is not None and not any(t.start <= a < t.end for t in out):
                out.append(Timepoint(mo, a, b))
    return sorted(out, key=lambda t: t.start)


def find_count_of(norm: str) -> list[tuple[int, int, int]]:
    """``2 of 12 patients (16.6%)`` → (n, start, end) where start/end locate the percentage number."""
    out: list[tuple[int, int, int]] = []
    if "%" not in norm:
        return out
    for m in COUNT_OF_RE.finditer(norm):
        n = int(m.group("n"))
        if n > 0 and int(m.group("x")) <= n:
            out.append((n, m.start("pct"), m.end("pct")))
    return out


def find_patient_counts(norm: str) -> list[tuple[int, int, int]]:
    """``228 patients`` and ``n = 228`` as (n, start, end)."""
    out = []
    for rx in (PATIENTS_RE, N_RE):
        for m in rx.finditer(norm):
            v = parse_number(m.group("n"))
            if v is not None and v >= 1:
                out.append((int(v), m.start(), m.end()))
    return sorted(out, key=lambda t: t[1])
