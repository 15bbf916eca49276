"""Document-level trial context: arms, population, arm sizes, totals and trial metadata.

Everything here reads plain text plus mention tuples ``(start, end, label, ids)`` (offsets into the
document text), so it can be tested without a pipeline.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from evidence.vocabulary import VOCAB
from extraction.arms import (
    _TEMPORAL,
    CONTROLS,
    GENERIC,
    Mention,
    comparator_index,
    group_mentions,
    map_mention,
    parse_arms,
)
from extraction.gates import may_match, quick
from extraction.numbers import digit_spans, normalize, parse_number
from extraction.study import planned_study, study_facts

_RANDOM_VERB = re.compile(r"\b(?:randomi[sz]ed|randomly\s+(?:assigned|allocated)|assigned|allocated|"
                          r"randomi[sz]ation\s+was)\b", re.I)
# ``(?P<n>\d(?<![:\d.,/\w]\d)(?:\d{0,2}(?:,\d{3})+|\d*))`` is ``(?<![:\d.,/\w])(?P<n>\d{1,3}(?:,\d{3})+|\d+)``
# written digit-first, so the regex engine skips to digits
_COUNT_BEFORE = re.compile(
    r"(?P<n>\d(?<![:\d.,/\w]\d)(?:\d{0,2}(?:,\d{3})+|\d*))\s*(?:patients?|women|men|participants)?\s*"
    r"(?:\(\s*\d+(?:\.\d+)?\s*%\s*\)\s*)?(?:(?:were|was)\s+)?(?:(?:randomi[sz]ed|assigned|allocated|received|"
    r"placed|given|enrolled|included|treated)\s+)?(?:to|on|in)?\s*(?:the\s+|receive\s+|receiving\s+)?$")
_N_AFTER = re.compile(r"\s*\(\s*n\s*=\s*(?P<n>\d[\d,]*)\s*\)")
#: ``recurrence or death occurred in 103 patients (61 standard arm, 42 experimental arm)``: counts in a
#: bracket after a count of events split that count by arm; they are not arm sizes
_EVENT_BREAKDOWN = re.compile(r"\b(?:occurred|died|deaths?|events?|progressed|progressions?|relapsed|relapses?|"
                              r"recurrences?|recurred)\b[^.;()]{0,40}?\b\d+\s+(?:patients\s+)?\($", re.I)


@functools.lru_cache(maxsize=1)
def _count_grammar() -> dict[str, Any]:
    """``extraction/patterns/counts.jsonl``: how patient counts are written (number words, totals,
    evaluable counts, arm sizes after an arm's name)."""
    rows = [json.loads(ln) for ln in (resources.files("extraction") / "patterns" / "counts.jsonl")
            .read_text(encoding="utf-8").splitlines() if ln.strip()]
    words = next(r["words"] for r in rows if r["kind"] == "number_word")
    rx = {k: [re.compile(r["regex"], re.I) for r in rows if r["kind"] == k]
          for k in ("total", "evaluable", "arm_size_after", "arm_size_before", "dose_arms", "dose_mention",
                    "composition", "pooled", "dose_frequency_arms", "frequency_mention")}
    tens = "|".join(w for w, v in words.items() if v >= 20)
    units = "|".join(w for w, v in words.items() if v < 10)
    below = rf"(?:(?:{tens})(?:[- ](?:{units}))?|{'|'.join(w for w, v in words.items() if v < 20)})"
    word_rx = re.compile(rf"\b(?:(?:{units})\s+hundred(?:\s+(?:and\s+)?{below})?|{below})\b"
                         r"(?=\s+(?:[\w-]+\s+){0,2}(?:patients|participants|women|men|adults|pts)\b|\s+of\s+(?:the\s+)?\d)",
                         re.I)
    return {"words": words, "word_rx": quick(word_rx), **rx}


def digits_for_number_words(seg: str) -> str:
    """``Forty-two patients`` → ``42        patients`` (same length, so offsets hold): counts written in
    words read like counts in digits.

    >>> digits_for_number_words("Forty-two patients and one of the 25 patients")
    '42        patients and 1   of the 25 patients'
    >>> digits_for_number_words("Two hundred fourteen eligible patients")
    '214                  eligible patients'
    """
    g = _count_grammar()
    if not may_match(g["word_rx"], seg, remember=False) or not g["word_rx"].search(seg):
        return seg

    def sub(m: re.Match[str]) -> str:
        total = 0
        for p in re.split(r"[- ]+", m.group().lower()):
            if p == "hundred":
                total *= 100
            elif p != "and":
                total += g["words"][p]
        d = str(total)
        return d + " " * (len(m.group()) - len(d))
    return g["word_rx"].sub(sub, seg)
_PER_GROUP = re.compile(r"(?<![\w.])(?=\d)(?P<n>\d+)\s+(?:evaluable\s+|eligible\s+)?(?:patients\s+)?"
                        r"(?:per|to\s+each|in\s+each)\s+(?P<unit>group|arm|cohort)")
# Each total pattern with words one of which it needs (lower case; no other letter folds to these under
# re.I), tested first because most sentences hold none of them.
_TOTALS = [(words, re.compile(p, re.I)) for words, p in (
    (("underw",),
     r"(?<![:\d.,])(?=\d)(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:patients\s+|participants\s+|women\s+|adults\s+)?"
     r"underwent\s+randomi[sz]ation"),
    (("random", "enrol"),
     r"(?<![:\d.,])(?=\d)(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:patients|participants|women|adults)\s+(?:were|had\s+been)\s+"
     r"(?:randomi[sz]ed|randomly\s+assigned|randomly\s+allocated|enrolled)"),
    (("pat", "wom", "part"),
     r"\bof\s+(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:randomi[sz]ed\s+|enrolled\s+)?(?:patients|women|participants)"
     r"(?:\s+(?:randomi[sz]ed|enrolled))?\b(?!\s+(?:with|who))"
     # ``14 of 22 patients randomly assigned to X``, ``28 women and 12 men``: an arm's count, a composition
     r"(?!\s+(?:\w+ly\s+)?(?:randomly\s+)?(?:randomi[sz]ed|assigned|allocated)\s+to\b)(?!\s+and\s+\d)"),
    (("random",),
     r"\bwe\s+randomi[sz]ed\s+(?P<n>\d[\d,]*)"),
    (("random",),
     r"randomi[sz]ed\s+population\s+numbered\s+(?P<n>\d[\d,]*)"),
    (("compr", "clud"),
     r"(?:cohort|population)\s+(?:comprised|included)\s+(?P<n>\d[\d,]*)\s+patients"),
    (("total",),
     r"\ba\s+total\s+of\s+(?P<n>\d[\d,]*)\s+(?:patients|participants)\s+(?:were\s+)?(?:randomi[sz]ed|enrolled|"
     r"underwent)"),
)]
_SUBGROUP_COUNT = re.compile(r"(?<![:\d.,%\w])(?P<n>\d+)\s*(?:\(\s*\d+(?:\.\d+)?\s*%\s*\)\s*)?(?:patients\s+)?"
                             r"(?:had\s+|with\s+|were\s+)?(?:an?\s+)?$")
_EVALUABLE = re.compile(r"(?<![\w.])(?P<n>\d+)\s+(?:patients\s+)?(?:[\w-]+\s+){0,9}?(?:were\s+)?(?:evaluable|"
                        r"assessable)\s+for\s+(?:response|the\s+primary)", re.I)
#: ``170, 68 and 52 patients had high (…), intermediate (…) and low risk (…), respectively``: named groups' sizes
_GROUP_SIZES = re.compile(r"(?<![\w.,])(?P<nums>(?:\d+|[A-Za-z][a-z]+(?:[- ][a-z]+){0,3})"
                          r"(?:\s*,\s*\d+)*\s*,?\s*and\s+\d+)"
                          r"\s+(?:patients|participants)\s+"
                          r"(?:had|were|with)\s+(?P<labels>(?:[^;.]|(?<=\d)\.(?=\d))+?)\s*,\s*respectively\b")
#: ``Fifty-nine patients were assessed for efficacy``: the cohort every efficacy value is about
_EFFICACY_N = re.compile(r"(?<![\w.])(?P<n>\d+)\s+(?:patients\s+|participants\s+)?(?:were\s+)?(?:assessed|evaluated|"
                         r"evaluable|assessable|analy[sz]ed|analy[sz]able)\s+for\s+(?:the\s+)?efficacy\b", re.I)
#: ``A total of 59 patients received first-line weekly <agent>``: the count treated with the arm's agent
_TREATED_BEFORE = re.compile(r"(?<![\w.,])(?P<n>\d+)\s+(?:consecutive\s+|eligible\s+)?(?:patients|participants|women|"
                             r"adults|children)\s+(?:received|were\s+treated\s+with|were\s+given)\s+"
                             r"(?:[\w-]+\s+){0,3}$", re.I)
#: ``Three patients received X within trial A, three in trial B, …``: a count split by source is a part
_BREAKDOWN_AFTER = re.compile(r",\s*(?:and\s+)?\d+\s+(?:patients\s+)?(?:in|within|from|at|via|through)\b")
_SETTING_WORDS = [("neoadjuvant", re.compile(r"\bneo-?adjuvant\b|\bpreoperative\b", re.I)),
                  ("adjuvant", re.compile(r"\badjuvant\b", re.I))]
_NON = re.compile(r"\bnon[- ]?$", re.I)
_JOINER = re.compile(r"\s*(?:,|or|and|/|\(|\)|\s)*\s*")
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


@dataclass
class TrialContext:
    """What the whole document says about the trial (arms in definition order)."""

    arms: list[frozenset[str]] = field(default_factory=list)
    comparator: int | None = None
    single_arm: bool = False
    order: list[int] = field(default_factory=list)
    sizes: dict[int, int] = field(default_factory=dict)
    total: int | None = None
    total_randomised: bool = False
    evaluable_response: int | None = None
    cohort_n: int | None = None
    efficacy_n: int | None = None  # ``59 patients were assessed for efficacy``: the analysed cohort
    treated_n: int | None = None  # ``59 patients received weekly paclitaxel``: a single arm's treated cohort
    stated_sizes: dict[int, int] = field(default_factory=dict)
    pooled_n: dict[int, int] = field(default_factory=dict)
    population: list[str] = field(default_factory=list)
    subgroup_n: dict[str, int] = field(default_factory=dict)
    group_n: dict[str, int] = field(default_factory=dict)  # ``52 patients had low risk``: a named group's size
    title: str = ""
    trial: str = ""
    phase: str = ""
    randomized: bool | None = None
    setting: str = ""
    line: str = ""
    adjuvant: bool = False
    extra_mentions: list[Mention] = field(default_factory=list)
    design: str = ""
    registry_ids: list[str] = field(default_factory=list)
    year: int | None = None

    def role(self, i: int) -> str:
        """``intervention``, ``comparator`` or ``single`` for arm ``i``."""
        if self.single_arm:
            return "single"
        return "comparator" if i == self.comparator else "intervention"

    def experimental(self) -> list[int]:
        """Indices of the non-control arms, in canonical order."""
        return [i for i in (self.order or range(len(self.arms))) if i != self.comparator]

    @property
    def arm_n_sum(self) -> bool:
        """True when every arm size and the total are stated and the sizes do not add up to it."""
        return (self.total is not None and len(self.arms) >= 2 and len(self.sizes) == len(self.arms)
                and sum(self.sizes.values()) != self.total)

    def as_dict(self) -> dict[str, object]:
        """Plain, serialisable view (``doc._.trial``; msgpack-safe for ``nlp.pipe(n_process=2)``)."""
        return {"title": self.title, "trial": self.trial, "phase": self.phase, "randomized": self.randomized,
                "design": self.design, "registry_ids": list(self.registry_ids), "year": self.year,
                "setting": self.setting, "line": self.line, "arms": [sorted(a) for a in self.arms],
                "comparator": self.comparator, "single_arm": self.single_arm,
                "sizes": {str(k): v for k, v in self.sizes.items()}, "total": self.total,
                "population": list(self.population), "arm_n_sum": self.arm_n_sum}


def in_range(mentions: Sequence[Mention], start: int, end: int) -> list[Mention]:
    """Mentions lying inside ``[start, end)`` (``mentions`` sorted by start)."""
    i = bisect.bisect_left(mentions, (start,))
    out = []
    for m in mentions[i:]:
        if m[0] >= end:
            break
        if m[1] <= end:
            out.append(m)
    return out


def histotype_ids(text: str, m: Mention) -> list[str]:
    """Canonical histotypes of a mention; a negated subtype (``non-uterine LMS``) is its parent."""
    ids = list(m[3])
    if _NON.search(text[max(0, m[0] - 4):m[0]]):
        ids = [VOCAB.parent(h) or h for h in ids]
    return ids


def histotype_groups(text: str, mentions: Sequence[Mention]) -> list[tuple[int, int, list[str]]]:
    """Histotype mentions joined by ``or``/``and``/commas into populations ``(start, end, ids)``."""
    out: list[tuple[int, int, list[str]]] = []
    for m in mentions:
        if m[2] != "HISTOTYPE":
            continue
        ids = histotype_ids(text, m)
        if out and _JOINER.fullmatch(text[out[-1][1]:m[0]]):
            prev = out[-1]
            out[-1] = (prev[0], m[1], prev[2] + [h for h in ids if h not in prev[2]])
            continue
        out.append((m[0], m[1], ids))
    return out


def most_specific(ids: list[str]) -> list[str]:
    """Drop a histotype when a subtype of it is also listed (``liposarcoma`` beside ``DDLPS``)."""
    return sorted({h for h in ids if not any(h in VOCAB.ancestors(o) for o in ids if o != h)})


def _definition_segment(text: str, start: int, end: int) -> int:
    """Where an arm definition starts inside a randomisation sentence (after ``... to``)."""
    m = _RANDOM_VERB.search(text, start, end)
    if not m:
        return start
    to = re.compile(r"\b(?:to|between)\s+(?!\d)").search(text, m.end(), end)
    return to.start() if to else m.end()


_ROLE_DEFINITION = quick(re.compile(
    r"\b(?P<role>test|experimental|study|treatment|intervention|investigational|control|"
    r"standard|reference)\s+(?:group|arm)s?\s*(?:\([^)]{0,30}\)\s*)?(?:received|was\s+given|were\s+given|"
    r"was\s+treated\s+with|were\s+treated\s+with|consisted\s+of|:)\s*", re.I))


#: ``randomly assigned to stop treatment (standard arm) or receive X plus Y (dose; experimental arm)``: a role
#: named in brackets after the arm it labels (an arm of no agent that stops or withholds treatment: observation)
_ROLE_AFTER = quick(re.compile(r"\((?:[^()]{0,40};\s*)?(?P<role>experimental|investigational|intervention|test|"
                               r"control|standard|reference)\s+(?:group|arm)\)", re.I))
_WITHHOLD = re.compile(r"\b(?:discontinu\w*|stop\w*|no\s+(?:further|additional|maintenance|adjuvant)\b|"
                       r"observ\w*|not\s+receive)", re.I)


def _roles_after_arms(text: str, s: int, e: int, mentions: Sequence[Mention], found: dict[str, frozenset[str]]) -> None:
    """Arms labelled by a bracketed role after their description (see ``_ROLE_AFTER``), into ``found``."""
    # imported here: extraction.components imports the statistics component, which imports this module
    from extraction.components.abbreviations import long_form_window

    for m in _ROLE_AFTER.finditer(text, s, e):
        begin = max(s, long_form_window(text, m.start()))
        groups = group_mentions(text, in_range(mentions, begin, m.start()))
        ids = frozenset().union(*(g[2] for g in groups if g[2])) if groups else frozenset()
        role = "control" if m.group("role").lower() in ("control", "standard", "reference") else "exp"
        if not ids and role == "control" and _WITHHOLD.search(text, begin, m.start()):
            ids = frozenset({"observation"})
        if ids and role not in found:
            found[role] = ids


def role_defined_arms(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]
                      ) -> list[frozenset[str]]:
    """``Patients in the test group received X combined with Y ... the control group received Y``: arms
    defined by what each role's group received (experimental first, control last)."""
    found: dict[str, frozenset[str]] = {}
    for s, e in sentences[1:16]:
        if may_match(_ROLE_AFTER, text) and _RANDOM_VERB.search(text, s, e):
            _roles_after_arms(text, s, e, mentions, found)
        for m in _ROLE_DEFINITION.finditer(text, s, e):
            stop = re.compile(r"[;.]|\b(?:and|while|whereas)\s+(?:patients\s+in\s+)?the\s+\w+\s+(?:group|arm)").search(
                text, m.end(), e)
            end = stop.start() if stop else e
            groups = group_mentions(text, in_range(mentions, m.end(), end))
            ids = frozenset().union(*(g[2] for g in groups if g[2])) if groups else frozenset()
            role = "control" if m.group("role").lower() in ("control", "standard", "reference") else "exp"
            if ids and role not in found:
                found[role] = ids
    if len(found) == 2 and found["exp"] != found["control"]:
        return [found["exp"], found["control"]]
    return []


