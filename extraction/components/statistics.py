"""Trial context and statistic assembly as a spaCy component.

Sets ``doc._.trial`` (a :class:`~extraction.context.TrialContext`) and ``doc._.statistics``: a list of
dicts with the record fields the text gives (offsets relative to the document), ready for
:func:`extraction.extract.extract_document` to add the source fields and validate.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from extraction.assembly import State, assemble_sentence, note_other_trial
from extraction.components.mentions import read_mentions
from extraction.components.tokenizer import doc_text
from extraction.context import _RANDOM_VERB, build_context
from extraction.numbers import digit_spans, normalize
from extraction.sections import background_sentences
from extraction.sentences import split_sentences

for _name in ("trial", "statistics", "sentences"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@functools.lru_cache(maxsize=8192)
def _ids(kb_id: str) -> tuple[str, ...]:
    """``a|b+c`` → ``("a", "b", "c")`` (few distinct ids: cached)."""
    return tuple(p for p in re.split(r"[|+]", kb_id) if p)


def doc_mentions(doc: Doc, span_key: str) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """Mentions ``(start_char, end_char, label, ids)`` sorted by position."""
    out = [(s, e, label, _ids(kb)) for s, e, label, kb in read_mentions(doc, span_key)]
    out.sort()
    return out


def statistics_for(text: str, sentences: list[tuple[int, int]],
                   mentions: list[tuple[int, int, str, tuple[str, ...]]]) -> tuple[Any, list[dict[str, Any]]]:
    """Trial context and statistic dicts for a document (pure: text, sentence offsets, mentions)."""
    norm = normalize(text)
    with_digit = digit_spans(norm, sentences)
    ctx = build_context(text, sentences, mentions, norm, with_digit)
    if ctx.extra_mentions:  # arm qualifiers the context found (doses): mentions like any other
        mentions = sorted([m for m in mentions if not any(m[0] < x[1] and x[0] < m[1] for x in ctx.extra_mentions)]
                          + ctx.extra_mentions)
    starts = [m[0] for m in mentions]
    state = State()
    out: list[dict[str, Any]] = []
    background = background_sentences(text, sentences) if any(with_digit) else set()
    for idx, ((s, e), digit) in enumerate(zip(sentences, with_digit, strict=True)):
        state.sentence_index = idx
        if idx in background:  # what was known before the study: other studies' values
            continue
        i, j = bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)
        if not digit:  # no value here: only the endpoint named last carries on (and another trial's arms)
            state.carry_endpoint(m for m in mentions[i:j] if m[1] <= e)
            if _RANDOM_VERB.search(text, s, e):
                note_other_trial(ctx, text[s:e], [(a - s, b - s, lab, ids) for a, b, lab, ids in mentions[i:j]
                                                  if b <= e], state)
            continue
        ms = [(a - s, b - s, lab, ids) for a, b, lab, ids in mentions[i:j] if b <= e]
        for rec in assemble_sentence(text[s:e], norm[s:e], ms, ctx, state):
            rec["value_start"] += s
            rec["value_end"] += s
            rec["char_start"], rec["char_end"] = s, e
            out.append(rec)
    return ctx, drop_restated(out)


_SAME = ("endpoint", "measure", "arm", "value", "ci_low", "ci_high", "intervention", "comparator", "timepoint_months")


def drop_restated(stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A between-arm ratio printed again later (``… (HR, 0.75; 95% CI, 0.61–0.94)`` in the results and
    again in the next sentence) is one statistic: keep its first statement.

    So is an arm's median or rate restated (a headline, a "major finding" line, then the results: ``… in
    18% of patients`` and ``9 of 50 (18%) patients``) unless the counts printed with them differ: the
    statement that prints the most (counts, CI, p) is kept, in the place of the first. A value compared in
    its sentence with another of the same arm and endpoint (``shorter median PFS (3.1 months vs. 3.6
    months)`` for two subgroups of a single-arm study) is a subgroup's, never a restatement."""
    pairs = Counter(_pair_key(r) for r in stats if r.get("measure") in ("median", "rate"))
    seen: set[tuple[Any, ...]] = set()
    arm_seen: dict[tuple[Any, ...], list[int]] = {}
    out: list[dict[str, Any]] = []
    for rec in stats:
        key = (*(rec.get(k) for k in _SAME), tuple(rec.get("histotypes") or ()))
        if rec.get("measure") in ("HR", "OR", "RR") and rec.get("ci_low") is not None:
            if key in seen:
                continue
            seen.add(key)
        elif rec.get("measure") in ("median", "rate"):
            if pairs[_pair_key(rec)] > 1:
                out.append(rec)
                continue
            same = [i for i in arm_seen.get(key, []) if _compatible(out[i], rec)
                    and out[i].get("char_start") != rec.get("char_start")]  # one sentence states two values
            if same:
                if _stated(rec) > _stated(out[same[0]]):
                    out[same[0]] = rec
                continue
            arm_seen.setdefault(key, []).append(len(out))
        out.append(rec)
    return out


def _pair_key(rec: dict[str, Any]) -> tuple[Any, ...]:
    """What two values compared in one sentence share: the sentence, endpoint, measure, arm, population."""
    return (rec.get("char_start"), rec.get("endpoint"), rec.get("measure"), rec.get("arm"),
            rec.get("timepoint_months"), tuple(rec.get("histotypes") or ()))


def _compatible(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two statements of one value that do not print different patient counts or p values."""
    if a.get("events") is not None and b.get("events") is not None and a.get("n") != b.get("n"):
        return False  # 0 of 10 and 0 of 13: two statistics
    return all(a.get(k) is None or b.get(k) is None or a.get(k) == b.get(k) for k in ("events", "p_value"))


def _stated(rec: dict[str, Any]) -> int:
    return sum(rec.get(k) is not None for k in ("events", "ci_low", "p_value"))


class StatisticAssembler:
    """Read the trial context and every sentence's statistics into ``doc._.statistics``."""

    def __init__(self, name: str, span_key: str) -> None:
        self.name = name
        self.span_key = span_key

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sentences = doc._.sentences if doc._.sentences is not None else split_sentences(text)
        ctx, stats = statistics_for(text, sentences, doc_mentions(doc, self.span_key))
        doc._.trial = ctx.as_dict()
        doc._.statistics = stats
        return doc


@Language.factory("sarcoma_statistics", default_config={"span_key": "sarcoma"},
                  assigns=["doc._.trial", "doc._.statistics"])
def make_statistic_assembler(nlp: Language, name: str, span_key: str) -> StatisticAssembler:
    """Factory of :class:`StatisticAssembler`."""
    return StatisticAssembler(name, span_key)
