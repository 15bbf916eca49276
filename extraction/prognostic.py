"""Prognostic-factor statements: a factor's levels compared on an outcome, kept apart from treatment comparisons.

Papers write them in two grammars, both read here sentence by sentence (pure functions over the normalised text):

* **a ratio for a level**: "high grade independently predicted metastasis-free survival (HR 2.4, 95% CI
  1.6-3.6)", "R1 versus R0 resection: HR for local recurrence 1.6" → one ``contrast`` record, ``factor_level``
  against ``factor_reference`` (the level named after "versus", else the factor's usual reference);
* **a pair of rates for two levels**: "patients with tumours > 5 cm had a 5-year MFS of 58% vs 79%", "positive
  margins ... 27% versus 23% for negative margins" → two records, one per level (``arm = "single"``, the level in
  ``factor_level``, the other level in ``factor_reference``), in the order the text pairs them.

Levels come from the factor vocabulary (:mod:`evidence.factors`) and from cut-off grammars (``> 5 cm``, ``older
than 60 years``, ``decrease in SUVmax of 40% or more``). Whether an estimate is adjusted comes from the sentence's
cues ("multivariate", "independent predictor" → adjusted; "univariate", "log-rank" → crude), and the covariates
from "adjusted for A, B and C". Incidence outcomes ("27% metastases") are the endpoints ``DM`` and ``LR``
(cumulative incidence of distant metastasis / local recurrence), their ratios the events of MFS / LRFS.

A sentence with an agent, a randomisation or adverse-event words is never read as prognostic; in a document that
compares treatments, only a sentence with an explicit prognostic cue ("prognostic", "predictor", "multivariate",
"associated with") is. Sentences read here are claimed: the treatment assembler's values from them are dropped.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from evidence.factors import FACTORS, threshold_levels
from extraction.gates import quick
from extraction.numbers import find_intervals, find_p_values, find_timepoints, interval_after, parse_number

NUM = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class LevelMention:
    """A factor level named in a sentence (offsets into the sentence)."""

    start: int
    end: int
    factor: str
    level: str | None  # None: the factor is named without a level ("tumour grade")
    reference: str | None = None  # the complement a cut-off implies (``≤ 5 cm`` for ``> 5 cm``)


@functools.cache
def grammar() -> dict[str, Any]:
    """The grammar data (``extraction/patterns/prognostic.json``)."""
    path = resources.files("extraction") / "patterns" / "prognostic.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _term_regex(term: str) -> str:
    esc = re.escape(term).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
    esc = esc.replace("tumour", "tumou?r")
    return rf"(?<![\w-]){esc}(?![\w-])"


@functools.cache
def _level_patterns() -> tuple[tuple[re.Pattern[str], str, str | None], ...]:
    """(regex, factor, level) for every level term and factor name, longest terms first."""
    items: list[tuple[str, str, str | None]] = []
    for f in FACTORS.values():
        for lv in f.levels:
            items.extend((t, f.id, lv.id) for t in lv.terms)
        items.extend((t, f.id, None) for t in f.synonyms if len(t) > 3)  # "age", "site" alone say too little
    items.sort(key=lambda t: -len(t[0]))
    out = []
    for term, factor, level in items:
        code = len(term) <= 3 and any(c.isdigit() for c in term)  # R0, G3: as written
        out.append((re.compile(_term_regex(term), 0 if code else re.I), factor, level))
    return tuple(out)


@functools.cache
def _threshold_patterns() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    g = grammar()["thresholds"]
    factor_of = {"cm": "size", "years": "age", "suv": "suvmax_change"}
    return tuple((re.compile(rx, re.I), factor_of[unit], unit) for unit, rxs in g.items() for rx in rxs)


def _relation(word: str, matched: str) -> str:
    w = (word or "").lower().strip()
    if w == "than" and matched.lower().startswith("younger"):
        return "<"
    if w in (">", "<", "≥", "≤"):
        return w
    return grammar()["relation_words"].get(w, ">")


def level_mentions(seg: str) -> list[LevelMention]:
    """Factor levels named in one sentence, longest match first, no two overlapping."""
    found: list[LevelMention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for rx, factor, unit in _threshold_patterns():
        for m in rx.finditer(seg):
            if not free(m.start(), m.end()):
                continue
            cut = parse_number(m.group("num"))
            if cut is None:
                continue
            rel = _relation(m.group("rel") or (m.groupdict().get("rel2") or "≥"), m.group(0))
            if factor == "suvmax_change":
                rel = "≥" if rel in (">", "≥") else rel
                level, ref = (f"SUVmax decrease {x}%" for x in threshold_levels(rel, cut, ""))
            else:
                level, ref = threshold_levels(rel, cut, unit)
            found.append(LevelMention(m.start(), m.end(), factor, level, ref))
            taken.append((m.start(), m.end()))
    for rx, factor, level in _level_patterns():
        for m in rx.finditer(seg):
            if free(m.start(), m.end()):
                found.append(LevelMention(m.start(), m.end(), factor, level))
                taken.append((m.start(), m.end()))
    found.sort(key=lambda x: x.start)
    return found


@functools.cache
def _endpoint_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    out = []
    for term, ep in grammar()["endpoints"]:
        flags = 0 if term.isupper() else re.I
        out.append((re.compile(_term_regex(term), flags), ep))
    return tuple(out)


def _endpoints(seg: str) -> list[tuple[int, str]]:
    hits: list[tuple[int, int, str]] = []
    for rx, ep in _endpoint_patterns():
        for m in rx.finditer(seg):
            if all(m.end() <= s or m.start() >= e for s, e, _ in hits):
                hits.append((m.start(), m.end(), ep))
    return sorted((s, ep) for s, _e, ep in hits)


def _endpoint_near(eps: list[tuple[int, str]], pos: int) -> str | None:
    before = [ep for s, ep in eps if s <= pos]
    if before:
        return before[-1]
    return eps[0][1] if eps else None


_RATIO_RE = re.compile(
    rf"(?<![\w])(?P<kind>(?i:hazard\s+ratio|odds\s+ratio|relative\s+risk|risk\s+ratio)|HR|OR|RR)"
    rf"(?:\s*\((?:a?HR|OR|RR)\))?(?P<what>\s+(?:for|of)\s+[A-Za-z][A-Za-z\s-]{{0,40}}?)?"
    rf"\s*(?:[:=,]|\bof\b|\bwas\b)?\s*(?P<v>{NUM})(?![\d.]*\s*%)")
_KIND = {"h": "HR", "o": "OR", "r": "RR"}
_PAIR_RE = re.compile(
    rf"(?P<a>{NUM})\s*%(?:\s*\([^()]{{0,40}}\))?\s*,?\s*(?:versus|vs\.?|v\.|compared\s+(?:with|to)|against|and)\s+"
    rf"(?:(?:a|an|the|only)\s+)?(?P<b>{NUM})\s*%")
_COVARIATES_RE = re.compile(r"\badjust(?:ed|ing)\s+for\s+(?P<list>[^.;()\[\]]{3,160})", re.I)
_VERSUS_RE = re.compile(r"^\s*(?:tumou?rs?\s+|resections?\s+|patients\s+)?(?:,\s*)?"
                        r"(?:versus|vs\.?|v\.|compared\s+(?:with|to)|relative\s+to|than|against)\s*$", re.I)


def _has(seg_low: str, words: list[str]) -> bool:
    return any(w.lower() in seg_low for w in words)


def _adjusted(seg_low: str) -> bool | None:
    g = grammar()
    if _has(seg_low, g["crude_cues"]):
        return False
    if _has(seg_low, g["adjusted_cues"]):
        return True
    return None


def _covariates(seg: str) -> list[str]:
    m = _COVARIATES_RE.search(seg)
    if not m:
        return []
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group("list").strip())
    return [p.strip() for p in parts if p.strip() and len(p.strip()) <= 40]


def _reference_after(seg: str, lvl: LevelMention, mentions: list[LevelMention]) -> str | None:
    """The level named after ``versus``/``compared with`` following ``lvl`` (same factor), else its usual one."""
    for m in mentions:
        if m.factor == lvl.factor and m.start >= lvl.end and m.level and m.level != lvl.level:
            if _VERSUS_RE.match(seg[lvl.end:m.start]) or m.start - lvl.end <= 12:
                return m.level
            break
    if lvl.reference:
        return lvl.reference
    return FACTORS[lvl.factor].reference_of(lvl.level) if lvl.level else None


def _is_reference_of_previous(m: LevelMention, mentions: list[LevelMention], seg: str) -> bool:
    """True when ``m`` is the "versus X" part of an earlier level of the same factor."""
    for prev in mentions:
        if prev.end <= m.start and prev.factor == m.factor and prev is not m:
            if _VERSUS_RE.match(seg[prev.end:m.start]):
                return True
    return False


def _ratio_records(seg: str, norm: str, mentions: list[LevelMention], eps: list[tuple[int, str]],
                   adjusted: bool | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    labelled = find_intervals(norm)
    pvals = find_p_values(norm)
    ratio_ep = grammar()["ratio_endpoint"]
    seen: set[tuple[str, float]] = set()
    for m in _RATIO_RE.finditer(norm):
        value = parse_number(m.group("v"))
        if value is None or value <= 0:
            continue
        candidates = [x for x in mentions if x.level and x.end <= m.start()
                      and not _is_reference_of_previous(x, mentions, seg)]
        lvl = candidates[-1] if candidates else next((x for x in mentions if x.level), None)
        if lvl is None:
            lvl = next((x for x in mentions if x.end <= m.start()), mentions[0] if mentions else None)
        if lvl is None:
            continue
        ref = _reference_after(seg, lvl, mentions) if lvl.level else None
        what = m.group("what") or ""
        ep = None
        if what:
            ep = _endpoint_near(_endpoints(what), len(what))
        ep = ep or _endpoint_near(eps, m.start())
        if ep is None:
            continue
        ep = ratio_ep.get(ep, ep)
        iv = interval_after(norm, m.end(), allow_comma=True)
        if iv is None:
            iv = next((i for i in labelled if m.end() <= i.start <= m.end() + 30), None)
        p = next((pv for pv in pvals if pv.start >= m.end() and pv.start - m.end() <= 60), None)
        key = (lvl.factor, value)
        if key in seen:
            continue
        seen.add(key)
        rec: dict[str, Any] = {
            "question": "prognostic", "factor": lvl.factor, "factor_level": lvl.level, "factor_reference": ref,
            "endpoint": ep, "measure": _KIND[m.group("kind")[0].lower()], "arm": "contrast", "value": value,
            "value_start": m.start("v"), "value_end": m.end("v"), "adjusted": adjusted,
        }
        if iv is not None and iv.high is not None and iv.low > 0:
            rec.update(ci_low=iv.low, ci_high=iv.high, ci_level=iv.level)
        if p is not None:
            rec.update(p_value=p.value, p_relation=p.relation)
        out.append(rec)
    return out


def _pair_records(seg: str, norm: str, mentions: list[LevelMention], eps: list[tuple[int, str]],
                  adjusted: bool | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tps = find_timepoints(norm)
    pvals = find_p_values(norm)
    with_level = [x for x in mentions if x.level]
    for m in _PAIR_RE.finditer(norm):
        a, b = parse_number(m.group("a")), parse_number(m.group("b"))
        if a is None or b is None or a > 100 or b > 100:
            continue
        after = next((x for x in with_level if m.end() <= x.start <= m.end() + 25), None)
        before = [x for x in with_level if x.end <= m.start()]
        if after is not None:
            lvl_b = after.level
            other = next((x for x in reversed(before) if x.factor == after.factor and x.level != after.level), None)
            lvl_a = other.level if other else FACTORS[after.factor].reference_of(after.level)
            factor = after.factor
        elif before:
            first = before[-1]
            nxt = next((x for x in with_level if x.factor == first.factor and x.start > m.end()
                        and x.level != first.level), None)
            lvl_a = first.level
            lvl_b = nxt.level if nxt else (first.reference or FACTORS[first.factor].reference_of(first.level))
            factor = first.factor
        else:
            continue
        if not lvl_a or not lvl_b:
            continue
        ep = _endpoint_near(eps, m.start())
        if ep is None:
            continue
        # the landmark is named before the pair ("a 5-year MFS of 58% vs 79%") or right after it ("at 3 years")
        tp = next((t.months for t in reversed(tps) if t.start <= m.start()), None)
        if tp is None:
            tp = next((t.months for t in tps if 0 <= t.start - m.end() <= 20), None)
        p = next((pv for pv in pvals if pv.start >= m.end() and pv.start - m.end() <= 60), None)
        for level, ref, group in ((lvl_a, lvl_b, "a"), (lvl_b, lvl_a, "b")):
            rec = {"question": "prognostic", "factor": factor, "factor_level": level, "factor_reference": ref,
                   "endpoint": ep, "measure": "rate", "arm": "single",
                   "value": round(parse_number(m.group(group)) / 100.0, 6),
                   "value_start": m.start(group), "value_end": m.end(group), "adjusted": adjusted}
            if tp is not None:
                rec["timepoint_months"] = tp
            if p is not None:
                rec.update(p_value=p.value, p_relation=p.relation)
            out.append(rec)
    return out


def prognostic_sentence(seg: str, norm: str, *, require_cue: bool) -> list[dict[str, Any]]:
    """Prognostic statistics of one sentence (offsets into the sentence); empty when it is not prognostic."""
    low = seg.lower()
    g = grammar()
    if _has(low, g["exclude"]) or (require_cue and not _has(low, g["cues"])):
        return []
    mentions = level_mentions(norm)
    if not mentions:
        return []
    eps = _endpoints(norm)
    adjusted = _adjusted(low)
    recs = _ratio_records(seg, norm, mentions, eps, adjusted) + _pair_records(seg, norm, mentions, eps, adjusted)
    covariates = _covariates(seg) if adjusted else []
    for r in recs:
        if covariates:
            r["covariates"] = covariates
    return recs


_QUICK = quick(re.compile(r"\d\s*%|\b(?:HR|OR|RR)\b|(?i:hazard|odds\s+ratio|relative\s+risk)"))


def prognostic_statistics(text: str, norm: str, sentences: list[tuple[int, int]], *,
                          agent_spans: list[tuple[int, int]], compares_treatments: bool
                          ) -> tuple[list[dict[str, Any]], set[int]]:
    """Prognostic statistic dicts of a document (offsets into the document) and the claimed sentence starts.

    ``agent_spans`` are the agent mentions (a sentence naming an agent is a treatment statement);
    ``compares_treatments`` says the document is a trial of treatments (then a prognostic cue is required).
    """
    out: list[dict[str, Any]] = []
    claimed: set[int] = set()
    agents = sorted(agent_spans)
    ai = 0
    for s, e in sentences:
        while ai < len(agents) and agents[ai][1] <= s:
            ai += 1
        if ai < len(agents) and agents[ai][0] < e:
            continue  # an agent named in the sentence: a treatment statement
        seg_norm = norm[s:e]
        if not _QUICK.search(seg_norm):
            continue
        recs = prognostic_sentence(text[s:e], seg_norm, require_cue=compares_treatments)
        if not recs:
            continue
        claimed.add(s)
        for r in recs:
            r["value_start"] += s
            r["value_end"] += s
            r["char_start"], r["char_end"] = s, e
            out.append(r)
    return out, claimed