_ARM_LABEL = re.compile(r"(?:arm|group|cohort|regimen|schedule|treatment|trt)\s+(?:\[[a-z]{2,6}\]\s*)?[A-Z0-9]{1,2}",
                        re.I)


def labelled_arms(text: str, mentions: Sequence[Mention]) -> list[frozenset[str]]:
    """Arms the text names only by labels it defines (``Group 1 … received X``, ``X (arm A)``): the
    agents of each label, in the order the labels are first named, when two or more labels define
    different arms."""
    by_label: dict[str, frozenset[str]] = {}
    for a, b, lab, ids in mentions:
        if lab == "AGENT" and ids and _ARM_LABEL.fullmatch(text, a, b):
            by_label.setdefault(text[a:b].lower().split()[-1], frozenset(ids))
    arms = list(by_label.values())
    return arms if len(arms) >= 2 and len(set(arms)) == len(arms) else []


_REFERENCE = quick(re.compile(r"\b(?:reference|control|standard|comparator)\s+(?:arm|group|regimen)\s+"
                              r"(?:of|with|receiving|received|consisting\s+of|given)\s+", re.I))


def named_reference(text: str, mentions: Sequence[Mention], arms: Sequence[frozenset[str]]) -> int | None:
    """The control of a trial of three or more arms, named by its role: ``relative to a reference arm of
    X and Y``."""
    if not may_match(_REFERENCE, text):
        return None
    for m in _REFERENCE.finditer(text):
        stop = re.compile(r"[.;,()]").search(text, m.end())
        end = min(stop.start() if stop else len(text), m.end() + 100)
        for _a, _b, ids, comb in group_mentions(text, in_range(mentions, m.end(), end), arms):
            i = map_mention(ids, arms, combination=comb)
            if i is not None:
                return i
    return None


