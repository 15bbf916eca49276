"""Statistic assembly: turn the candidates of one sentence into evidence-record fields.

For each sentence with a digit, :func:`assemble_sentence` attaches to every candidate of
:func:`extraction.values.scan_values`

* its endpoint — the nearest endpoint cue before it (or, failing that, after it); a distractor cue
  (follow-up, duration of response, age, adverse events, quality of life) in that place drops it;
* its arm — arm values form groups (``4.6 vs 1.6 months``, ``19.8, 18.3 and 16.9 months, respectively``)
  matched to the arms mentioned around them in order, else to the order in which the arms were listed;
  a between-arm ratio is a ``contrast`` of the experimental arm it names (three-arm trials) against
  the control;
* its p value — a p belongs to the nearest statistic before it: to the ratio when there is one, else to
  every value of the arm group (a comparison of medians or rates without a ratio);
* its population — a histotype named before the values (``Among patients with leiomyosarcoma, …``)
  or after each of them (``0.51 in liposarcoma and 0.88 in leiomyosarcoma``), else the trial's;
* its ``n`` and timepoint, following the gold conventions.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from evidence.vocabulary import VOCAB
from extraction.arms import CONTROLS, Mention, comparator_index, group_mentions, map_mention, parse_arms
from extraction.context import _RANDOM_VERB, TrialContext, _definition_segment, histotype_groups, most_specific
from extraction.numbers import DIGIT_RE, PATIENTS_RE, parse_number
from extraction.values import Stat, scan_values

_RATE_ENDPOINTS = ("ORR", "DCR", "CBR")
_NON_DRUG = frozenset({"chemotherapy", "surgery", "radiotherapy"})
_BOTH = re.compile(r"\b(?:in|for)\s+(?:both|each|all)\s+"
                   r"(?:arms|groups|cohorts|(?:treatment|study)\s+(?:groups|arms))\b", re.I)

#: ``6.0 months for both drug A and drug B``: one value that each of the arms named after it shares
_BOTH_NAMED = re.compile(r"^[^\d;]{0,12}?\b(?:in|for|with)\s+both\s+(?:the\s+)?[^\s\d;,]+(?:\s+[^\s\d;,]+){0,3}?"
                         r"\s+and\s+\w", re.I)
_ONE_SIDED = re.compile(r"\bone[- ]sided\b|\bone[- ]tailed\b", re.I)
_CORRESPOND = re.compile(r"\bcorrespond", re.I)
#: ``For the scalp group it was 9.5 months``: a value referring back to the endpoint of the sentence before
_PRONOUN_VALUE = re.compile(r"\b(?:it|they)\s+(?:was|were)\s+(?=\d)", re.I)
_MEDIAN = re.compile(r"\bmedians?\b|\bm(?:PFS|OS|TTP|DFS|RFS|EFS)\b", re.I)
_VERSUS = re.compile(r"\b(?:vs|versus|v|compared|and)\b")
_RESPECTIVELY = re.compile(r"\brespectively\b")
#: "<treatment> improved median PFS from 2.6 (months) to 4.2 months": the first value is the control's
_FROM_BEFORE = re.compile(r"\bfrom\s*$", re.I)
_TO_BETWEEN = re.compile(r"^[^\d;.]{0,60}?\bto\s*$", re.I)


@dataclass
class Frame:
    """The arms a sentence is read against (the trial's, or a local comparison in a review)."""

    arms: list[frozenset[str]]
    comparator: int | None
    order: list[int]
    single: bool = False
    sizes: dict[int, int] = field(default_factory=dict)
    local: bool = False
    unnamed: bool = False  # a synthesis naming no agent: the pooled treatments against their controls

    def experimental(self) -> list[int]:
        return [i for i in self.order if i != self.comparator]


@dataclass
class State:
    """What carries over from one sentence to the next."""

    last_endpoint: str | None = None
    local_frames: list[tuple[int, Frame]] = field(default_factory=list)
    sentence_index: int = 0
    other_trial: tuple[int, Frame] | None = None
    factor_levels: list[str] = field(default_factory=list)
    endpoint_sentence: int = -1  # the sentence that named ``last_endpoint``

    def carry_endpoint(self, mentions: Iterable[Mention]) -> None:
        """The endpoint named last among a sentence's ``mentions`` carries on to the sentences after it."""
        last = None
        for m in mentions:
            if m[2] == "ENDPOINT":
                last = m
        if last is not None:
            self.last_endpoint = last[3][0]
            self.endpoint_sentence = self.sentence_index


def note_other_trial(ctx: TrialContext, text: str, mentions: Sequence[Mention], state: State) -> None:
    """``… the second trial randomised patients to X plus Z versus placebo plus Z``: a randomisation
    sentence defining two or more arms with an agent none of the trial's arms holds (another trial in a
    review, a second randomisation) is the frame of its own sentence and the two after it."""
    if len(ctx.arms) < 2:
        return
    known = frozenset().union(*ctx.arms)
    if not any(m[2] == "AGENT" and frozenset(m[3]) - known - CONTROLS - _NON_DRUG for m in mentions) \
            or not _RANDOM_VERB.search(text):
        return
    seg = _definition_segment(text, 0, len(text))
    arms = parse_arms(text[seg:], [(a - seg, b - seg, lab, ids) for a, b, lab, ids in mentions if a >= seg])
    if len(arms) >= 2 and any(a - known - CONTROLS - _NON_DRUG for a in arms):
        state.other_trial = (state.sentence_index,
                             Frame(arms, comparator_index(arms), list(range(len(arms))), local=True))


def frame_for(ctx: TrialContext, text: str, mentions: Sequence[Mention], state: State) -> Frame | None:
    """The trial's arms (or another trial's, defined in this sentence or one of the two before it), else
    arms compared in this sentence or one of the two before it."""
    note_other_trial(ctx, text, mentions, state)
    if state.other_trial is not None and state.sentence_index - state.other_trial[0] <= 2:
        return state.other_trial[1]
    if ctx.arms:
        return Frame(ctx.arms, ctx.comparator, ctx.order or list(range(len(ctx.arms))), ctx.single_arm,
                     ctx.sizes)
    arms = parse_arms(text, mentions)
    if len(arms) >= 2 and any(a - _NON_DRUG for a in arms):
        f = Frame(arms, comparator_index(arms), list(range(len(arms))), local=True)
        state.local_frames.append((state.sentence_index, f))
        return f
    for idx, f in reversed(state.local_frames):
        if state.sentence_index - idx <= 2:
            return f
    if ctx.design == "meta_analysis":
        # ``second-line therapy reduced the risk of progression (HR = 0.51)``: a meta-analysis whose pooled
        # treatments have no agent of their own compares treatment with control, neither named
        return Frame([frozenset(), frozenset()], 1, [0, 1], local=True, unnamed=True)
    return None


_QUALIFIER = re.compile(r"\b(?:who\s+(?:had|achieved|experienced|showed)|with|without)\s+(?:an?\s+)?(?:\w+\s+)?$", re.I)


#: ``with a median OS of 46 months``: an endpoint followed by its value is a result, not a population
_VALUE_NEXT = re.compile(r"\s*(?:\([^()]{0,12}\)\s*)?(?:of|was|were|:)\s*\d"
                         r"(?![\d.,]*\s*(?:months?|weeks?|years?|days?)?\s*or\s+(?:more|longer|greater|above|less|shorter))")
#: ``with a clinical benefit rate of 78%``: a rate is a result, never a population qualifier
_RATE_NOUN = re.compile(r"\brates?$", re.I)


#: ``among patients who had a response``: a population named by a relative clause, whatever follows it
_AMONG_WHO = re.compile(r"\b(?:among|in|for)\s+(?:the\s+)?(?:\d+\s+)?(?:patients|participants|those|children)\s+who\s+"
                        r"(?:had|achieved|experienced|showed|attained)\s+(?:an?\s+)?(?:\w+\s+)?$", re.I)


def population_qualifiers(seg: str, cues: list[Mention]) -> list[Mention]:
    """Cues without the endpoints that only narrow a population (``among patients who had a response``)."""
    return [c for c in cues if not (c[2] == "ENDPOINT" and (
        _AMONG_WHO.search(seg[max(0, c[0] - 60):c[0]])
        or (_QUALIFIER.search(seg[max(0, c[0] - 40):c[0]]) and not _VALUE_NEXT.match(seg, c[1])
            and not _RATE_NOUN.search(seg, c[0], c[1]))))]


#: ``44% (CI 31-58) for objective response and 66% (55-77) for disease control``: a value followed by
#: ``for`` + an endpoint names that endpoint, whatever was named before it
_FOR_ENDPOINT = re.compile(r"[\s,)\]]*(?:[(\[][^()\[\]]*[)\]]\s*)?(?:for|in\s+terms\s+of)\s+(?:the\s+)?(?:an?\s+)?$",
                           re.I)


#: a share of patients with the outcome it names after it: ``N% of patients (on X) had …``, ``N% on Y had …``
_SHARE_HAD = re.compile(r"\s*(?:of\s+(?:the\s+)?(?:patients|participants|children)\b[^;()]*?|"
                        r"(?:on|with|receiving)\s+[^,;()\d]{1,40}?)\s+(?:had|developed|experienced|showed)\s+$"
                        # ``11 (26.2%) having stable disease``: the share's own outcome right after its bracket
                        r"|\s*[)\]]\s*(?:patients\s+)?(?:having|had|with|showed|showing)\s+(?:an?\s+)?$", re.I)


def _in_closed_bracket(seg: str, pos: int, upto: int) -> bool:
    """True when ``pos`` lies inside a bracket (round or square) that closes before ``upto``."""
    depth = 0
    for i in range(pos, upto):
        ch = seg[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                return True
            depth -= 1
    return False


def _cue_endpoint(st: Stat, cues: list[Mention], seg: str = "") -> tuple[str | None, bool]:
    """(endpoint, blocked) from the endpoint named right after the value with ``for``, else the nearest
    cue before the value, else the first after it."""
    nxt = next((c for c in cues if c[0] >= st.tail), None)
    if (seg and nxt is not None and nxt[2] == "ENDPOINT" and nxt[3] and nxt[0] - st.tail <= 40
            and _FOR_ENDPOINT.fullmatch(seg[st.tail:nxt[0]])):
        return nxt[3][0], False
    if (seg and nxt is not None and nxt[2] != "ENDPOINT" and nxt[0] - st.tail <= 90
            and _SHARE_HAD.match(seg[st.tail:nxt[0]])):
        return None, True  # ``28% of patients on X and 11% on Y had progressive disease``: its own outcome
    before = [c for c in cues if c[1] <= st.start]
    if before and seg and before[-1][2] != "ENDPOINT" and _in_closed_bracket(seg, before[-1][0], st.start):
        # ``20% of those on X (complete remission rate, 2%), 34% of those on Y``: a non-endpoint in a bracket
        # that closed before the value speaks only for the bracket's values
        before = [c for c in before if c[2] == "ENDPOINT" or not _in_closed_bracket(seg, c[0], st.start)]
    if (before and seg and before[-1][2] != "ENDPOINT" and nxt is not None and nxt[2] == "ENDPOINT" and nxt[3]
            and ";" in seg[before[-1][1]:st.start] and ";" not in seg[st.tail:nxt[0]]):
        # "…cycles was 5.5 (range 1-22); 73% of patients remained progression-free at 12 weeks": the value's
        # own clause names its endpoint after it; the non-endpoint before it belongs to the clause before
        return nxt[3][0], False
    if before:
        c = before[-1]
        return (c[3][0] if c[2] == "ENDPOINT" and c[3] else None), c[2] != "ENDPOINT"
    after = [c for c in cues if c[0] >= st.tail]
    if after and after[0][2] == "ENDPOINT" and after[0][3]:
        return after[0][3][0], False
    return None, bool(after)


_POST_GAP = re.compile(r"[\s,;)\]]*(?:(?:in|for|among)\s+(?:the\s+)?(?:patients\s+with\s+|those\s+with\s+)?|"
                       # ``2 of 10 (20%) patients with liposarcoma``, ``1 of 22 patients (5%) with osteosarcoma``
                       r"(?:patients\s+|those\s+)?with\s+)"
                       r"(?:\w+\s+)?$", re.I)


def _histotypes(seg: str, stats: list[Stat], groups: list[tuple[int, int, list[str]]]) -> None:
    """A value's population: a subgroup named right after it (``0.51 in liposarcoma``), else the last
    histotype named before it in the sentence (``Among patients with leiomyosarcoma, …``)."""
    if not groups or not stats:
        return
    for i, st in enumerate(stats):
        nxt = stats[i + 1].start if i + 1 < len(stats) else len(seg)
        post = [g for g in groups if st.tail <= g[0] < nxt and g[0] - st.tail <= 40
                and _POST_GAP.fullmatch(seg[st.tail:g[0]])]
        pre = [g for g in groups if g[1] <= st.start]
        g = post[0] if post else _listed_before(seg, stats, i, groups) or (pre[-1] if pre else None)
        st.histotypes = most_specific(g[2]) if g else None
        if g:
            st.extra["histotype_label"] = seg[g[0]:g[1]]


#: what joins the values of one list item: ``58%, 4.1 and 11 months for X``
_LIST_JOIN = re.compile(r"\s*(?:%|months?|mo|weeks?|wk|years?|days?)?\s*(?:,\s*(?:and\s+)?|and\s+)", re.I)


def _listed_before(seg: str, stats: list[Stat], i: int, groups: list[tuple[int, int, list[str]]]
                   ) -> tuple[int, int, list[str]] | None:
    """A value listed with others before the subgroup they are about (``58%, 4.1 and 11 months for X
    (n = 19); …``): the histotype named right after the last value of the list, when only list joins
    separate them."""
    j = i
    while j + 1 < len(stats) and _LIST_JOIN.fullmatch(seg[stats[j].tail:stats[j + 1].start]):
        j += 1
    if j == i:
        return None
    last = stats[j]
    nxt = stats[j + 1].start if j + 1 < len(stats) else len(seg)
    return next((g for g in groups if last.tail <= g[0] < nxt and g[0] - last.tail <= 40
                 and _POST_GAP.fullmatch(seg[last.tail:g[0]])), None)


@functools.lru_cache(maxsize=1)
def _subgroup_grammar() -> dict[str, Any]:
    """``extraction/patterns/subgroups.jsonl``: how a narrower population is named before its values, what
    names the whole population instead, a factor's levels and their values, and the kinds of subgroup."""
    rows = [json.loads(ln) for ln in (resources.files("extraction") / "patterns" / "subgroups.jsonl")
            .read_text(encoding="utf-8").splitlines() if ln.strip()]
    one = {r["kind"]: re.compile(r["regex"], re.I) for r in rows if r["kind"] not in ("before", "class")}
    return {**one, "before": [(tuple(r["needs"]), re.compile(r["regex"], re.I)) for r in rows if r["kind"] == "before"],
            "class": [(r["subgroup"], re.compile(r["regex"], re.I)) for r in rows if r["kind"] == "class"]}


def subgroup_kind(label: str) -> str:
    """What narrows the population a label names: ``age``, ``line``, ``biomarker``, ``cohort`` or ``population``.

    >>> subgroup_kind("aged 70 years or older"), subgroup_kind("who had received prior chemotherapy")
    ('age', 'line')
    """
    return next((kind for kind, rx in _subgroup_grammar()["class"] if rx.search(label)), "population")


def note_factor_levels(seg: str, ms: Sequence[Mention], state: State) -> None:
    """A factor's levels listed with their sizes (``(<50 years, n = 253; 50-59 years, n = 289; …)``), for
    the sentences after it."""
    if "=" in seg and ";" in seg:
        levels = []
        for m in _subgroup_grammar()["factor_levels"].finditer(seg):
            lo = max(seg.rfind(";", 0, m.start()), seg.rfind("(", 0, m.start())) + 1
            label = seg[lo:m.start()].strip().rstrip(",").strip()
            if 2 <= len(label) <= 30:
                levels.append(label)
        if len(levels) >= 2 and not any(m[2] == "AGENT" for m in ms):
            state.factor_levels = levels


_SUBGROUP_WORDS = re.compile(r"\b(?:in|among|for|within|cohort|had\s+no|has\s+no|showed\s+no|not|shorter|longer|"
                             r"worse|better|inferior|superior)\b", re.I)


def _subgroups(seg: str, stats: list[Stat], ms: Sequence[Mention], state: State) -> None:
    """Values about a narrower population than the trial's (``among patients who had received prior
    chemotherapy (9.2 v 7.0 months)``, ``in the high-expression subgroup, …``, ``Age had no impact on OS
    (a, b, c and d months, respectively)`` after the age bands were listed): ``st.extra["subgroup"]`` is
    (kind, label as printed). Histotype populations are :func:`_histotypes`'."""
    g = _subgroup_grammar()
    if not stats or not _SUBGROUP_WORDS.search(seg):
        return
    hist = [(m[0], m[1]) for m in ms if m[2] == "HISTOTYPE"]
    named = []
    low = seg.lower()
    for needs, rx in g["before"]:
        if not any(w in low for w in needs):
            continue
        for m in rx.finditer(seg):
            a, b = m.span("label")
            label = re.sub(r"^with\s+", "", m.group("label").strip())
            if g["not_a_subgroup"].fullmatch(label) or any(a <= h0 and h1 <= b for h0, h1 in hist):
                continue
            named.append((m.end(), label))
    named.sort()
    for st in stats:
        before = [(e, lab) for e, lab in named if e <= st.start
                  and not any(e <= x < st.start for x in _top_semicolons(seg))]
        if before:
            label = before[-1][1]
            st.extra["subgroup"] = (subgroup_kind(label), label)
    levels = state.factor_levels
    f = g["factor_values"].search(seg) if levels else None
    if f and levels:
        factor = " ".join(re.findall(r"[\w-]+", seg[max(0, f.start() - 40):f.start()])[-3:])
        kind = subgroup_kind(factor) if subgroup_kind(factor) != "population" else subgroup_kind(" ".join(levels))
        after = [st for st in stats if st.start >= f.end()]
        runs: list[list[Stat]] = []
        for st in after:
            if runs and runs[-1][-1].endpoint == st.endpoint and len(runs[-1]) < len(levels):
                runs[-1].append(st)
            else:
                runs.append([st])
        for run in runs:
            if len(run) == len(levels):
                for st, level in zip(run, levels, strict=True):
                    st.extra["subgroup"] = (kind, level)


_CLAUSE_CHARS = re.compile(r"[()\[\];]")


@functools.lru_cache(maxsize=256)
def _top_semicolons(seg: str) -> tuple[int, ...]:
    """Offsets of the semicolons outside brackets (asked several times per sentence: cached)."""
    depth = 0
    semis = []
    for m in _CLAUSE_CHARS.finditer(seg):  # only brackets and semicolons matter
        i, ch = m.start(), m.group()
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0:
            semis.append(i)
    return tuple(semis)


def _clause_bounds(seg: str, a: int, b: int) -> tuple[int, int]:
    """Start of the clause holding offset ``a`` and end of the clause holding ``b`` (``;`` outside brackets)."""
    if ";" not in seg:
        return 0, len(seg)
    semis = _top_semicolons(seg)
    lo = max([s + 1 for s in semis if s < a], default=0)
    hi = min([s for s in semis if s >= b], default=len(seg))
    return lo, hi


def _arm_order(seg: str, text: str, ms: Sequence[Mention], frame: Frame, lo: int, hi: int) -> list[int]:
    """Arms mentioned in ``[lo, hi)`` of the sentence, in order, consecutive repeats dropped."""
    out: list[int] = []
    for _a, _b, ids, comb in group_mentions(text, [m for m in ms if m[0] >= lo and m[1] <= hi], frame.arms):
        i = map_mention(ids, frame.arms, combination=comb, comparator=frame.comparator)
        if i is not None and (not out or out[-1] != i):
            out.append(i)
    return out


def _landmarks_per_arm(seg: str, ms: Sequence[Mention], frame: Frame, values: list[Stat]) -> list[list[Stat]] | None:
    """``the 1- and 2-year rates were a and b in the X group compared with c and d in the Y group`` /
    ``DFS, RFS and OS were a, b and c for arm 1 and d, e and f for arm 2``: a list of landmarks or endpoints
    given over each arm's values in turn (arm-major). Two arms, the second half's landmarks and endpoints
    those of the first (all different), and exactly one arm named between the halves (the first half's)."""
    m = len(values) // 2
    if frame.single or len(frame.arms) != 2 or m < 2 or len(values) != 2 * m:
        return None
    first, second = values[:m], values[m:]
    keys = [(st.endpoint, st.kind, st.timepoint) for st in first]
    if len(set(keys)) != m or [(st.endpoint, st.kind, st.timepoint) for st in second] != keys:
        return None
    if len({k[:2] for k in keys}) == 1 and None in {k[2] for k in keys}:
        return None
    named = _arm_order(seg, seg, ms, frame, first[-1].tail, second[0].start)
    if len(named) != 1:
        return None
    a = named[0]
    before = _arm_order(seg, seg, ms, frame, max(0, first[0].start - 30), first[0].start)
    if before and before[-1] != a:  # ``for X, a and b; for Y, c and d``: each arm named before its values
        a = before[-1]
    after = _arm_order(seg, seg, ms, frame, second[-1].tail, len(seg))
    if after and after[0] != 1 - a:
        return None
    for st in first:
        st.arm = a
    for st in second:
        st.arm = 1 - a
    return [[x, y] for x, y in zip(first, second, strict=True)]


def _assign_groups(seg: str, ms: Sequence[Mention], frame: Frame, values: list[Stat]) -> list[list[Stat]]:
    """Group arm values and set ``st.arm``; values that cannot be attributed are dropped."""
    per_arm = _landmarks_per_arm(seg, ms, frame, values)
    if per_arm is not None:
        return per_arm
    groups: list[list[Stat]] = []
    cap = max(2, len(frame.arms))
    for st in values:
        g = groups[-1] if groups else None
        if (g and len(g) < cap and g[-1].endpoint == st.endpoint and g[-1].timepoint == st.timepoint
                and g[-1].histotypes == st.histotypes and (g[-1].kind == "nr" or st.kind == "nr"
                                                           or g[-1].kind == st.kind)):
            g.append(st)
        else:
            groups.append([st])
    prev_order: list[int] | None = None
    kept = []
    for gi, g in enumerate(groups):
        if frame.single:
            for st in g:
                st.arm = 0
            kept.append(g)
            continue
        lo, hi = _clause_bounds(seg, g[0].start, g[-1].tail)
        if gi:
            lo = max(lo, groups[gi - 1][-1].tail)
        if gi + 1 < len(groups):
            hi = min(hi, groups[gi + 1][0].start)
        order = _arm_order(seg, seg, ms, frame, lo, hi)
        k = len(g)
        if k == 1 and len(frame.arms) >= 2 and (_BOTH.search(seg[g[0].tail:hi]) or (
                _BOTH_NAMED.search(seg[g[0].tail:hi]) and len(frame.arms) == 2)):
            clones = []
            for i in frame.order:
                c = Stat(**{**g[0].__dict__})
                c.arm = i
                clones.append(c)
            kept.append(clones)
            continue
        from_to = (k == 2 and len(frame.arms) == 2 and frame.comparator is not None
                   and _FROM_BEFORE.search(seg[max(lo, g[0].start - 12):g[0].start])
                   and _TO_BETWEEN.search(seg[g[0].end:g[1].start]))
        if from_to:  # "from X to Y": X the comparator's, Y the experimental arm's, whatever is named between
            chosen = [frame.comparator, 1 - frame.comparator]
        elif len(order) == k:
            chosen = order
        elif prev_order is not None and len(prev_order) == k:
            chosen = prev_order
        elif k == 2 and len(frame.arms) == 2 and len(order) == 1 and _named_first(seg, ms, frame, lo, g, order[0]):
            chosen = [order[0], 1 - order[0]]
        elif k == len(frame.arms) and k >= 2:
            chosen = list(frame.order)
        elif k == 1 and len(order) == 1:
            chosen = order
        else:
            continue
        for st, i in zip(g, chosen, strict=False):
            st.arm = i
        prev_order = chosen
        kept.append(g)
    return kept


_COMPARED_BEFORE = re.compile(r"\b(?:versus|vs|v|compared|comparing|than|between)\b", re.I)
_COMPARED_BETWEEN = re.compile(r"^[^\d;]{0,40}\b(?:compared\s+(?:with|to)|versus|vs|v)\b", re.I)


def _named_first(seg: str, ms: Sequence[Mention], frame: Frame, lo: int, g: list[Stat], arm: int) -> bool:
    """``for those given X was 3.8 months, compared with 9.7 months for [the other arm, named some way the
    text does not define]``: the one arm named, alone, before two values compared with each other is the
    first value's (no comparison is listed before the values, every agent named there is that arm)."""
    before = [m for m in ms if m[2] == "AGENT" and lo <= m[0] and m[1] <= g[0].start]
    return (bool(before) and not _COMPARED_BEFORE.search(seg, lo, g[0].start)
            and bool(_COMPARED_BETWEEN.search(seg[g[0].tail:g[1].start]))
            and _arm_order(seg, seg, before, frame, lo, g[0].start) == [arm]
            and all(map_mention(frozenset(m[3]), frame.arms, comparator=frame.comparator) == arm for m in before))


def _attach_p(stats: list[Stat], ps, groups: list[list[Stat]]) -> None:
    listed = [p for p in ps if not p.qualifier]
    if (len(listed) >= 2 and len(groups) == len(listed) and stats and all(s.kind != "ratio" for s in stats)
            and all(p.start >= stats[-1].tail for p in listed) and all(len(g) >= 2 for g in groups)):
        # ``a%, b% and c% for X and d%, e% and f% for Y (P = .02, .03, and .05, respectively)``: one p per
        # comparison, in the order of the comparisons
        for g, p in zip(sorted(groups, key=lambda g: g[0].start), listed, strict=True):
            for s in g:
                s.p = s.p or p
        return
    for p in ps:
        if p.qualifier:
            continue
        inside = next((s for s in stats if s.kind == "ratio" and s.start < p.start and p.end <= s.tail), None)
        if inside is not None:  # ``RR 0.72; P = .23; 95% CI 0.42-1.2``: the P between a ratio and its CI
            if inside.p is None:
                inside.p = p
            continue
        before = [s for s in stats if s.tail <= p.start and s.kind != "nr"]
        if not before:
            continue
        st = before[-1]
        if st.p is not None:
            continue
        if st.kind == "ratio":
            st.p = p
            continue
        for g in groups:
            if st in g:
                for s in g:
                    if s.p is None:
                        s.p = p


def assemble_sentence(text: str, seg: str, ms: Sequence[Mention], ctx: TrialContext,
                      state: State) -> list[dict[str, Any]]:
    """Record fields for every statistic of one sentence (offsets relative to the sentence).

    ``text`` is the sentence as written, ``seg`` its normalised copy, ``ms`` its mentions with
    sentence-relative offsets.
    """
    cues = population_qualifiers(seg, [m for m in ms if m[2] in ("ENDPOINT", "NON_ENDPOINT")])
    endpoints = [m for m in cues if m[2] == "ENDPOINT"]
    if not DIGIT_RE.search(seg):
        state.carry_endpoint(endpoints)
        return []
    note_factor_levels(seg, ms, state)
    frame = frame_for(ctx, seg, ms, state)
    by_pronoun = bool(not endpoints and state.endpoint_sentence == state.sentence_index - 1
                      and _PRONOUN_VALUE.search(seg))
    inherit = state.last_endpoint if not endpoints and (_CORRESPOND.search(seg) or by_pronoun) else None
    # a value needs an endpoint (named here, or inherited) and arms: without them skip the number scan
    stats, ps, tps = (scan_values(seg) if frame is not None and (endpoints or inherit or "responded" in seg)
                      else ([], [], []))  # "None of the 9 patients responded" names its endpoint by the verb
    if stats and "who" in seg:
        grouped_by_event = _ON_TREATMENT_GROUP.search(seg)
        if grouped_by_event:  # values of groups formed by what happened on treatment: associations, not results
            stats = [st for st in stats if st.start < grouped_by_event.start()]
    design = [m for m in ms if m[2] == "DESIGN"]
    if stats and not ps and any("power_calculation" in m[3] for m in design) and not any(st.ci for st in stats):
        stats = []  # ``N patients to detect an increase in median PFS from 4 to 6 months``: the values assumed
    if not stats:
        state.carry_endpoint(endpoints)
        return []
    assert frame is not None
    keep: list[Stat] = []
    vcues = _without_definitions(seg, cues)
    for st in stats:
        ep, blocked = _cue_endpoint(st, vcues, seg)
        if "none_of" in st.extra:  # "None of the 9 patients had an objective response": the endpoint right after
            ep = str(st.extra["none_of"]) or next((c[3][0] for c in vcues if c[2] == "ENDPOINT" and c[3]
                                                   and 0 <= c[0] - st.tail <= 2), None)
        if ep is None and inherit and (not blocked or (by_pronoun and _PRONOUN_VALUE.search(seg, max(0, st.start - 12),
                                                                                          st.start + 1))):
            ep = inherit
        st.endpoint = ep
    _spread_respectively(seg, stats, vcues, [m[0] for m in ms if m[2] == "AGENT"])
    for st in stats:
        ep = st.endpoint
        if ep is None or ep not in VOCAB.endpoints:
            continue
        st.endpoint = ep
        if any(abs(d[0] - st.tail) < 25 or abs(st.start - d[1]) < 12 for d in design):
            continue
        if st.kind == "ratio":
            st.measure = st.measure or "HR"
        elif st.kind in ("median", "nr"):
            st.measure = "median"
        else:
            st.measure = "rate"
            tp = [t for t in tps if t[2] <= st.start]
            later = _landmark_after(seg, st, tps, vcues) if ep != "ORR" else None
            if later is not None and (not tp or not any(
                    c[2] == "ENDPOINT" and st.tail <= c[0] < later[1] for c in vcues)):
                tp = [later]  # "73% remained progression-free at 12 weeks and 52% at 24 weeks"
            if ep in _RATE_ENDPOINTS:
                st.timepoint = tp[-1][0] if tp and ep != "ORR" and st.start - tp[-1][2] < 40 else None
            elif tp:
                st.timepoint = tp[-1][0]
            else:
                continue
        keep.append(st)
    _pair_timepoint_lists(seg, keep, tps)
    _histotypes(seg, keep, histotype_groups(seg, ms))
    _subgroups(seg, keep, ms, state)
    _labelled_sizes(seg, keep, ms)
    pooled = ctx.pooled_n.get(state.sentence_index) or ctx.pooled_n.get(state.sentence_index - 1)
    if pooled and frame.single:  # values of the studies a review pools, stated with (or right after) their count
        for st in keep:
            st.extra.setdefault("label_n", pooled)
    state.carry_endpoint(endpoints)
    arm_values = [s for s in keep if s.kind != "ratio"]
    if not _MEDIAN.search(seg) and not by_pronoun:  # (``it was``: the value the sentence before named)
        arm_values = _paired_only(arm_values, seg)
    if (frame.unnamed and len({(st.endpoint, st.timepoint) for st in arm_values}) == len(arm_values) >= 2
            and not any(st.kind == "ratio" for st in keep) and not _COMPARED_BEFORE.search(seg)
            and not re.search(r"\bfrom\b[^.;]*\bto\b", seg)):
        # ``PFSR-3m and PFSR-6m were 74% and 58%``: a synthesis naming no agent, comparing nothing, gives
        # values of different endpoints or landmarks, so no two are one treatment and its control: pooled
        # estimates of one population
        for st in arm_values:
            st.arm = 0
            st.extra["pooled_single"] = True
        groups = [[st] for st in arm_values]
    else:
        groups = _assign_groups(seg, ms, frame, arm_values)
    grouped = [s for g in groups for s in g]
    ratios = [s for s in keep if s.kind == "ratio"] if not frame.single else []
    _assign_contrasts(seg, ms, frame, ratios)
    _attach_p(sorted(ratios + grouped, key=lambda s: s.start), ps, groups)
    out = [r for s in sorted(ratios + grouped, key=lambda s: s.start) if s.kind != "nr"
           for r in _records(s, seg, ms, ctx, frame)]
    if frame.unnamed:
        # ``… were better than those in the placebo group``: the one control the sentence names is the
        # pooled comparator; the pooled treatments stay unnamed
        agents = [m for m in ms if m[2] == "AGENT"]
        controls = {i for m in agents for i in m[3]}
        control = next(iter(controls)) if len(controls) == 1 and controls <= CONTROLS else None
        if control is None and len(controls) == 1 and all(_ALONE_AFTER.match(text, m[1]) for m in agents):
            control = next(iter(controls))  # ``… over the doxorubicin-only arm``: the one agent given alone
        for r in out:
            r["intervention"] = None
            r["comparator"] = control if r["arm"] == "contrast" else None
    return out


#: ``patients who developed hypertension … had longer OS (18 vs 11 months)``: groups formed by an event on
#: treatment (a side effect, a response), compared after the fact — a prognostic association, not an arm's result
_ON_TREATMENT_GROUP = re.compile(r"\b(?:patients|those|participants)\b(?:[^.;]|\.(?=\d)){0,40}?\bwho\s+"
                                 r"(?:developed|experienced)\b(?:[^.;]|\.(?=\d)){0,160}?\b(?:had|showed|achieved)\s+(?:a\s+)?(?:significantly\s+)?(?:longer|"
                                 r"shorter|better|worse|improved|prolonged|superior|inferior)\b", re.I)
#: an agent given alone: ``doxorubicin-only arm``, ``doxorubicin alone``
_ALONE_AFTER = re.compile(r"(?:\s*-\s*only|\s+(?:only|alone|monotherapy))\b", re.I)


#: ``11 months for UPS (n = 19)``, ``For LMS (n = 41), the median PFS was …``: a label with its size
_LABEL_N = re.compile(r"\b(?:for|in|among)\s+(?:the\s+)?(?:patients\s+with\s+|those\s+with\s+)?"
                      r"(?P<label>[^\d;()]{1,40}?)\s*\(\s*n\s*=\s*(?P<n>\d[\d,]*)\s*\)", re.I)


def _labelled_sizes(seg: str, stats: list[Stat], ms: Sequence[Mention]) -> None:
    """The size printed with a subgroup's label, in the value's clause: the first label after the value
    (``58%, 4.1 and 11 months for UPS (n = 19);``), else the last before it (``For LMS (n = 41), …``).
    A label naming an arm (``anlotinib (n = 158)``) gives an arm size, not a subgroup's: skipped."""
    if "=" not in seg:  # every label size is ``(n = N)``
        return
    agents = [(m[0], m[1]) for m in ms if m[2] == "AGENT"]
    labels = [m for m in _LABEL_N.finditer(seg)
              if not any(a < m.end("label") and m.start("label") < b for a, b in agents)]
    if not labels:
        return
    for st in stats:
        lo, hi = _clause_bounds(seg, st.start, st.tail)
        post = [m for m in labels if st.tail <= m.start() and m.end() <= hi]
        pre = [m for m in labels if lo <= m.start() and m.end() <= st.start]
        hit = post[0] if post else pre[-1] if pre else None
        if hit is not None:
            st.extra["label_n"] = int(parse_number(hit.group("n")) or 0) or None


#: the words between a rate and a landmark written after it: ``… remained progression-free at``
_AT_AFTER = re.compile(r"[^\d;%]{0,60}?\b(?:at|by|after)\s+$", re.I)


def _landmark_after(seg: str, st: Stat, tps, cues: list[Mention]):
    """The landmark written right after a rate (``52% at 24 weeks``, ``73% remained progression-free at 12
    weeks``): ``at``/``by``/``after`` a time, with no number between."""
    nxt = next((t for t in tps if t[1] >= st.tail), None)
    if nxt is None or not _AT_AFTER.fullmatch(seg[st.tail:nxt[1]]):
        return None
    return nxt


def _pair_timepoint_lists(seg: str, stats: list[Stat], tps) -> None:
    """``rate at 3 and 6 months was 47% and 13%``: a list of landmarks and as many rates after it pair
    in order (rather than every rate taking the last landmark named)."""
    if len(tps) < 2:
        return
    run = [tps[0]]
    runs = []
    for t in tps[1:]:
        # ``PFSR-3m and PFSR-6m``: landmarks glued to a repeated abbreviation list the same way
        if re.fullmatch(r"-?\s*(?:,|and|or)\s*(?:(?:PFSR|OSR|PFR|PFS|OS|EFS|DFS|RFS)-?)?", seg[run[-1][2]:t[1]]):
            run.append(t)
        else:
            runs.append(run)
            run = [t]
    runs.append(run)
    for run in runs:
        if len(run) < 2:
            continue
        nxt = next((t[1] for t in tps if t[1] > run[-1][2]), len(seg))
        rates = [s for s in stats if s.kind == "rate" and run[-1][2] <= s.start < nxt]
        if len(rates) == len(run):
            for s, t in zip(rates, run, strict=True):
                s.timepoint = t[0]
        elif rates and len(rates) % len(run) == 0:  # "… 88% and 77% in arm A compared with 64% and 58% in arm B"
            for i, s in enumerate(rates):
                s.timepoint = run[i % len(run)][0]


#: what may join the endpoints of a list: ``median PFS and OS``, ``the PFR12 weeks, median PFS and OS``
_LIST_JOIN = re.compile(r"\s*(?:,|and|,\s*and|or|&|as\s+well\s+as)?\s*(?:the\s+)?(?:median\s+|\d+(?:\.\d+)?-"
                        r"(?:year|month|week|day)\s+)?", re.I)
#: what links an endpoint list to its values without ``respectively``: ``… and OS were:``
_LIST_LINK = re.compile(r"\s*(?:were|was|are|is|of)?\s*(?:,?\s*respectively\s*,?)?\s*:?\s*", re.I)
#: ... or by a verb and the first arm's name: ``EFS and OS were: for X, a and b; for Y, …``
_LIST_LINK_ARM = re.compile(r"\s*(?:were|was|are|is)\s*:?\s*(?:for|in|among)\s+[^,;:%]{1,40}?,\s*", re.I)
_VERSUS_GAP = re.compile(r"[\s,]*(?:vs\.?|versus|v\.?|compared\s+with)\s*", re.I)
#: an abbreviation printed in brackets after the name it shortens: ``progression-free survival (PFS)``
_ABBR_BRACKET = re.compile(r"\s*[(\[]\s*$")


def _endpoint_run(seg: str, cues: list[Mention], first: int) -> tuple[list[str], int]:
    """The endpoints listed right before offset ``first`` (joined by commas and *and*; an abbreviation in
    brackets after its name counted once; a phrase naming two, ``overall and event-free survival``, gives
    both) and the offset where the list ends."""
    listed: list[list[Any]] = []
    for c in cues:
        if c[1] > first:
            break
        if c[2] != "ENDPOINT" or not c[3]:
            listed = []
            continue
        prev = listed[-1] if listed else None
        if (prev is not None and tuple(c[3]) == prev[2] and _ABBR_BRACKET.fullmatch(seg[prev[1]:c[0]])
                and seg[c[1]:c[1] + 2].lstrip()[:1] in (")", "]")):
            prev[1] = seg.index(")" if ")" in seg[c[1]:c[1] + 2] else "]", c[1]) + 1
            continue
        listed.append([c[0], c[1], tuple(c[3])])
    run: list[list[Any]] = []
    for c in reversed(listed):  # the endpoints listed right before the values
        if run and not _LIST_JOIN.fullmatch(seg[c[1]:run[0][0]]):
            break
        run.insert(0, c)
    return [e for c in run for e in c[2]], (run[-1][1] if run else first)


def _chunked_by_arm(vals: list[Stat], size: int, arm_at: Sequence[int]) -> bool:
    """``EFS and OS were a and b for X and c and d for Y``: the values fall in runs of ``size``, an arm named
    between every two runs and none inside a run."""
    if size < 2 or len(vals) < 2 * size or len(vals) % size:
        return False
    runs = [vals[i:i + size] for i in range(0, len(vals), size)]
    inside = any(r[0].start < a < r[-1].start for r in runs for a in arm_at)
    between = all(any(x[-1].tail <= a < y[0].start for a in arm_at) for x, y in itertools.pairwise(runs))
    return between and not inside


def _spread_respectively(seg: str, stats: list[Stat], cues: list[Mention], arm_at: Sequence[int] = ()) -> None:
    """``PFS and OS were 13.2 and 30.5 months, respectively`` / ``DFS, RFS and OS were 68%, 73% and 77% for
    arm 1``: endpoints listed before the values, as many as the values (or a divisor of them), pair in order.

    Without *respectively*, the list must be linked to its values by a verb or a colon (``median PFS and OS
    were 5 and 11 months``) and the values must be as many as the endpoints, in every clause between
    semicolons (``…: 40%, 3.1 and 9 months for subgroup 1 (n = 20); 52%, 4.4 and 12 months for …``)."""
    vals = [s for s in stats if s.endpoint is not None]
    if len(vals) < 2 or any(s.kind == "ratio" for s in vals):
        return
    first = min(s.start for s in vals)
    eps, run_end = _endpoint_run(seg, cues, first)
    if len(set(eps)) < 2:
        return
    linked = bool(_LIST_LINK.fullmatch(seg[run_end:first]) or (
        _LIST_LINK_ARM.fullmatch(seg[run_end:first]) and any(run_end <= a < first for a in arm_at)))
    nxt = min([c[0] for c in cues if c[0] >= first] + [len(seg)])
    vals = sorted((s for s in vals if s.start < nxt), key=lambda x: x.start)
    chains = [[vals[0]]]
    for s in vals[1:]:  # "6.0 versus 4.1 months and 15.2 versus 11.7 months": one comparison per endpoint
        if _VERSUS_GAP.fullmatch(seg[chains[-1][-1].tail:s.start]):
            chains[-1].append(s)
        else:
            chains.append([s])
    if len(chains) == len(eps) and len({len(c) for c in chains}) == 1 and len(chains[0]) > 1 \
            and not _chunked_by_arm(vals, len(eps), arm_at):  # (``a and b, respectively, for X and c and d for Y``)
        if _RESPECTIVELY.search(seg) or linked:
            for ep, chain in zip(eps, chains, strict=True):
                for s in chain:
                    s.endpoint = ep
        return
    if _RESPECTIVELY.search(seg):
        if len(vals) % len(eps):
            return
    else:
        if not linked:
            return
        semis = [i for i in _top_semicolons(seg) if first <= i < nxt]
        bounds = [first, *semis, nxt]
        clauses = [[s for s in vals if a <= s.start < b] for a, b in itertools.pairwise(bounds)]
        if any(len(c) != len(eps) for c in clauses if c) and not _chunked_by_arm(vals, len(eps), arm_at):
            return
    for i, s in enumerate(vals):
        s.endpoint = eps[i % len(eps)]


def _without_definitions(seg: str, cues: list[Mention]) -> list[Mention]:
    """Cues without those inside the brackets that define an endpoint (``clinical benefit rate (PR + SD
    > 12 weeks) of 78%``): what an endpoint is made of does not name the value after it."""
    out: list[Mention] = []
    skip_to = -1
    for c in cues:
        if c[0] < skip_to:
            continue
        out.append(c)
        if c[2] == "ENDPOINT":
            m = re.match(r"\s*\(([^()]{2,80})\)", seg[c[1]:])
            if m and " " in m.group(1).strip():  # not an abbreviation, ``(PFS)``
                skip_to = c[1] + m.end()
    return out


def _paired_only(values: list[Stat], seg: str) -> list[Stat]:
    """Without the word *median*, a time is kept only inside a comparison (``4 months versus 1 month``)."""
    out = []
    for i, st in enumerate(values):
        if st.kind == "rate":
            out.append(st)
            continue
        nb = [values[j] for j in (i - 1, i + 1) if 0 <= j < len(values)]
        if any(o.kind in ("median", "nr") and o.endpoint == st.endpoint and
               _VERSUS.search(seg[min(o.tail, st.tail):max(o.start, st.start)])
               for o in nb):
            out.append(st)
    return out


def _assign_contrasts(seg: str, ms: Sequence[Mention], frame: Frame, ratios: list[Stat]) -> None:
    exp = frame.experimental()
    for i, st in enumerate(ratios):
        nxt = ratios[i + 1].start if i + 1 < len(ratios) else len(seg)
        _, hi = _clause_bounds(seg, st.start, st.tail)
        after = [a for a in _arm_order(seg, seg, ms, frame, st.tail, min(nxt, hi)) if a in exp]
        st.arm = after[0] if after else None
        local = [g for g in group_mentions(seg, [m for m in ms if m[0] >= (ratios[i - 1].tail if i else 0)
                                                 and m[1] <= st.start], frame.arms)]
        for _a, _b, ids, comb in local[::-1]:
            if comb or map_mention(ids, frame.arms, comparator=frame.comparator) is not None:
                break
            # a regimen subgroup (``doxorubicin-based monotherapy improved OS (HR ...)``) of an arm named
            # only generically (``chemotherapy``), or of an arm the regimen is part of
            if ids and not ids <= {"chemotherapy"} and len(exp) == 1 and (
                    ids & frame.arms[exp[0]] or frame.arms[exp[0]] <= _NON_DRUG) and not ids & CONTROLS:
                st.extra["intervention"] = VOCAB.join_agents(ids - _NON_DRUG or ids)
                break
        if not local and i and "intervention" in ratios[i - 1].extra:
            st.extra["intervention"] = ratios[i - 1].extra["intervention"]  # ``… OS (HR 0.78) or DFS (HR 0.94)``
    if len(exp) > 1:
        unresolved = [s for s in ratios if s.arm is None]
        if unresolved and len(unresolved) == len(exp) and _RESPECTIVELY.search(seg):
            for s, a in zip(unresolved, exp, strict=False):
                s.arm = a
    elif exp:
        for s in ratios:
            s.arm = s.arm if s.arm is not None else exp[0]


def _records(st: Stat, seg: str, ms: Sequence[Mention], ctx: TrialContext, frame: Frame) -> list[dict[str, Any]]:
    if st.arm is None and not frame.single:
        return []
    pop = sorted(ctx.population) if not frame.local or st.extra.get("pooled_single") else []
    hist = st.histotypes or pop or ["soft_tissue_sarcoma"]
    subgroup = bool(st.histotypes) and sorted(st.histotypes) != pop
    base: dict[str, Any] = {
        "endpoint": st.endpoint, "measure": st.measure, "value": st.value, "histotypes": hist,
        "value_start": st.start, "value_end": st.end, "timepoint_months": st.timepoint,
        "flags": ["censored_median"] if st.extra.get("censored") else [],
    }
    if subgroup and st.extra.get("histotype_label"):
        base.update(subgroup="histotype", subgroup_label=st.extra["histotype_label"])
    elif "subgroup" in st.extra:
        kind, label = st.extra["subgroup"]  # type: ignore[misc]
        base.update(subgroup=kind, subgroup_label=label)
        subgroup = True
    if st.ci is not None:  # (an upper bound not reached or not available: the lower bound alone)
        base.update(ci_low=st.ci.low, ci_high=st.ci.high, ci_level=st.ci.level)
    if st.p is not None:
        base.update(p_value=st.p.value, p_relation=st.p.relation)
        if _ONE_SIDED.search(seg, max(0, st.p.start - 16), st.p.end):
            base["p_sided"] = 1
    if st.kind == "rate" and st.events is not None:
        base["events"] = st.events
    join = VOCAB.join_agents
    comp = join(frame.arms[frame.comparator]) if frame.comparator is not None else None
    score = 0.55 + 0.15 * (st.ci is not None) + 0.1 * (st.p is not None)
    label_n = st.extra.get("label_n")
    if frame.single or st.extra.get("pooled_single"):
        n = (ctx.evaluable_response if st.endpoint == "ORR" and ctx.evaluable_response else
             ctx.efficacy_n or ctx.cohort_n or ctx.treated_n or ctx.total)
        n = st.n_of or label_n or (None if subgroup else n)
        if st.kind == "rate":
            base["value"] = st.value / 100.0
        return [{**base, "arm": "single", "unit": st.unit if st.kind == "median" else "proportion",
                 "intervention": join(frame.arms[0]), "comparator": None, "n": n, "confidence": round(score, 2)}]
    if st.kind == "ratio":
        exp_arm = st.arm
        n = _contrast_n(st, seg, frame, ctx, subgroup, ms)
        interv = str(st.extra.get("intervention") or join(frame.arms[exp_arm]))
        return [{**base, "arm": "contrast", "unit": "ratio", "intervention": interv, "comparator": comp,
                 "n": n, "confidence": round(min(0.99, score + 0.1), 2)}]
    n = st.n_of or (None if subgroup else frame.sizes.get(st.arm) or (
        None if frame.local or st.arm is None else ctx.stated_sizes.get(st.arm)))
    unit = st.unit if st.kind == "median" else "proportion"
    value = st.value / 100.0 if st.kind == "rate" else st.value
    rec = {**base, "value": value, "unit": unit, "n": n, "confidence": round(score, 2)}
    if st.arm == frame.comparator:
        return [{**rec, "arm": "comparator", "intervention": join(frame.arms[i]), "comparator": comp}
                for i in frame.experimental()]
    return [{**rec, "arm": "intervention", "intervention": join(frame.arms[st.arm]), "comparator": comp}]


_OPEN_BEFORE = re.compile(r"[(\[]\s*$")
_CLOSE_AFTER = re.compile(r"\s*[)\]]")


#: ``participants with a low score were combined (N = 80, 27.6%, 39 Obs/41 Adj)``: a group's size in the
#: bracket after the group (an arm's bracket, after its agent, is the arm's size)
_GROUP_N = re.compile(r"\(\s*N\s*=\s*(?P<n>\d[\d,]*)\s*[,;)]")


def _contrast_n(st: Stat, seg: str, frame: Frame, ctx: TrialContext, subgroup: bool,
                ms: Sequence[Mention] = ()) -> int | None:
    if st.extra.get("label_n"):
        return int(st.extra["label_n"])  # type: ignore[call-overload]
    agent_ends = [m[1] for m in ms if m[2] == "AGENT"]
    group = [m for m in _GROUP_N.finditer(seg, 0, st.start) if "N" in seg[m.start():m.end()]
             and not any(0 <= m.start() - e <= 2 for e in agent_ends)
             and not PATIENTS_RE.search(seg, m.end(), st.start)]
    if group and not frame.local:
        return int(parse_number(group[-1].group("n")) or 0) or None
    lo = 0 if frame.local else max(0, st.start - 90)
    # ``AI (70 patients) compared to GD (73 patients), … (hazard ratio 2.55)``: a count in its own bracket is
    # one arm's (or one group's) size, never the contrast's
    counts = [m for m in PATIENTS_RE.finditer(seg, lo, st.start)
              if not (_OPEN_BEFORE.search(seg, max(0, m.start() - 3), m.start()) and _CLOSE_AFTER.match(seg, m.end()))]
    if counts:
        v = parse_number(counts[-1].group("n"))
        return int(v) if v else None
    if ctx.group_n and not frame.local:  # ``… in the low-risk category``: a group whose size was stated
        named = [(m.start(), ctx.group_n[m.group(1).lower()]) for m in re.finditer(
            r"\bin\s+the\s+(" + "|".join(re.escape(k) for k in sorted(ctx.group_n, key=len, reverse=True)) + r")\b",
            seg, re.I)]
        if len(named) == 1:
            return named[0][1]
    if "intervention" in st.extra:
        return None  # a regimen subgroup: the text gives no size for it here
    if subgroup:
        hs = st.histotypes or []
        return ctx.subgroup_n.get(hs[0]) if len(hs) == 1 else None
    if frame.local:
        return None
    sizes = frame.sizes
    if st.arm in sizes and frame.comparator in sizes:
        return sizes[st.arm] + sizes[frame.comparator]
    return ctx.total if len(frame.arms) == 2 else None
