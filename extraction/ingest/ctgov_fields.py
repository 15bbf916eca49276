"""Field parsers for ClinicalTrials.gov API v2 results: numbers, p values, endpoints, arms, design.

Pure functions, each testable alone; :mod:`extraction.ingest.ctgov` composes them into a Document
and evidence records. Conventions of the registry handled here:

* numbers are strings; ``"NA"`` (not available) and ``"99999"``/``"-99999"`` (CT.gov's placeholder
  for "not estimable", e.g. an upper CI limit never reached) mean *no value*;
* p values carry their relation (``"<0.0001"``, ``"≤0.05"``, ``"0.017"``);
* dispersion types are written as text (``"95% Confidence Interval"``) or as enum names
  (``"CONFIDENCE_95"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from evidence.vocabulary import VOCAB, normalize_agents, normalize_histotype

#: Strings the registry writes for "no value".
NOT_ESTIMABLE = frozenset({"na", "n/a", "ne", "nr", "nc", "99999", "-99999", "999999", "-999999",
                           "99999.0", "9999.9", "99999.99", ""})
TIME_UNITS = {"month": "months", "week": "weeks", "day": "days", "year": "years"}
DAYS_PER_MONTH = 365.25 / 12

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_P = re.compile(r"^\s*(<=|>=|≤|≥|<|>|=)?\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_REL = {"≤": "<=", "≥": ">=", None: "="}
_CI_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*confidence", re.IGNORECASE)
_CI_ENUM = re.compile(r"^CONFIDENCE_(\d+)$")
_NOT_EFFICACY = re.compile(
    r"adverse|toxicit|side effect|pharmacokinetic|\bPK\b|\bC ?max\b|\bAUC|\bT ?max\b|half[- ]life|plasma|"
    r"serum|concentration|quality of life|\bQoL\b|safety|tolerab|laborator|vital sign|dose[- ]limiting|"
    r"\bDLT\b|maximum tolerated|\bMTD\b|duration of|time to (?:first |objective |best )*response|"
    r"patholog|histolog|metabolic response|biomarker|pain|questionnaire|specific survival",
    re.IGNORECASE)
_ENDPOINTS = tuple((e, re.compile(p, re.IGNORECASE)) for e, p in (
    ("LRFS", r"local(?:ly)?[- ]recurrence[- ]free|\bLRFS\b"),
    ("MFS", r"metasta(?:sis|ses|tic)[- ]free|\bMFS\b"),
    ("PFS", r"progression[- ]free|\bPFS\b|\bPFR\b"),
    ("DFS", r"disease[- ]free|\bDFS\b"),
    ("RFS", r"(?:recurrence|relapse)[- ]free|\bRFS\b"),
    ("EFS", r"event[- ]free|\bEFS\b"),
    ("TTP", r"time to (?:tumou?r )?progression|\bTTP\b"),
    ("OS", r"overall survival|\bOS\b|^\s*(?:\d+[- ]?(?:year|month)s?\s+)?survival\b|\bsurvival rate|"
           r"participants (?:who (?:were|are) )?alive"),
    ("DCR", r"disease control|\bDCR\b"),
    ("CBR", r"clinical benefit|\bCBR\b"),
    ("ORR", r"(?:objective|overall|best overall|tumou?r|confirmed) (?:tumou?r )?response|response rate|\bORR\b"),
))
#: Endpoints reported as a proportion of responders (counts of participants may be turned into rates).
RESPONSE_ENDPOINTS = frozenset({"ORR", "DCR", "CBR"})
_TIMEPOINT = (
    re.compile(r"(\d+(?:\.\d+)?)[- ]?(year|month|week|day)s?\b", re.IGNORECASE),
    re.compile(r"\b(year|month|week|day)s?\s+(\d+(?:\.\d+)?)\b", re.IGNORECASE),
)
_RATIO = (("HR", re.compile(r"hazard", re.I)), ("OR", re.compile(r"odds", re.I)),
          ("RR", re.compile(r"risk ratio|relative risk|rate ratio", re.I)))
_COMPARATOR_TYPES = frozenset({"ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR", "NO_INTERVENTION",
                               "SHAM_COMPARATOR", "SHAM"})
_TYPE_PREFIX = re.compile(r"^\s*(?:drug|biological|radiation|procedure|other|device|behavioral|genetic|"
                          r"dietary supplement|combination product|diagnostic test)\s*:\s*", re.IGNORECASE)


def parse_number(text: Any) -> tuple[float | None, bool]:
    """Parse a registry number string.

    Returns
    -------
    (value, ok) : tuple
        ``(float, True)`` for a number; ``(None, True)`` for a documented "no value" string
        (``"NA"``, ``"99999"``); ``(None, False)`` for anything else (the caller flags or warns).

    >>> parse_number("4.6"), parse_number("NA"), parse_number("99999"), parse_number("4.6 months")
    ((4.6, True), (None, True), (None, True), (None, False))
    """
    if text is None:
        return None, True
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip()
        if s.lower() in NOT_ESTIMABLE:
            return None, True
        if not _NUMBER.match(s):
            return None, False
        value = float(s)
    if abs(value) in (99999.0, 999999.0):
        return None, True
    return (value, True) if value == value and abs(value) != float("inf") else (None, False)


def parse_p(text: Any) -> tuple[float | None, str | None]:
    """Split a p-value string into (value, relation).

    >>> parse_p("<0.0001"), parse_p("0.017"), parse_p("≤ .05"), parse_p("NA"), parse_p("1.2")
    ((0.0001, '<'), (0.017, '='), (0.05, '<='), (None, None), (None, None))
    """
    m = _P.match(str(text or ""))
    if not m:
        return None, None
    value = float(m.group(2))
    if not 0 < value <= 1:
        return None, None
    rel = m.group(1)
    return value, _REL.get(rel, rel)


def ci_level(dispersion_type: str | None) -> float | None:
    """Level of a confidence-interval dispersion type; None when it is not a CI of known level.

    >>> ci_level("95% Confidence Interval"), ci_level("CONFIDENCE_975"), ci_level("Full Range")
    (0.95, 0.975, None)
    """
    s = (dispersion_type or "").strip()
    m = _CI_TEXT.search(s)
    if m:
        return float(m.group(1)) / 100
    m = _CI_ENUM.match(s)
    if m:
        digits = m.group(1)
        return float(digits[:2] + "." + digits[2:]) / 100 if len(digits) > 2 else float(digits) / 100
    return None


def endpoint_of(title: str) -> str | None:
    """The efficacy endpoint an outcome title names; None for safety, PK and other outcomes.

    >>> endpoint_of("Progression-free Survival (PFS)"), endpoint_of("Number of Participants With Adverse Events")
    ('PFS', None)
    >>> endpoint_of("Percentage of Participants With Objective Response"), endpoint_of("Duration of Response")
    ('ORR', None)
    """
    if _NOT_EFFICACY.search(title):
        return None
    for endpoint, pattern in _ENDPOINTS:
        if pattern.search(title):
            return endpoint
    return None


def time_unit(unit: str | None) -> str | None:
    """Canonical time unit (``months``, ``weeks``, ``days``, ``years``) of a unit of measure.

    >>> time_unit("Months"), time_unit("weeks"), time_unit("percentage of participants")
    ('months', 'weeks', None)
    """
    m = re.fullmatch(r"\s*(month|week|day|year)s?\s*", unit or "", re.IGNORECASE)
    return TIME_UNITS[m.group(1).lower()] if m else None


def timepoint_months(text: str | None) -> float | None:
    """A landmark time in months (``"3-year"`` → 36, ``"at Week 12"`` → 2.76), else None.

    >>> timepoint_months("3-Year Overall Survival Rate"), timepoint_months("PFS Rate at Week 12")
    (36.0, 2.76)
    """
    for i, pattern in enumerate(_TIMEPOINT):
        m = pattern.search(text or "")
        if m:
            number, word = (m.group(1), m.group(2)) if i == 0 else (m.group(2), m.group(1))
            factor = {"year": 12.0, "month": 1.0, "week": 7 / DAYS_PER_MONTH, "day": 1 / DAYS_PER_MONTH}
            return round(float(number) * factor[word.lower()], 2)
    return None


def ratio_measure(param_type: str | None) -> str | None:
    """HR, OR or RR from an analysis ``paramType`` (``"Hazard Ratio (HR)"`` → ``"HR"``)."""
    for measure, pattern in _RATIO:
        if pattern.search(param_type or ""):
            return measure
    return None


def phase_of(phases: Iterable[str] | None) -> str:
    """``["PHASE1", "PHASE2"]`` → ``"1/2"``; ``["PHASE3"]`` → ``"3"``; anything else → ``""``.

    >>> phase_of(["PHASE1", "PHASE2"]), phase_of(["PHASE3"]), phase_of(["NA"]), phase_of(["EARLY_PHASE1"])
    ('1/2', '3', '', '1')
    """
    nums = sorted({m.group(1) for p in phases or () if (m := re.search(r"PHASE(\d)$", str(p)))})
    phase = "/".join(nums)
    return phase if phase in ("1", "2", "3", "1/2", "2/3") else ""


def setting_of(text: str) -> str:
    """``neoadjuvant``, ``adjuvant``, ``advanced`` or ``""`` from titles, conditions and keywords."""
    if re.search(r"neo-?adjuvant|pre-?operative", text, re.IGNORECASE):
        return "neoadjuvant"
    if re.search(r"\badjuvant|post-?operative", text, re.IGNORECASE):
        return "adjuvant"
    if re.search(r"metasta|advanced|unresectable|inoperable|recurrent", text, re.IGNORECASE):
        return "advanced"
    return ""


def line_of(text: str) -> str:
    """``first``, ``second_plus`` or ``""`` from titles and eligibility-like wording."""
    if re.search(r"second[- ]line|previously treated|pre-?treated|after (?:failure|progression)|refractory",
                 text, re.IGNORECASE):
        return "second_plus"
    if re.search(r"first[- ]line|previously untreated|treatment[- ]na[iï]ve|chemotherapy[- ]na[iï]ve",
                 text, re.IGNORECASE):
        return "first"
    return ""


def histotypes_of(conditions: Iterable[str]) -> list[str]:
    """Canonical histotypes of the conditions that the vocabulary knows, sorted.

    A subtype listed beside one of its ancestors is dropped: "Soft Tissue Sarcoma" with
    "Leiomyosarcoma" among a trial's conditions names the broad population that includes it.

    >>> histotypes_of(["Soft Tissue Sarcoma", "Leiomyosarcoma", "Kidney cancer"])
    ['soft_tissue_sarcoma']
    >>> histotypes_of(["Leiomyosarcoma", "Liposarcoma"])
    ['leiomyosarcoma', 'liposarcoma']
    """
    found = {h for c in conditions if (h := normalize_histotype(str(c)))}
    return sorted(h for h in found if not found.intersection(VOCAB.ancestors(h)))


def arm_agents(arm: Mapping[str, Any], interventions: list[Mapping[str, Any]]) -> tuple[str, bool]:
    """Canonical ``+``-joined agents of an arm group, and whether every agent was recognised.

    Names come from ``interventionNames`` (``"Drug: Pazopanib"``), else from the interventions that
    list the arm's label; each is normalised, trying its ``otherNames`` too. An unknown name is kept
    as written. A ``NO_INTERVENTION`` arm without interventions is ``observation``.
    """
    label = str(arm.get("label", ""))
    names = [str(n) for n in _list(arm.get("interventionNames"))]
    if not names:
        names = [f"{i.get('type', '')}: {i.get('name', '')}" for i in interventions
                 if label in _list(i.get("armGroupLabels"))]
    if not names:
        if arm.get("type") == "NO_INTERVENTION":
            return "observation", True
        hit = normalize_agents(label)
        return (hit, True) if hit else ("", False)
    agents, known = [], True
    for raw in names:
        name = _TYPE_PREFIX.sub("", raw).strip()
        other = next((_list(i.get("otherNames")) for i in interventions if i.get("name") == name), [])
        hit = next((h for n in (name, *other) if (h := normalize_agents(str(n)))), None)
        if hit:
            agents.extend(hit.split("+"))
        else:
            agents.append(name)
            known = False
    return VOCAB.join_agents(agents), known


def _list(obj: Any) -> list[Any]:
    return obj if isinstance(obj, list) else []


def is_comparator_type(arm_type: str | None) -> bool:
    """True for ACTIVE_COMPARATOR, PLACEBO_COMPARATOR, NO_INTERVENTION and SHAM arm types."""
    return (arm_type or "") in _COMPARATOR_TYPES