#: ``non-inferior to the standard X``, ``compared with standard X``: the arm the text calls the standard
_STANDARD_BEFORE = re.compile(
    r"(?:\bnon-?inferior(?:ity)?\s+(?:to|with|versus)\s+(?:the\s+)?(?:(?:current|present)\s+)?(?:standard\s+)?"
    r"|\b(?:the\s+)?(?:current\s+|present\s+)?standard(?:\s+(?:of\s+care|first-line|treatment|regimen|"
    r"chemotherapy|therapy|arm))?(?:\s+(?:with|of))?\s+)$", re.I)


def standard_arm(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention],
                 arms: Sequence[frozenset[str]]) -> int | None:
    """The arm a two-arm trial's opening sentences call the standard (``whether X is non-inferior to the
    standard Y``): the comparator, when no control or backbone says which it is. One arm only, else None."""
    if not sentences or ("standard" not in text.lower() and "inferior" not in text.lower()):
        return None
    end = sentences[min(6, len(sentences) - 1)][1]
    found = set()
    for a, _b, ids, comb in group_mentions(text, [m for m in mentions if m[0] < end], arms):
        if ids and _STANDARD_BEFORE.search(text[max(0, a - 60):a]):
            i = map_mention(ids, arms, combination=comb)
            if i is not None:
                found.add(i)
    return found.pop() if len(found) == 1 else None


def _without_bare_controls(arms: list[frozenset[str]]) -> list[frozenset[str]]:
    """Drop a control named alone when an arm pairs it with a backbone (``a placebo-controlled trial of X
    plus Y vs placebo plus Y``: the arms are X+Y and placebo+Y)."""
    if arms and arms[0] <= CONTROLS and any(arms[0] < b for b in arms[1:]):
        return arms[1:]
    return arms


def define_arms(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]) -> list[frozenset[str]]:
    """Arms from the title, or a richer definition in the first randomisation sentence (else what the
    test and control groups received)."""
    title = parse_arms(text[sentences[0][0]:sentences[0][1]],
                       [(a - sentences[0][0], b - sentences[0][0], lab, ids)
                        for a, b, lab, ids in in_range(mentions, *sentences[0])]) if sentences else []
    title = _without_bare_controls(title)
    methods: list[frozenset[str]] = []
    # a trial report defines its arms in the title or methods; a review's later comparisons are local
    for s, e in sentences[1:14]:
        if s > 4000:
            break
        if not _RANDOM_VERB.search(text, s, e) or planned_study(text[s:e]):
            continue
        seg = _definition_segment(text, s, e)
        ms = [(a - seg, b - seg, lab, ids) for a, b, lab, ids in in_range(mentions, seg, e)]
        arms = _without_bare_controls(parse_arms(text[seg:e], ms))
        if 2 <= len(arms) <= 4:
            methods = arms
            break
    if len(methods) > 3 or (methods and len(set(methods)) != len(methods)):
        methods = []
    if methods and len(title) < 2:
        return methods
    if len(title) < 2 and not methods:
        roles = role_defined_arms(text, sentences, mentions)
        if roles:
            return roles
    if methods and title:
        if set(methods) == set(title) and not _TEMPORAL.search(text, *sentences[0]):
            return title  # the same arms: the title's order says which is experimental (``X versus Y``)
        t_union = frozenset().union(*title) - CONTROLS
        m_union = frozenset().union(*methods)
        # the richer definition wins (``X plus Y vs placebo plus Y`` over ``X plus Y or placebo``)
        generic_only = any(a <= GENERIC for a in methods) and not any(a <= GENERIC for a in title)
        if t_union <= m_union and len(methods) == len(title) and not generic_only and \
                sum(map(len, methods)) >= sum(map(len, title)):
            return methods
    return title


def _count_before(norm: str, pos: int) -> int | None:
    m = _COUNT_BEFORE.search(norm, max(0, pos - 70), pos)
    if m and m.end() == pos:
        v = parse_number(m.group("n"))
        return int(v) if v else None
    return None


def collect_sizes(ctx: TrialContext, text: str, norm: str, sentences: Sequence[tuple[int, int]],
                  mentions: Sequence[Mention], with_digit: Sequence[bool] | None = None) -> None:
    """Arm sizes (``246 to pazopanib and 123 to placebo``), totals, subgroup counts, evaluable counts.

    ``with_digit``: :func:`~extraction.numbers.digit_spans` of the sentences, when the caller has it.
    """
    if with_digit is None:
        with_digit = digit_spans(norm, sentences)
    word_rx = _count_grammar()["word_rx"]
    for idx, ((s, e), digit) in enumerate(zip(sentences, with_digit, strict=True)):
        if not digit and not word_rx.search(norm, s, e):
            continue
        seg = digits_for_number_words(norm[s:e])
        if ctx.total is None or not ctx.total_randomised:
            low = seg.lower()
            m = next((m for rx in _count_grammar()["total"] for m in [rx.search(seg)] if m), None)
            if m is None:
                m = next((m for words, rx in _TOTALS if any(w in low for w in words) for m in [rx.search(seg)] if m),
                         None)
            if m and any(rx.search(seg) for rx in _count_grammar()["pooled"]):
                # a count over several studies (a review's pooled patients) is not this study's
                ctx.pooled_n[idx] = int(parse_number(m.group("n")) or 0)
                m = None
            if m is None and ctx.total is None:
                comp = next((c for rx in _count_grammar()["composition"] for c in [rx.search(seg)] if c), None)
                if comp and (comp.group("pa").lower() in ("women", "females", "girls")) != (
                        comp.group("pb").lower() in ("women", "females", "girls")):
                    ctx.total = int(parse_number(comp.group("a")) or 0) + int(parse_number(comp.group("b")) or 0)
            randomised = bool(m and re.search(r"randomi|assigned|allocated", m.group(), re.I))
            if m and (ctx.total is None or randomised):  # a randomised total outranks an enrolled one
                ctx.total = int(parse_number(m.group("n")) or 0) or None
                ctx.total_randomised = randomised
                _population_of_count(ctx, text, s, m, in_range(mentions, s, e))
        ms = in_range(mentions, s, e)
        if ctx.arms and not ctx.sizes:
            found: dict[int, int] = {}
            per = _PER_GROUP.search(seg)
            if per and len(ctx.arms) >= 2:
                found = dict.fromkeys(range(len(ctx.arms)), int(per.group("n")))
            elif per and per.group("unit") == "cohort" and ctx.cohort_n is None:
                ctx.cohort_n = int(per.group("n"))  # one treatment given to cohorts of one size
            mapped = [(a, b, map_mention(ids, ctx.arms, combination=comb, comparator=ctx.comparator))
                      for a, b, ids, comb in group_mentions(text, ms, ctx.arms)]
            for a, b, i in mapped:
                if i is None or i in found:
                    continue
                if _EVENT_BREAKDOWN.search(norm, max(s, a - 90), a):
                    continue
                n = _count_before(norm, a)
                before = next((m for rx in _count_grammar()["arm_size_before"]
                               for m in [rx.search(norm, max(s, a - 90), a)] if m and m.end() == a), None)
                if before:  # ``… of 22 patients randomly assigned to X``: X's size, whatever the other arm's
                    ctx.stated_sizes.setdefault(i, int(parse_number(before.group("n")) or 0))
                after = _N_AFTER.match(norm, b) or next(
                    (m for rx in _count_grammar()["arm_size_after"] for m in [rx.match(norm, b)] if m), None)
                if n is None and after:
                    n = int(parse_number(after.group("n")) or 0) or None
                if n:
                    found[i] = n
            if len(found) < 2 <= len(ctx.arms):
                found = _listed_sizes(ctx, norm, s, seg, mapped) or found
            if len(found) >= 2 or (len(found) == 1 and len(ctx.arms) == 1):
                ctx.sizes = found
                first: dict[int, int] = {}  # arm → where this sentence first names it
                for a, _b, i in mapped:
                    if i is not None:
                        first.setdefault(i, a)
                ctx.order = sorted(found, key=lambda i: first.get(i, 10**9))
        for m in ms:
            if m[2] == "HISTOTYPE":
                c = _SUBGROUP_COUNT.search(norm, max(0, m[0] - 30), m[0])
                after = _N_AFTER.match(norm, m[1])  # ``For LMS (n = 41), …``
                if (c and c.end() == m[0]) or after:
                    k = int(c.group("n")) if c and c.end() == m[0] else int(parse_number(after.group("n")) or 0)
                    for h in histotype_ids(text, m):
                        ctx.subgroup_n.setdefault(h, k)
        if "respectively" in seg and (g := _GROUP_SIZES.search(seg)) is not None:
            nums = [_count_value(x) for x in re.split(r"\s*,\s*|\s*\band\s+", g.group("nums")) if x.strip()]
            labels = [x.strip().lower() for x in re.split(r",|\band\b", re.sub(r"\([^()]*\)", " ", g.group("labels")))]
            if len(nums) == len(labels) and all(labels) and all(nums):
                for lab, k in zip(labels, nums, strict=True):
                    ctx.group_n.setdefault(lab, int(k or 0))
        if ctx.efficacy_n is None and "effica" in seg.lower() and (ef := _EFFICACY_N.search(seg)):
            ctx.efficacy_n = int(ef.group("n"))
        if ctx.single_arm and ctx.treated_n is None and ctx.arms and idx not in ctx.pooled_n and not any(
                rx.search(seg) for rx in _count_grammar()["pooled"]):
            for a, _b, i in mapped_single(text, ms, ctx):
                t = _TREATED_BEFORE.search(norm, max(s, a - 70), a)
                if i == 0 and t and t.end() == a and not _BREAKDOWN_AFTER.search(norm, a, e):
                    ctx.treated_n = int(parse_number(t.group("n")) or 0) or None
                    break
        if ctx.evaluable_response is None and "able" in seg.lower():  # the pattern ends in -able
            ev = _EVALUABLE.search(seg) or next(
                (m for rx in _count_grammar()["evaluable"] for m in [rx.search(seg)] if m), None)
            if ev:
                ctx.evaluable_response = int(ev.group("n"))
    if ctx.treated_n and ctx.total and ctx.treated_n > ctx.total:
        ctx.treated_n = None  # those treated with the arm's agent are a part of the cohort, never more


#: ``640 patients were randomized: 317 EVO+D, 323 D``: the arms' sizes listed after a colon, one count per arm
_COLON_SIZES = re.compile(r"(?<![\d.,])(?P<total>\d{1,3}(?:,\d{3})+|\d+)\s+"
                          r"(?:patients|participants|women|adults|pts)\s+"
                          r"(?:were\s+)?(?:randomi[sz]ed|randomly\s+(?:assigned|allocated)|enrolled|assigned|allocated)"
                          r"\s*:\s*(?P<list>\d[^;.]*)")
_LIST_ITEM = re.compile(r"(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?P<label>[^,;]+?)\s*(?=,|\band\b|$)")
#: ``A and B were given to 81 and 39 patients, respectively``: counts listed in the arms' order
_RESPECTIVE_COUNTS = re.compile(r"(?<![\d.,%])(?P<nums>\d+(?:\s*(?:,|,?\s*and)\s*\d+)+)\s+"
                                r"(?:patients|participants|women|adults|pts)\b[^.;]{0,40}?,?\s*respectively\b")


def _listed_sizes(ctx: TrialContext, norm: str, s: int, seg: str,
                  mapped: Sequence[tuple[int, int, int | None]]) -> dict[int, int]:
    """Arm sizes written as a list: after a colon that follows the total (``640 patients were randomized:
    317 A, 323 B``; each label names its arm, an unnamed last label the one arm left, and the counts add up to
    the total), or as counts matched to the arms by ``respectively`` (``A and B were given to 81 and 39
    patients, respectively``; the arms named in the sentence, in order)."""
    if (c := _COLON_SIZES.search(seg)) is not None:
        items = list(_LIST_ITEM.finditer(c.group("list")))
        total = int(parse_number(c.group("total")) or 0)
        if len(items) == len(ctx.arms) and sum(int(parse_number(i.group("n")) or 0) for i in items) == total:
            base = s + c.start("list")
            out: dict[int, int] = {}
            loose: list[int] = []
            for it in items:
                arms = {i for a, _b, i in mapped if i is not None
                        and base + it.start("label") <= a < base + it.end("label")}
                n = int(parse_number(it.group("n")) or 0)
                if len(arms) == 1 and next(iter(arms)) not in out:
                    out[next(iter(arms))] = n
                else:
                    loose.append(n)
            rest = [i for i in range(len(ctx.arms)) if i not in out]
            if len(loose) == len(rest) == 1:
                out[rest[0]] = loose[0]
            if len(out) == len(ctx.arms):
                return out
    if "respectively" in seg and (r := _RESPECTIVE_COUNTS.search(seg)) is not None:
        nums = [int(x) for x in re.findall(r"\d+", r.group("nums"))]
        named: list[int] = []
        for _a, _b, i in mapped:
            if i is not None and i not in named:
                named.append(i)
        if len(named) == len(nums) == len(ctx.arms):
            return dict(zip(named, nums, strict=True))
    return {}


def _count_value(item: str) -> int | None:
    """``52`` → 52, ``One hundred seventy`` → 170 (None for words that are not a number)."""
    item = item.strip()
    if item.isdigit():
        return int(item)
    words = _count_grammar()["words"]
    total = 0
    for p in re.split(r"[- ]+", item.lower()):
        if p == "hundred":
            total *= 100
        elif p in words:
            total += words[p]
        elif p != "and":
            return None
    return total or None


def mapped_single(text: str, ms: Sequence[Mention], ctx: TrialContext) -> list[tuple[int, int, int | None]]:
    """Arm mentions of a sentence mapped to the trial's arms ``(start, end, arm index)``."""
    return [(a, b, map_mention(ids, ctx.arms, combination=comb, comparator=ctx.comparator))
            for a, b, ids, comb in group_mentions(text, ms, ctx.arms)]


def _population_of_count(ctx: TrialContext, text: str, s: int, m: re.Match[str], ms: Sequence[Mention]) -> None:
    """The population a total is about (``309 patients with leiomyosarcoma were included``, ``enrolling
    452 patients with liposarcoma or leiomyosarcoma``): it, not the title, is the trial's population."""
    groups = histotype_groups(text, [x for x in ms if s + m.start() <= x[0] <= s + m.end() + 120])
    if not groups:
        return
    g = groups[0]
    between = text[s + m.start():g[0]]
    if re.search(r"\d|\b(?:including|comprising|of\s+whom|among\s+(?:them|whom))\b", text[s + m.end("n"):g[0]]):
        return  # ``49 enrolled, including 17 with liposarcoma``: a part of the population, not all of it
    if re.search(r"\bwith\b", between) and not re.search(r"[.;]", between):
        ids = most_specific(g[2])
        if ids and "soft_tissue_sarcoma" not in ids:
            ctx.population = ids


def _phase(text: str) -> str:
    nums = []
    for m in re.finditer(r"\bphase\s*-?\s*((?:[1-4]|IV|I{1,3})[ab]?)(?:\s*/\s*((?:[1-4]|IV|I{1,3})[ab]?))?",
                         text, re.I):
        for g in m.groups():
            if g:
                d = _ROMAN.get(g.rstrip("ab").upper(), g.rstrip("abAB"))
                if d not in nums:
                    nums.append(d)
    nums = sorted(nums)
    if not nums:
        return ""
    ph = nums[0] if len(nums) == 1 else f"{nums[0]}/{nums[-1]}"
    return ph if ph in ("1", "2", "3", "1/2", "2/3") else nums[-1] if nums[-1] in "123" else ""


def metadata(ctx: TrialContext, text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]) -> None:
    """Title, trial name, phase, randomisation, setting and line."""
    if not sentences:
        return
    t0, t1 = sentences[0]
    ctx.title = text[t0:t1].split("\n")[0].strip()
    acr = re.search(r"\(([A-Z][A-Z0-9]+(?:[- ][A-Z0-9]+)*)\)", ctx.title)
    pre = re.match(r"^([A-Z][A-Z0-9-]{2,}(?:\s+(?:[IVX]+|\d+))?)\s*:", ctx.title)
    named = [text[m[0]:m[1]] for m in mentions if m[2] in ("TRIAL", "REGISTRY")]
    if acr and not VOCAB.normalize_histotype(acr.group(1)) and not VOCAB.normalize_agent(acr.group(1)) \
            and not VOCAB.normalize_endpoint(acr.group(1)) and not re.fullmatch(r"CD\d+[a-z]?", acr.group(1)):
        ctx.trial = acr.group(1)
    elif pre:
        ctx.trial = pre.group(1)
    elif named:
        ctx.trial = re.sub(r"\s+(?:trial|study)$", "", named[0], flags=re.I)
    head = " ".join(text[s:e] for s, e in sentences[:8])
    ctx.phase = _phase(ctx.title) or _phase(next((text[s:e] for s, e in sentences[:12]
                                                  if re.search(r"\b(?:this|our|present)\b", text[s:e], re.I)
                                                  and re.search(r"\bphase\b", text[s:e], re.I)), "")) or _phase(head)
    labels = {m[2] for m in mentions}
    ctx.randomized = False if "SINGLE_ARM" in labels else True if "RANDOMIZED" in labels else None
    early = [m for m in mentions if m[0] < (sentences[min(5, len(sentences) - 1)][1])]
    title_ms = in_range(mentions, t0, t1)
    for label, attr, prio in (("SETTING", "setting", ("neoadjuvant", "adjuvant", "advanced", "localized")),
                              ("LINE", "line", ("first", "second_plus"))):
        for pool in (title_ms, early):
            found = {m[3][0] for m in pool if m[2] == label and m[3]}
            best = next((p for p in prio if p in found), "")
            if best:
                setattr(ctx, attr, best)
                break
    facts = study_facts(text, ctx.title, ctx.trial)
    ctx.design, ctx.registry_ids, ctx.trial = facts["design"], facts["registry_ids"], facts["trial"]
    ctx.year = facts.get("cite_year")
    title_setting = next((name for name, rx in _SETTING_WORDS if rx.search(ctx.title)), "")
    if title_setting in ("neoadjuvant", "adjuvant"):
        ctx.setting = title_setting
    ctx.adjuvant = ctx.setting == "adjuvant"


_ONE_POPULATION = ("single_arm", "observational", "pooled_analysis")


@functools.lru_cache(maxsize=1)
def _role_grammar() -> list[tuple[str, re.Pattern[str]]]:
    rows = [json.loads(ln) for ln in (resources.files("extraction") / "patterns" / "arm_roles.jsonl")
            .read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [(r["role"], quick(re.compile(r["regex"], re.I))) for r in rows]


def role_mentions(text: str, ctx: TrialContext, mentions: Sequence[Mention]) -> list[Mention]:
    """Arms named by their role (``the control group``, ``the experimental arm``, ``monotherapy`` beside a
    combination) in a two-arm trial, as mentions of that arm's agents."""
    if len(ctx.arms) != 2 or ctx.comparator is None:
        return []
    comp = ctx.arms[ctx.comparator]
    exp = ctx.arms[1 - ctx.comparator]
    ids = {"comparator": comp, "intervention": exp,
           "single_agent": comp if comp < exp else exp if exp < comp else None}
    taken = [(m[0], m[1]) for m in mentions]
    out: list[Mention] = []
    for role, rx in _role_grammar():
        arm = ids[role]
        if not arm or not may_match(rx, text):
            continue
        for m in rx.finditer(text):
            if not any(m.start() < e and s < m.end() for s, e in taken):
                out.append((m.start(), m.end(), "AGENT", tuple(sorted(arm))))
    return out


def dose_label(value: str) -> str:
    """The arm qualifier of a dose (``400`` → ``~400 mg``; ``~`` ids never show in an arm's name)."""
    v = float(value)
    return f"~{v:g} mg"


def dose_arms(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]
              ) -> tuple[list[frozenset[str]], int, list[Mention]] | None:
    """Arms of one agent at two doses (``imatinib 400 mg or 800 mg daily``, or ``400 mg either once or twice a
    day``: 400 and 800 mg a day): the arms, the comparator (the lower, standard dose) and a mention for every
    later ``400 mg`` / ``400-mg arm`` / ``once daily``."""
    g = _count_grammar()
    agents = [m for m in mentions if m[2] == "AGENT" and not set(m[3]) <= CONTROLS]
    if not sentences or not agents:
        return None
    for s, e in [sentences[0], *[(a, b) for a, b in sentences[1:14] if _RANDOM_VERB.search(text, a, b)]]:
        for rx in g["dose_arms"]:
            m = rx.search(text, s, e)
            if not m:
                continue
            near = [a for a in agents if m.start() - 60 <= a[1] <= m.start() + 2]
            if not near or m.group("d1") == m.group("d2"):
                continue
            agent = frozenset(near[-1][3])
            d1, d2 = float(m.group("d1")), float(m.group("d2"))
            arms = [agent | {dose_label(m.group("d1"))}, agent | {dose_label(m.group("d2"))}]
            doses = {dose_label(m.group("d1")), dose_label(m.group("d2"))}
            extra = [(x.start(), x.end(), "AGENT", (dose_label(x.group("d")),))
                     for rxm in g["dose_mention"] for x in rxm.finditer(text) if dose_label(x.group("d")) in doses]
            return arms, 0 if d1 < d2 else 1, extra
        for rx in g["dose_frequency_arms"]:
            m = rx.search(text, s, e)
            near = [a for a in agents if m.start() - 60 <= a[1] <= m.start() + 2] if m else []
            if not near:
                continue
            agent = frozenset(near[-1][3])
            once, twice = dose_label(m.group("d")), dose_label(str(2 * float(m.group("d"))))
            extra = [(x.start(), x.end(), "AGENT", (once if x.group("f").lower() == "once" else twice,))
                     for rxm in g["frequency_mention"] for x in rxm.finditer(text)]
            return [agent | {once}, agent | {twice}], 0, extra
    return None


def _treatment_of_cohort(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]
                         ) -> list[frozenset[str]]:
    """The one treatment of a cohort study or a single-arm trial whose title names no agent
    (``59 patients received first-line weekly paclitaxel``): the first agent its opening sentences name
    that is not a previous treatment."""
    end = sentences[min(12, len(sentences) - 1)][1]
    for a, _b, ids, _comb in group_mentions(text, [m for m in mentions if m[0] < end]):
        before = text[max(0, a - 40):a]
        if not ids or ids <= CONTROLS or _PRIOR.search(before):
            continue
        specific = ids - {"chemotherapy", "surgery", "radiotherapy"}
        if specific:
            return [frozenset(specific)]
    return []


#: ``treated with a combination of A (20 mg/m(2)/d x 5) and B (100 mg/m2)``: agents joined by ``and`` inside a
#: combination, each perhaps followed by its dose in brackets (one level of nesting)
_COMBINATION_OF = quick(re.compile(r"\b(?:combinations?\s+of|combined\s+regimen\s+of|doublet\s+of)\s+", re.I))
_DOSE_BRACKET = r"(?:\s*\((?:[^()]|\([^()]*\))*\))?"
_COMBINATION_GAP = re.compile(_DOSE_BRACKET + r"\s*(?:,\s*(?:and\s+)?|and|plus|with|\+)\s*")


def _combination_treatment(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention]
                           ) -> frozenset[str] | None:
    """The agents of the first ``a combination of A (dose) and B (dose)`` in the opening sentences."""
    for s, e in sentences[1:12]:
        for m in _COMBINATION_OF.finditer(text, s, e):
            agents = [x for x in in_range(mentions, m.end(), e) if x[2] == "AGENT"]
            if not agents or agents[0][0] != m.end():
                continue
            ids = set(agents[0][3])
            for a, b in itertools.pairwise(agents):
                if not _COMBINATION_GAP.fullmatch(text, a[1], b[0]):
                    break
                ids |= set(b[3])
            ids -= CONTROLS | {"chemotherapy", "surgery", "radiotherapy"}
            if len(ids) >= 2:
                return frozenset(ids)
    return None


_PRIOR = re.compile(r"\b(?:after|following|previous(?:ly)?|prior|pretreated\s+with|refractory\s+to|failure\s+of|"
                    r"progress\w*\s+on|naive|resistant\s+to)\b[^.;]*$", re.I)


def build_context(text: str, sentences: Sequence[tuple[int, int]], mentions: Sequence[Mention],
                  norm: str | None = None, with_digit: Sequence[bool] | None = None) -> TrialContext:
    """The :class:`TrialContext` of a document (``norm``: ``normalize(text)``, ``with_digit``:
    ``digit_spans(norm, sentences)``, when the caller has them)."""
    ctx = TrialContext()
    metadata(ctx, text, sentences, mentions)
    ctx.arms = define_arms(text, sentences, mentions)
    labelled = labelled_arms(text, mentions)
    if labelled and (len(ctx.arms) < len(labelled) or (len(ctx.arms) == len(labelled)
                                                         and set(ctx.arms) != set(labelled))
                     or (len(ctx.arms) > len(labelled)
                         and all(any(a <= b for b in labelled) for a in ctx.arms if a - {"chemotherapy"}))) \
            and frozenset().union(*ctx.arms) - {"chemotherapy"} <= frozenset().union(*labelled):
        # (``standard chemotherapy`` in a title is the regimen a label spells out; a title's list ``X or Y, Z
        # and W`` read as more arms than the labels define is pieces of the labelled regimens)
        ctx.arms = labelled  # each label's own definition (covering every agent) is richer than a list
    dosed = dose_arms(text, sentences, mentions) if len(ctx.arms) < 2 else None
    if dosed:
        ctx.arms, dose_comparator, ctx.extra_mentions = dosed
        mentions = sorted([m for m in mentions if not any(m[0] < x[1] and x[0] < m[1] for x in ctx.extra_mentions)]
                          + ctx.extra_mentions)
    labels = {m[2] for m in mentions}
    if not ctx.arms and ctx.design in _ONE_POPULATION and sentences:
        ctx.arms = _treatment_of_cohort(text, sentences, mentions) or ([] if ctx.randomized else [frozenset()])
        # (a series or benchmark that names no treatment: one population, its treatment unnamed)
    if len(ctx.arms) == 1 and not dosed:
        # a one-treatment study whose title names part of its regimen: the combination its methods give
        combo = _combination_treatment(text, sentences, mentions)
        if combo and ctx.arms[0] < combo:
            ctx.arms = [combo]
    if len(ctx.arms) == 1:
        if ctx.adjuvant and not ctx.arms[0] & CONTROLS and "SINGLE_ARM" not in labels \
                and ctx.design not in _ONE_POPULATION:  # (a single-arm adjuvant study has no control)
            ctx.arms.append(frozenset({"observation"}))
        elif "SINGLE_ARM" in labels or not ctx.randomized or ctx.design in _ONE_POPULATION:
            ctx.single_arm = True
        else:
            ctx.arms = []
    ctx.comparator = dose_comparator if dosed else comparator_index(ctx.arms)
    if not dosed and len(ctx.arms) == 2 and not any(a & CONTROLS for a in ctx.arms) \
            and not (ctx.arms[0] < ctx.arms[1] or ctx.arms[1] < ctx.arms[0]):
        named = standard_arm(text, sentences, mentions, ctx.arms)
        if named is not None:
            ctx.comparator = named
    if ctx.comparator is None and len(ctx.arms) >= 3:
        ctx.comparator = named_reference(text, mentions, ctx.arms)
    ctx.order = list(range(len(ctx.arms)))
    roles = role_mentions(text, ctx, mentions)
    if roles:
        ctx.extra_mentions = [*ctx.extra_mentions, *roles]
        mentions = sorted([*mentions, *roles])
    if ctx.comparator == 0 and len(ctx.arms) == 2 and ctx.arms[0] <= CONTROLS:
        ctx.order = [1, 0]  # ``a placebo-controlled trial of X``: results name the experimental arm first
    if sentences:
        groups = histotype_groups(text, in_range(mentions, *sentences[0]))
        if not groups:
            early_end = sentences[min(4, len(sentences) - 1)][1]
            groups = histotype_groups(text, [m for m in mentions if m[0] < early_end])[:1]
        ids = [h for g in groups for h in g[2]]
        ctx.population = most_specific(ids) or ["soft_tissue_sarcoma"]
    collect_sizes(ctx, text, normalize(text) if norm is None else norm, sentences, mentions, with_digit)
    return ctx
